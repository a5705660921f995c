"""X12 5010 files: a streaming tokenizer, the 837P writer, 835 remittances and 999/277CA acks."""
