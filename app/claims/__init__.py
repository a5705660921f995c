"""Claims: building, checking and reading the documents exchanged with insurers."""
