"""vectors obligations."""
