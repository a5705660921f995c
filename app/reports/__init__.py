"""Printed documents (PDF): shift close-out report and refund acknowledgement.

Pure functions over frozen dataclasses; no database, no Qt.
"""
