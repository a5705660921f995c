"""File imports: CSV files read through a saved column mapping, bank statements (CSV and OFX)."""
