"""The benchmark's parsing, measuring and aggregation on canned output and tiny commands."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from benchmarks import run
from benchmarks.floor import consecutive_forecasts, random_paths, spark_delta_append
from benchmarks.measure import RunFigures, parse_summary, parse_timings, run_side_by_side
from forecast_core.forecasts import forecasts_to_frame
from forecast_core.tables.schemas import DISTRIBUTIONS_PARTITIONING

TIMINGS = (
    "Timings: data_load 0.07s, spark_start 8.67s, table_read 1.90s, registry 3.89s, "
    "training 4.82s, sampling 7.01s, table_write 28.52s"
)
SUMMARY = (
    "Summary: trained 12, skipped 0, generated 364, already present 0, failed 0 "
    "(actuals 91, rows written 728091)"
)


def _printing(*lines: str, exit_code: int = 0, allocate_mb: int = 0) -> list[str]:
    """A command that prints ``lines``, holds ``allocate_mb`` MB for a moment, and exits."""
    code = (
        f"import sys, time; block = bytearray({allocate_mb} * 2**20); "
        f"block[::4096] = b'x' * len(block[::4096]); time.sleep(0.6); "
        f"print({chr(10).join(lines)!r}); sys.exit({exit_code})"
    )
    return [sys.executable, "-c", code]


def test_timings_line_is_parsed_into_seconds_per_phase():
    output = f"PHASE 1: Training check\nSummary: ...\n{TIMINGS}\n"
    assert parse_timings(output) == {
        "data_load": 0.07,
        "spark_start": 8.67,
        "table_read": 1.9,
        "registry": 3.89,
        "training": 4.82,
        "sampling": 7.01,
        "table_write": 28.52,
    }


def test_summary_line_is_parsed_into_counts():
    assert parse_summary(f"log line\n{SUMMARY}\n") == {
        "trained": 12,
        "skipped": 0,
        "generated": 364,
        "already_present": 0,
        "failed": 0,
        "actuals": 91,
        "rows_written": 728091,
    }


def test_output_without_the_lines_parses_to_nothing():
    assert parse_timings("Error: forecast date 2030-01-01 is after today") == {}
    assert parse_summary("") == {}


def test_rates_and_unaccounted_time_derive_from_the_figures():
    figures = RunFigures(
        "backfill",
        [["forecast"]],
        [0],
        wall_s=70.0,
        cpu_s=90.0,
        peak_rss_bytes=2**30,
        summary=parse_summary(SUMMARY),
        phases=parse_timings(TIMINGS),
    )
    assert figures.ok and figures.forecasts == 364 and figures.rows == 728091
    assert figures.forecasts_per_s == pytest.approx(5.2)
    assert figures.rows_per_s == pytest.approx(728091 / 70)
    assert figures.write_rows_per_s == pytest.approx(728091 / 28.52)
    assert figures.other_s == pytest.approx(70 - 54.88)
    assert json.loads(json.dumps(figures.to_dict()))["rows_per_s"] == pytest.approx(10401.3, 0.01)


def test_one_command_is_measured_from_outside(tmp_path):
    figures = run_side_by_side(
        "one",
        [_printing(SUMMARY, TIMINGS, allocate_mb=200)],
        [dict(os.environ)],
        tmp_path,
        tmp_path / "logs",
    )
    assert figures.ok and figures.per_command == []
    assert figures.wall_s >= 0.6
    assert figures.peak_rss_bytes >= 200 * 2**20
    assert figures.cpu_s > 0
    assert figures.rows == 728091 and figures.phases["table_write"] == 28.52
    assert (tmp_path / "logs" / "one-0.log").read_text().startswith("Summary:")


def test_side_by_side_commands_are_summed_and_a_failure_keeps_its_output(tmp_path):
    commands = [
        _printing(SUMMARY, TIMINGS, allocate_mb=100),
        _printing("Error: boom", exit_code=2, allocate_mb=100),
    ]
    figures = run_side_by_side(
        "shards", commands, [dict(os.environ)] * 2, tmp_path, tmp_path / "logs"
    )
    assert figures.exit_codes == [0, 2] and not figures.ok
    assert [run.label for run in figures.per_command] == ["shards [0]", "shards [1]"]
    assert figures.rows == 728091  # only the first printed a summary
    assert figures.wall_s == max(run.wall_s for run in figures.per_command)
    assert figures.cpu_s == pytest.approx(sum(run.cpu_s for run in figures.per_command))
    # Both held their 100 MB at once: the peak is of the sum, not of one process.
    assert figures.peak_rss_bytes >= 200 * 2**20
    assert figures.per_command[1].output_tail == ["Error: boom"]


def test_table_lists_every_scenario_and_phase():
    figures = RunFigures(
        "daily, no retraining",
        [["forecast"]],
        [0],
        wall_s=20.0,
        cpu_s=25.0,
        peak_rss_bytes=2**30,
        summary=parse_summary(SUMMARY),
        phases=parse_timings(TIMINGS),
    )
    table = run.format_table([figures])
    assert "daily, no retraining" in table and "table_write" in table and "28.5" in table
    assert "Spark Connect server" not in table


def test_through_a_connect_server_its_cpu_and_memory_stand_beside_the_clients():
    figures = RunFigures(
        "daily, no retraining [delta, connect]", [["forecast"]], [0], 9.0, 3.0, 2**29
    )
    figures.server_cpu_s, figures.server_peak_rss_bytes = 12.5, 3 * 2**30
    assert "server cpu 12.5s, peak 3.00 GiB" in run.format_line(figures)
    server_rows = run.format_table([figures]).split("Spark Connect server")[1]
    assert "12.5" in server_rows and "3.00" in server_rows


def test_an_unknown_spark_mode_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.main(["--spark", "yarn"])
    assert exit_info.value.code == 2
    assert "'yarn'" in capsys.readouterr().err


def test_the_floor_measures_sampling_and_writing_the_same_rows():
    floor = run.measure_floor(forecasts=3, n_paths=50)
    assert floor.forecasts == 3 and floor.sampling_s > 0 and floor.writing_s > 0
    text = run.format_floor(
        floor,
        [RunFigures("backfill [delta]", [["forecast"]], [0], 2 * floor.total_s, 1.0, 1, {}, {})],
    )
    assert "2.0x the floor" in text


def test_sparks_floor_appends_the_same_rows_partitioned_as_the_table(spark, tmp_path):
    floor = run.measure_floor(forecasts=3, n_paths=50, spark_session=lambda: spark)
    assert floor.spark_append_s is not None and floor.spark_append_s > 0
    backfill = RunFigures("backfill [delta]", [["forecast"]], [0], 1.0, 1.0, 1, {}, {})
    backfill.phases["table_write"] = 3 * floor.spark_append_s
    assert "3.00x Spark's" in run.format_floor(floor, [backfill])
    # The append writes every row of the floor's file, one partition per forecast.
    rows = tmp_path / "rows.parquet"
    forecasts = consecutive_forecasts("naive", 0, random_paths(np.random.default_rng(0), 3, 50))
    frame = forecasts_to_frame(forecasts, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), rows)
    spark_delta_append(spark, rows, str(tmp_path / "delta"))
    table = DeltaTable(str(tmp_path / "delta"))
    assert table.metadata().partition_columns == list(DISTRIBUTIONS_PARTITIONING)
    assert table.to_pyarrow_table().num_rows == 3 * 50


def test_jobs_get_the_embedded_defaults_whatever_the_caller_set(tmp_path, monkeypatch):
    monkeypatch.setenv("FORECAST_TABLE", "somewhere.else")
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "3")
    env = run.job_env(tmp_path, {"FORECAST_SHARD_COUNT": "2"})
    assert env["FORECAST_HOME"] == str(tmp_path) and env["FORECAST_SHARD_COUNT"] == "2"
    assert "FORECAST_TABLE" not in env and "JOB_COMPLETION_INDEX" not in env


@pytest.mark.slow
def test_quick_daily_benchmark_runs_the_real_command(tmp_path, capsys):
    """About 40 s: three daily runs (all models retrain, then none, then nothing to do)."""
    arguments = ["--quick", "--scenarios", "daily", "--formats", "delta"]
    assert run.main([*arguments, "--json", str(tmp_path / "b.json")]) == 0
    figures = json.loads((tmp_path / "b.json").read_text())
    assert [s["label"] for s in figures["scenarios"]] == [
        "daily, 4 retrain [delta]",
        "daily, no retraining [delta]",
        "daily, nothing to do [delta]",
    ]
    retrain, reuse, idle = figures["scenarios"]
    assert retrain["summary"]["trained"] == 4 and reuse["summary"]["trained"] == 0
    assert reuse["forecasts"] == 4 and reuse["rows"] == 4 * 2000 + 1
    assert reuse["phases"]["spark_start"] > 0 and reuse["peak_rss_bytes"] > 2**28
    # Nothing to write: the keys come from the Delta log, and no JVM starts.
    assert idle["summary"]["already_present"] == 4 and "spark_start" not in idle["phases"]
    assert "Seconds per phase" in capsys.readouterr().out


@pytest.mark.slow
def test_the_s3_commit_benchmark_measures_both_logstores():
    """About a minute: a Spark session and a moto server of its own; the script itself
    checks that each table was committed by the LogStore it is reported under."""
    import subprocess
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "benchmarks/s3_commits.py", "--commits", "2", "--entries", "3"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = [line.split() for line in result.stdout.splitlines() if "LogStore " in line]
    stores = [line[0] for line in figures if line[0] != "LogStore"]
    assert stores == [
        "commodityforecast.delta.S3ConditionalLogStore",
        "io.delta.storage.S3SingleDriverLogStore",
    ]
