"""A ``module:`` adapter whose import raises SystemExit(3) (test_hostile_runners.py)."""
raise SystemExit(3)
