"""The README's quick start on the bundled sample, and a new user's next steps with it.

One home for the module, made by the quick start's own commands read from README.md (a
daily run, an 8-week backfill, the replayed monitor): real Spark, Delta and SQLite MLflow.
Then each rough edge of issue 23 answers in its exact line and exit code, and the
readers of the table (pandas, polars, DuckDB) in docs/table.md run as printed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from click.testing import Result
from deltalake import DeltaTable
from mlflow import MlflowClient

from forecast_core.config import StoreConfig
from tests.conftest import invoke_in

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TABLE_DOC = (ROOT / "docs" / "table.md").read_text(encoding="utf-8")
HEALTHY = "Healthy: coffee (as of 2025-11-14, last 56 days)"
REALIZED_SPAN = ("--from", "2025-09-19", "--to", "2025-10-31")

Run = Callable[..., Result]


def _section(start: str, end: str, text: str = README) -> str:
    """The text (the README's by default) from ``start`` to the next ``end``."""
    first = text.index(start)
    return text[first : text.index(end, first + len(start))]


def _quick_start_commands() -> list[list[str]]:
    """The ``forecast`` commands of the quick start's shell blocks, in order."""
    section = _section("## Quick start", "\n## ")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for line in block.splitlines():
            for part in line.split("&&"):
                command = part.split("#")[0].strip()
                if command.startswith("forecast "):
                    commands.append(shlex.split(command)[1:])
    return commands


def _reader_snippets() -> list[str]:
    """The Python blocks of docs/table.md's "Reading it" paragraph."""
    section = _section("**Reading it**", "**Parquet", TABLE_DOC)
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the quick start runs: its home is ``.forecast`` there, as in the README."""
    return tmp_path_factory.mktemp("quick-start")


@pytest.fixture(scope="module")
def run(folder: Path, spark) -> Run:
    """``forecast ARGS`` in-process with the quick start's home (the conftest ``invoke``)."""
    return invoke_in(folder / ".forecast")


@pytest.fixture(scope="module")
def quick_start(run: Run) -> list[Result]:
    """The quick start's commands, run once for the module."""
    commands = _quick_start_commands()
    assert [command[0] for command in commands] == ["daily", "backfill", "monitor"]
    return [run(*command) for command in commands]


@pytest.fixture(scope="module")
def stores(folder: Path, quick_start: list[Result]) -> StoreConfig:
    return StoreConfig.embedded(folder / ".forecast")


def test_the_quick_start_replays_a_healthy_monitor(quick_start: list[Result]) -> None:
    daily, backfill, monitor = quick_start
    assert daily.exit_code == 0, daily.output
    assert backfill.exit_code == 0, backfill.output
    assert monitor.exit_code == 0, monitor.output
    assert monitor.output.splitlines()[-1] == HEALTHY
    assert f"`{HEALTHY}`" in README


def test_a_day_long_after_the_sample_names_each_breach_once(run: Run, stores) -> None:
    result = run("monitor", "--as-of", "2026-12-03")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "BREACH coffee price_age 384 (newest price 2025-11-14; expected at most 5 days old)" in (
        lines
    )
    assert "BREACH coffee xgboost missing_forecast - (expected a forecast for 2026-12-03)" in lines


def test_names_are_read_in_any_case_by_inspect(run: Run, stores) -> None:
    day = ("--from", "2025-11-14", "--to", "2025-11-14")
    typed = run("inspect", "--commodity", "Coffee", *day)
    assert typed.exit_code == 0, typed.output
    assert typed.output == run("inspect", "--commodity", "coffee", *day).output
    assert f"Table {stores.table_location}: 4 forecasts" in typed.output.splitlines()


def test_inspect_as_of_a_version_the_table_never_had_names_the_newest(run: Run, stores) -> None:
    newest = DeltaTable(stores.table_location).version()
    result = run("inspect", "--as-of", "99")
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"Error: --as-of 99: the table's newest version is {newest}; expected a version from "
        f"0 to {newest} or a time (`forecast table history` lists them)"
    ]


def test_inspect_shows_the_table_when_the_tracking_server_is_down(run: Run, stores) -> None:
    server = f"http://127.0.0.1:{_free_loopback_port()}"
    day = ("--from", "2025-11-14", "--to", "2025-11-14")
    result = run("inspect", *day, env={"MLFLOW_TRACKING_URI": server})
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Table {stores.table_location}: 4 forecasts"
    assert len([line for line in lines if " paths  2000 " in line]) == 4
    assert lines[-1].startswith(
        f"Registered model versions: unavailable (MLflow tracking server {server} is unreachable ("
    )
    as_json = run("inspect", *day, "--json", env={"MLFLOW_TRACKING_URI": server})
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["models"] is None and "is unreachable" in report["registry_error"]
    assert len(report["forecasts"]) == 4


def _evaluation_runs(stores: StoreConfig) -> int:
    client = MlflowClient(stores.tracking_uri)
    experiment = client.get_experiment_by_name("commodity-forecast/coffee/evaluation")
    if experiment is None:
        return 0
    runs = client.search_runs([experiment.experiment_id], "tags.kind != 'monitor'")
    return len(runs)


