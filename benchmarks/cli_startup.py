"""How fast the ``forecast`` command answers before any work: --help, --version, plan.

    python benchmarks/cli_startup.py [--runs N] [--json FILE]

Each command runs ``--runs`` times (after one warm-up run) in a fresh interpreter, as
``python -m jobs`` from this checkout, and the wall times are summarised against the
goals: ``--help`` < 1 s, ``--version`` < 0.5 s, ``plan`` of 2018..2024 < 1.5 s. Like
``run.py``, it prints and does not judge; ``tests/jobs/test_cli_imports.py`` is the test
that keeps the heavy libraries out of the CLI's imports.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (name, arguments, goal in seconds)
COMMANDS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("help", ("--help",), 1.0),
    ("version", ("--version",), 0.5),
    ("plan", ("plan", "--start", "2018-01-01", "--end", "2024-12-31"), 1.5),
)


@dataclass(frozen=True)
class StartupFigures:
    """Wall times of one command over several runs, in seconds."""

    name: str
    command: str
    goal: float
    runs: list[float]

    @property
    def median(self) -> float:
        """The median wall time."""
        return statistics.median(self.runs)

    def describe(self) -> str:
        """One line: median, min and max against the goal."""
        verdict = "meets" if self.median < self.goal else "misses"
        return (
            f"{self.name:<8} median {self.median:.3f} s (min {min(self.runs):.3f}, "
            f"max {max(self.runs):.3f}; {len(self.runs)} runs) {verdict} the goal "
            f"< {self.goal} s: forecast {self.command}"
        )


def time_command(arguments: Sequence[str], runs: int) -> list[float]:
    """Wall seconds of ``python -m jobs ARGUMENTS`` in fresh interpreters, after a warm-up."""
    command = [sys.executable, "-m", "jobs", *arguments]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(command, env=environment, check=True, capture_output=True)
        if attempt:  # the first run warms the file cache
            times.append(time.perf_counter() - started)
    return times


def measure(runs: int) -> list[StartupFigures]:
    """Every command of ``COMMANDS``, ``runs`` times each."""
    return [
        StartupFigures(name, " ".join(arguments), goal, time_command(arguments, runs))
        for name, arguments, goal in COMMANDS
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print; with ``--json``, also write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per command (default 10)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    arguments = parser.parse_args(argv)
    figures = measure(arguments.runs)
    for entry in figures:
        print(entry.describe())
    if arguments.json:
        arguments.json.write_text(json.dumps([asdict(f) for f in figures], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
