"""Command-line arguments shared by the end-to-end tests."""

from __future__ import annotations

# The first quarter of 2024 with a monthly cadence: three windows, small and quick.
Q1_2024_MONTHLY: tuple[str, ...] = (
    "--start",
    "2024-01-01",
    "--end",
    "2024-03-31",
    "--train-frequency",
    "monthly",
)
