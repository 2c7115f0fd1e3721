"""z3 obligations."""