def _metrics_version(stores: StoreConfig) -> int | None:
    location = Path(stores.table_location).parent / "forecast_metrics"
    return DeltaTable(str(location)).version() if (location / "_delta_log").is_dir() else None


def test_evaluate_with_nothing_realized_writes_nothing(run: Run, stores, tmp_path) -> None:
    before = (_evaluation_runs(stores), _metrics_version(stores))
    output = tmp_path / "evaluation"
    result = run("evaluate", "--from", "2025-11-10", "--to", "2025-11-14", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        "coffee: nothing to record: no forecast of 2025-11-10..2025-11-14 has its 14-day "
        "horizon realized by the prices to 2025-11-14; no metric rows, MLflow run or files "
        "written"
    )
    assert "  naive: scored 0, left out 5 (not_realized 5)" in result.output.splitlines()
    assert (_evaluation_runs(stores), _metrics_version(stores)) == before
    assert not output.exists()


def test_evaluate_names_its_run_in_each_metrics_commit(run: Run, stores, tmp_path) -> None:
    result = run("evaluate", *REALIZED_SPAN, "--output", str(tmp_path / "evaluation"))
    assert result.exit_code == 0, result.output
    (run_line,) = [line for line in result.output.splitlines() if "MLflow evaluation run" in line]
    run_id = run_line.rsplit(" ", 1)[1]
    metrics = Path(stores.table_location).parent / "forecast_metrics"
    (commit,) = DeltaTable(str(metrics)).history(1)
    assert json.loads(commit["userMetadata"]) == {
        "command": "evaluate",
        "commodity": "coffee",
        "models": "naive,random_walk,sarimax,xgboost",
        "model_version": "v1.0",
        "evaluated": "2025-09-19..2025-10-31",
        "host": socket.gethostname(),
        "evaluation_run_id": run_id,
    }


def test_report_of_six_weeks_titles_its_tables_and_draws_skill_by_week(
    run: Run, stores, tmp_path
) -> None:
    page = tmp_path / "report.html"
    result = run("report", *REALIZED_SPAN, "--output", str(page))
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "<h3>80% interval coverage by horizon day (nominal 0.80)</h3>" in html
    assert "<h3>95% interval coverage by horizon day (nominal 0.95)</h3>" in html
    heads = re.findall(r"<thead>(.*?)</thead>", html, flags=re.DOTALL)
    assert heads and all(head.count("<tr") == 1 for head in heads)
    skill = html[html.index("<h2>Skill over time</h2>") : html.index("<h2>CRPS by horizon")]
    assert "by week of forecast date" in skill
    mondays = re.findall(r"<td>(\d{4}-\d{2}-\d{2})</td>", skill)
    # Forecasts of 2025-09-19 (a Friday) to 2025-10-31: seven weeks, Monday to Monday.
    assert mondays == [str(dt.date(2025, 9, 15) + dt.timedelta(weeks=k)) for k in range(7)]


def test_the_leakage_rule_holds_as_the_docs_state_it(run: Run, stores) -> None:
    result = run("inspect", "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)["forecasts"]
    actuals = [e for e in entries if e["is_actuals"]]
    forecasts = [e for e in entries if not e["is_actuals"]]
    assert len(actuals) == 44 and len(forecasts) == 4 * (56 + 1)
    for entry in entries:
        start, cutoff = entry["forecast_start_date"], entry["data_cutoff_date"]
        trained = entry["training_date"]
        breaks_rule = not entry["is_actuals"] and (
            cutoff >= start or (trained is not None and trained > start)
        )
        assert entry["has_data_leakage"] == breaks_rule, entry
        assert not breaks_rule, entry
    # Actuals rows hold realized prices: their cutoff is later than their start by design.
    assert all(e["data_cutoff_date"] > e["forecast_start_date"] for e in actuals)
    # docs/table.md's check, verbatim, selects nothing, as has_data_leakage does.
    stated = re.search(r"the check of the rule on the\s+table is `([^`]+)`", TABLE_DOC)
    assert stated is not None
    predicate = " ".join(stated[1].split())
    distributions = DeltaTable(stores.table_location).to_pyarrow_dataset()  # noqa: F841 (duckdb)
    counted = duckdb.sql(
        f"SELECT count(*) FILTER (WHERE {predicate}), count(*) FILTER (WHERE has_data_leakage),"
        f" count(*) FILTER (WHERE is_actuals) FROM distributions"
    ).fetchall()
    assert counted == [(0, 0, 44)]


@pytest.mark.parametrize("engine", ["pandas", "polars", "duckdb"])
def test_the_docs_read_the_table_with_typed_dates(folder: Path, stores, engine: str) -> None:
    snippets = dict(zip(["pandas", "polars", "duckdb"], _reader_snippets(), strict=True))
    finished = subprocess.run(
        [sys.executable, "-c", snippets[engine]],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    printed = finished.stdout
    for model in ("naive", "random_walk", "sarimax", "xgboost"):
        assert model in printed
    typed = {"pandas": "date32[day][pyarrow]", "polars": "Date", "duckdb": "date"}[engine]
    assert typed in printed.split()
    if engine == "duckdb":
        assert printed.count("2025-11-14") == 4
