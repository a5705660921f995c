"""Clinic Billing Desk: the domain core. Never imports Qt or ``ui``."""

__version__ = "0.1.0"
