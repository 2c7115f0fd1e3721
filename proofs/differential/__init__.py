"""differential obligations."""
