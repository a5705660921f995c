"""Shift close-out at the counter: card takings from Stripe and Square, cash, deposits, disputes, the PDF."""
