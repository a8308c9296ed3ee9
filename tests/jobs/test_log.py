"""The job log is ours: a real ``forecast`` process prints its own lines and nothing else.

Before, every run's stderr had the JVM's 'WARNING: Using incubator modules:
jdk.incubator.vector', Spark's 'Setting default log level to "WARN"' and MLflow's INFO
lines and CloudPickle warning on each registration, and `table optimize` printed Delta's
'Deleted 0 files and directories ...' before its own line. Run as processes, since the
JVM and MLflow's loggers write to the process's own streams.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.job_env import forecast_env

pytestmark = pytest.mark.slow


def _forecast(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs", *args],
        env=forecast_env(home),
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_daily_and_optimize_print_only_their_own_lines(tmp_path: Path) -> None:
    home = tmp_path / "home"
    daily = _forecast(
        ["daily", "--forecast-date", "2024-07-15", "--models", "naive", "--n-paths", "20"], home
    )
    assert daily.returncode == 0, daily.stdout + daily.stderr
    assert daily.stderr == ""  # registered a model and started Spark: no one else spoke
    assert "  Trained and registered Coffee_Naive_2024-07-01_v1.0 (models:/coffee_naive/1, " in (
        daily.stdout
    )
    assert (
        daily.stdout.splitlines()[-1] == "coffee champion: none yet (`forecast evaluate --promote`)"
    )

    optimize = _forecast(["table", "optimize"], home)
    assert optimize.returncode == 0, optimize.stdout + optimize.stderr
    assert optimize.stderr == ""
    table = home / "tables" / "distributions"
    (line,) = optimize.stdout.splitlines()  # Delta's own "Deleted 0 files ..." came first
    assert re.fullmatch(
        rf"Optimized {re.escape(str(table))}: \d+ files compacted into \d+; files "
        r"unreferenced for over 168 h vacuumed",
        line,
    ), line
