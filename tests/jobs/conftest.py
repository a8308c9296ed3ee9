"""Helpers for driving the ``forecast`` CLI in-process with click's CliRunner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from jobs.cli import cli

Invoke = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def invoke(home: Path) -> Invoke:
    """Run ``forecast ARGS`` against a private home (SQLite MLflow, Parquet table)."""

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        environment = {"FORECAST_HOME": str(home), "MLFLOW_TRACKING_URI": "",
                       "FORECAST_TABLE": "", "FORECAST_DATA": "", **(env or {})}
        # Empty strings stand for "unset" so the developer's own environment never leaks in.
        environment = {key: (value or None) for key, value in environment.items()}
        return CliRunner().invoke(cli, list(args), env=environment, catch_exceptions=False)

    return run
