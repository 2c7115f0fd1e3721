"""crosshair obligations."""
