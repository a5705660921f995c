"""External providers: one module per provider behind one small Protocol per capability."""
