"""Remittances: insurer money read from 835, insurer XML or CSV files, applied to claims, journals out."""
