"""Disputes: one lifecycle for card, patient billing and remittance-line disputes."""
