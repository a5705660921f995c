"""Refund cases: policy, proposals, detectors, execution through the outbox, messages and exports."""
