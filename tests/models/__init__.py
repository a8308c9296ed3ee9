"""Model tests: the shared contract and each model on the bundled data."""
