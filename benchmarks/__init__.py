"""Benchmark scripts (run with `python -m benchmarks.<name>`), and the scale data they measure
(`scale.py`, `manage.py seed_scale`): an installed app for that command, without models."""
