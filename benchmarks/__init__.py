"""End-to-end benchmarks of the forecast jobs: ``python benchmarks/run.py [--quick]``."""
