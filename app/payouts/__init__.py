"""Marketplace payouts: one normalised shape for every source, and reconciliation to the sales ledger."""
