"""FROZEN copy of app/remittance/{bulk,matcher,apply}.py at commit b6a7b55 (the per-line path).

The oracle of tests/remittance_flow/test_fast_path_equivalence.py: the fast path must write
exactly what this code writes. Do not edit.
"""
