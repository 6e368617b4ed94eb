"""A run's numbers on its test split (evaluator) and the comparison of many runs (report)."""
