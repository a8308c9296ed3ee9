"""What a ``forecast`` process started by a test runs with: the repository as its folder,
and an environment with none of the developer's own settings."""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def forecast_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a job process: a private home, loopback Spark, nothing inherited."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FORECAST_", "MLFLOW_", "JOB_COMPLETION"))
    }
    return {**environment, "FORECAST_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", **extra}
