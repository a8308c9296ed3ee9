"""Benchmark the forecast jobs end to end, as the real ``forecast`` command.

    python benchmarks/run.py [--quick] [--json FILE] [--shards N] [--scenarios LIST]
                             [--formats delta,parquet] [--spark local,connect]

Scenarios, all on coffee with the four models, semiannual cadence, 2,000 paths, the
embedded defaults (SQLite MLflow, local Spark, bundled data) in a fresh temporary
FORECAST_HOME, once per table format of ``--formats`` and per way of running Spark of
``--spark``: ``local`` (each job starts its own JVM) or ``connect`` (the jobs are clients
of one Spark Connect server, ``forecast connect-server``, started before the first
scenario and warm after it; its CPU and peak memory are reported per scenario beside the
client's):

1. ``backfill``: forecast backfill 2018-01-01..2024-12-31 in one process; then the table's
   file count and size.
2. ``daily``: forecast daily in the backfill's home (its table and registry are the
   realistic state): first for a date whose cadence slot has no models yet (all four
   retrain), then for the next date (no retraining), then that date again (nothing to
   do: on Delta no Spark starts).
3. ``shards``: the same backfill as N processes side by side in one new home, shard i
   told by JOB_COMPLETION_INDEX=i and FORECAST_SHARD_COUNT=N, as a Kubernetes Indexed
   Job runs it.

Then the floor (``floor.py``): numpy drawing the same paths and pyarrow writing the same
rows to local Parquet and, after a Delta backfill, Spark's own floor: one plain Delta
append of those rows (a fresh session of the jobs' settings). Both are measured in the
same run (through the server for ``connect``); each backfill's ratio to them is printed.

``--quick`` runs small ranges (about 2 minutes in all). Figures per scenario: wall time,
CPU time of the process tree (Python job and Spark JVM), peak resident memory of the
tree, forecasts/s, table rows/s, and seconds per phase from the job's ``Timings:`` line.
The benchmark is not a test: it prints, it does not judge.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks.measure`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.connect_server import ConnectServer, measured_server, running_server
from benchmarks.floor import Floor, measure_floor
from benchmarks.measure import PHASES, RunFigures, run_side_by_side
from forecast_core.errors import first_line

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SCENARIOS: tuple[str, ...] = ("backfill", "daily", "shards")
FORMATS: tuple[str, ...] = ("delta", "parquet")
SPARK_MODES: tuple[str, ...] = ("local", "connect")
# Variables that would point a run away from the embedded defaults or select a shard.
_CLEARED_ENV = (
    "MLFLOW_TRACKING_URI",
    "FORECAST_HOME",
    "FORECAST_TABLE",
    "FORECAST_TABLE_FORMAT",
    "FORECAST_DATA",
    "FORECAST_SPARK_MASTER",
    "FORECAST_SPARK_REMOTE",
    "FORECAST_SPARK_JARS",
    "JOB_COMPLETION_INDEX",
    "FORECAST_SHARD_COUNT",
)
_GIB = 1024**3


@dataclass(frozen=True)
class Plan:
    """The dates a benchmark run uses."""

    backfill_start: dt.date
    backfill_end: dt.date
    daily_retrain: dt.date  # the first date of a cadence slot the backfill did not train
    daily_reuse: dt.date  # a later date of that slot: its models exist by then
    shards_start: dt.date
    shards_end: dt.date


FULL = Plan(
    dt.date(2018, 1, 1),
    dt.date(2024, 12, 31),
    dt.date(2025, 1, 2),
    dt.date(2025, 1, 3),
    dt.date(2018, 1, 1),
    dt.date(2024, 12, 31),
)
# Two months of one window; shards over two windows (2023-07-01 and 2024-01-01).
QUICK = Plan(
    dt.date(2024, 1, 1),
    dt.date(2024, 2, 29),
    dt.date(2024, 7, 2),
    dt.date(2024, 7, 3),
    dt.date(2023, 12, 1),
    dt.date(2024, 1, 31),
)


def forecast_command() -> list[str]:
    """The installed ``forecast`` console script (or the same entry point through python)."""
    script = shutil.which("forecast")
    return [script] if script else [sys.executable, "-c", "from jobs.cli import main; main()"]


def job_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without forecast settings, with ``home`` as FORECAST_HOME."""
    env = {key: value for key, value in os.environ.items() if key not in _CLEARED_ENV}
    return {**env, "FORECAST_HOME": str(home), **(extra or {})}


def common_options(n_paths: int) -> list[str]:
    """The options every scenario passes (the defaults, spelled out for the record)."""
    return [
        "--commodity",
        "coffee",
        "--models",
        "naive,random_walk,sarimax,xgboost",
        "--train-frequency",
        "semiannually",
        "--n-paths",
        str(n_paths),
    ]


def create_store(home: Path) -> None:
    """Create the SQLite MLflow store once: shards creating it together crash in migration."""
    home.mkdir(parents=True, exist_ok=True)
    code = (
        "import sys; from pathlib import Path; from forecast_core.config import StoreConfig; "
        "from forecast_core.registry.store import ModelRegistry; "
        "store = StoreConfig.embedded(Path(sys.argv[1])); "
        "ModelRegistry(store.tracking_uri, store.artifact_root)"
        ".list_versions('coffee', 'naive', 'v1.0')"
    )
    created = subprocess.run(
        [sys.executable, "-c", code, str(home)], env=job_env(home), capture_output=True, text=True
    )
    if created.returncode:
        raise RuntimeError(f"cannot create the MLflow store in {home}:\n{created.stderr}")


def table_files(home: Path) -> tuple[int, int]:
    """Data files and their bytes in the distributions table under ``home`` (current
    snapshot for Delta, every data file for Parquet)."""
    root = home / "tables" / "distributions"
    if (root / "_delta_log").is_dir():
        from deltalake import DeltaTable

        actions = DeltaTable(str(root)).get_add_actions(flatten=True)
        return actions.num_rows, int(sum(actions.column("size_bytes").to_pylist()))
    files = [f for f in root.rglob("*.parquet") if not f.name.startswith(".")]
    return len(files), sum(f.stat().st_size for f in files)


def run_scenarios(
    plan: Plan,
    scenarios: Sequence[str],
    shards: int,
    n_paths: int,
    workdir: Path,
    forecast: Sequence[str],
    table_format: str,
    server: ConnectServer | None = None,
) -> tuple[list[RunFigures], tuple[int, int] | None]:
    """Run the chosen scenarios in order in ``table_format``, through ``server`` if given;
    print each one's line as it finishes. Also returns the backfill table's (files, bytes)."""
    options = common_options(n_paths)
    logs = workdir / "logs"
    results: list[RunFigures] = []
    files: tuple[int, int] | None = None
    fmt = {"FORECAST_TABLE_FORMAT": table_format}
    if server is not None:
        fmt["FORECAST_SPARK_REMOTE"] = server.url

    def measured(
        label: str, commands: list[list[str]], envs: list[dict[str, str]], cwd: Path
    ) -> None:
        label = f"{label} [{table_format}{', connect' if server else ''}]"
        print(f"running {label} ...", flush=True)
        if server is None:
            results.append(run_side_by_side(label, commands, envs, cwd, logs))
        else:
            with measured_server(server) as usage:
                results.append(run_side_by_side(label, commands, envs, cwd, logs))
            results[-1].server_cpu_s = usage[0].cpu_s
            results[-1].server_peak_rss_bytes = usage[0].peak_rss_bytes
        print(format_line(results[-1]), flush=True)
        for run in results[-1].per_command or [results[-1]]:
            if not run.ok:
                print(f"    {run.label} exited {run.exit_codes[0]}; the end of its output:")
                print("\n".join(f"    | {line}" for line in run.output_tail))

    home = workdir / "home"
    home.mkdir(parents=True)
    if "backfill" in scenarios:
        measured(
            "backfill",
            [
                [
                    *forecast,
                    "backfill",
                    "--start",
                    str(plan.backfill_start),
                    "--end",
                    str(plan.backfill_end),
                    *options,
                ]
            ],
            [job_env(home, fmt)],
            home,
        )
        files = table_files(home)
        print(f"  table: {files[0]} data files, {files[1] / 1e6:.0f} MB", flush=True)
    if "daily" in scenarios:
        for label, day in (
            ("daily, 4 retrain", plan.daily_retrain),
            ("daily, no retraining", plan.daily_reuse),
            ("daily, nothing to do", plan.daily_reuse),
        ):
            measured(
                label,
                [[*forecast, "daily", "--forecast-date", str(day), *options]],
                [job_env(home, fmt)],
                home,
            )
    if "shards" in scenarios:
        shard_home = workdir / "shards-home"
        create_store(shard_home)
        command = [
            *forecast,
            "backfill",
            "--start",
            str(plan.shards_start),
            "--end",
            str(plan.shards_end),
            *options,
        ]
        measured(
            f"backfill, {shards} shards",
            [command] * shards,
            [
                job_env(
                    shard_home,
                    {
                        **fmt,
                        "JOB_COMPLETION_INDEX": str(index),
                        "FORECAST_SHARD_COUNT": str(shards),
                    },
                )
                for index in range(shards)
            ],
            shard_home,
        )
    return results, files


def format_line(run: RunFigures) -> str:
    """One scenario in one line, for progress output."""
    status = "ok" if run.ok else f"FAILED (exit {run.exit_codes})"
    server = (
        ""
        if run.server_cpu_s is None
        else f"; server cpu {run.server_cpu_s:.1f}s, "
        f"peak {(run.server_peak_rss_bytes or 0) / _GIB:.2f} GiB"
    )
    return (
        f"  {run.label}: {status}, wall {run.wall_s:.1f}s, cpu {run.cpu_s:.1f}s, "
        f"peak {run.peak_rss_bytes / _GIB:.2f} GiB, {run.forecasts} forecasts, "
        f"{run.rows} rows{server}"
    )


def format_table(runs: Sequence[RunFigures]) -> str:
    """The figures as two aligned text tables: totals and rates, then seconds per phase."""
    totals = [
        (
            "scenario",
            "wall s",
            "cpu s",
            "peak GiB",
            "forecasts",
            "fc/s",
            "rows",
            "rows/s",
            "write rows/s",
            "exit",
        )
    ]
    phases = [("scenario", *PHASES, "other")]
    for run in _with_shards(runs):
        totals.append(
            (
                run.label,
                f"{run.wall_s:.1f}",
                f"{run.cpu_s:.1f}",
                f"{run.peak_rss_bytes / _GIB:.2f}",
                str(run.forecasts),
                f"{run.forecasts_per_s:.1f}",
                str(run.rows),
                f"{run.rows_per_s:.0f}",
                f"{run.write_rows_per_s:.0f}",
                ",".join(map(str, run.exit_codes)),
            )
        )
        phases.append(
            (run.label, *(f"{run.phases.get(p, 0.0):.1f}" for p in PHASES), f"{run.other_s:.1f}")
        )
    note = (
        "Several processes: cpu, forecasts, rows and phases are summed over them; peak is "
        "the highest sum at one instant; wall is until the last one ends."
    )
    sections = [_aligned(totals), "", "Seconds per phase:", _aligned(phases), "", note]
    servers = [
        (run.label, f"{run.server_cpu_s:.1f}", f"{run.server_peak_rss_bytes / _GIB:.2f}")
        for run in runs
        if run.server_cpu_s is not None and run.server_peak_rss_bytes is not None
    ]
    if servers:
        header = ("scenario", "server cpu s", "server peak GiB")
        sections += ["", "The Spark Connect server, beside each client above:"]
        sections.append(_aligned([header, *servers]))
    return "\n".join(sections)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    versions: dict[str, str | None] = {}
    for package in ("pyspark", "statsmodels", "xgboost-cpu", "mlflow", "numpy", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(memory_kib / 1024**2, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit 1 if a scenario's command failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small ranges (~2 minutes)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--shards", type=int, default=2, help="shard processes (default 2)")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help=f"comma-separated table formats to measure, of {', '.join(FORMATS)}",
    )
    parser.add_argument(
        "--spark",
        default="local",
        help=f"comma-separated ways to run the jobs' Spark, of {', '.join(SPARK_MODES)}",
    )
    parser.add_argument("--n-paths", type=int, default=2000, help="paths per forecast")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes and logs")
    parser.add_argument(
        "--forecast-command",
        type=shlex.split,
        default=None,
        help="how to run forecast, e.g. to measure another checkout "
        "(default: the installed console script)",
    )
    args = parser.parse_args(argv)
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    formats = [name.strip() for name in args.formats.split(",") if name.strip()]
    modes = [name.strip() for name in args.spark.split(",") if name.strip()]
    unknown = (
        sorted(set(scenarios) - set(SCENARIOS))
        + sorted(set(formats) - set(FORMATS))
        + sorted(set(modes) - set(SPARK_MODES))
    )
    if unknown or args.shards < 1 or not formats or not modes:
        parser.error(
            f"unknown scenario(s), format(s) or Spark mode(s) {unknown} (expected "
            f"{', '.join(SCENARIOS)}; {', '.join(FORMATS)}; {', '.join(SPARK_MODES)}) "
            f"or --shards {args.shards} < 1"
        )
    plan = QUICK if args.quick else FULL
    started = dt.datetime.now(dt.UTC)
    workdir = Path(tempfile.mkdtemp(prefix="forecast-bench-"))
    runs: list[RunFigures] = []
    tables: dict[str, tuple[int, int]] = {}
    floors: dict[str, tuple[Floor, list[RunFigures]]] = {}  # per Spark mode, its backfills
    failed_floors: list[str] = []
    forecast = args.forecast_command or forecast_command()
    try:
        for mode in modes:
            with contextlib.ExitStack() as stack:
                server = (
                    stack.enter_context(
                        running_server(forecast, job_env(workdir), workdir / "connect-server.log")
                    )
                    if mode == "connect"
                    else None
                )
                mode_runs: list[RunFigures] = []
                for table_format in formats:
                    format_runs, files = run_scenarios(
                        plan,
                        scenarios,
                        args.shards,
                        args.n_paths,
                        workdir / mode / table_format,
                        forecast,
                        table_format,
                        server,
                    )
                    mode_runs += format_runs
                    if files is not None:
                        tables[f"{table_format}, {mode}"] = files
                runs += mode_runs
                # The floor of what the backfills did: a failed one did not do it all.
                backfills = [r for r in mode_runs if r.label.startswith("backfill [") and r.ok]
                if backfills:
                    try:
                        floor = measure_floor(
                            backfills[0].forecasts,
                            args.n_paths,
                            _floor_session(server) if "delta" in formats else None,
                        )
                    except Exception as error:  # keep the figures measured before it
                        print(f"[{mode}] the floor failed: {first_line(error)}")
                        failed_floors.append(mode)
                    else:
                        floors[mode] = (floor, backfills)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    about = machine()
    print()
    print(
        f"forecast benchmark{' --quick' if args.quick else ''}, {started:%Y-%m-%d %H:%M} UTC, "
        f"{about['cpus']} CPUs ({about['cpu_model']}), {about['memory_gib']} GiB, "
        f"Python {about['python']}"
    )
    print(format_table(runs))
    for table_format, (count, size) in tables.items():
        print(f"Backfill table [{table_format}]: {count} data files, {size / 1e6:.0f} MB")
    for mode, (floor, backfills) in floors.items():
        print(f"[{mode}] {format_floor(floor, backfills)}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "started": started.isoformat(),
                    "quick": args.quick,
                    "plan": _plan_dict(plan),
                    "n_paths": args.n_paths,
                    "machine": about,
                    "scenarios": [run.to_dict() for run in runs],
                    "tables": {f: {"files": c, "bytes": b} for f, (c, b) in tables.items()},
                    "floors": {mode: vars(floor) for mode, (floor, _) in floors.items()},
                },
                indent=2,
            )
        )
        print(f"wrote {args.json}")
    return 0 if all(run.ok for run in runs) and not failed_floors else 1


def _floor_session(server: ConnectServer | None) -> Callable[[], SparkSession]:
    """How Spark's floor gets its session: through ``server``, else a fresh local one."""
    if server is None:
        return delta_session
    return lambda: _connect_session_alone(server.url)


def _connect_session_alone(remote: str) -> SparkSession:
    """A Spark Connect session to ``remote``, once the local floor's session (of a mode
    measured before) is stopped: pyspark refuses the two in one process."""
    from pyspark.sql import SparkSession

    from forecast_core.spark import connect_session

    local = SparkSession.getActiveSession()
    if local is not None:
        local.stop()
    return connect_session(remote)


# The heap of the local floor's JVM: one append of a full backfill's 20.5 M rows ran out
# of spark-submit's 1g; a Spark Connect server has this by default too.
FLOOR_DRIVER_MEMORY = "4g"


def delta_session() -> SparkSession:
    """A Spark session of the jobs' own settings for Delta (the embedded master and jars),
    with a heap of ``FLOOR_DRIVER_MEMORY``."""
    from forecast_core.jars import default_jars_dir, jar_paths
    from forecast_core.spark import build_spark_session

    saved = os.environ.get("SPARK_DRIVER_MEMORY")
    os.environ["SPARK_DRIVER_MEMORY"] = FLOOR_DRIVER_MEMORY  # read when the JVM starts
    try:
        return build_spark_session(
            jars=jar_paths(default_jars_dir(), "delta"), table_format="delta"
        )
    finally:  # the jobs measured later start their JVMs with their own default
        if saved is None:
            del os.environ["SPARK_DRIVER_MEMORY"]
        else:
            os.environ["SPARK_DRIVER_MEMORY"] = saved


def format_floor(floor: Floor, backfills: Sequence[RunFigures]) -> str:
    """The floor of the backfill's work and each backfill's ratio to it."""
    lines = [
        f"Floor for {floor.forecasts} forecasts x {floor.n_paths} paths: numpy sampling "
        f"{floor.sampling_s:.1f}s + pyarrow writing {floor.writing_s:.1f}s = "
        f"{floor.total_s:.1f}s"
    ]
    if floor.spark_append_s is not None:
        lines.append(
            f"Spark's floor: one plain Delta append of those rows {floor.spark_append_s:.1f}s"
        )
    for run in backfills:
        write = run.phases.get("table_write", 0.0)
        against_spark = (
            "" if floor.spark_append_s is None else f", {write / floor.spark_append_s:.2f}x Spark's"
        )
        lines.append(
            f"  {run.label}: {run.wall_s / floor.total_s:.1f}x the floor "
            f"(table write {write:.1f}s = {write / floor.writing_s:.1f}x pyarrow's{against_spark})"
        )
    return "\n".join(lines)


def _with_shards(runs: Sequence[RunFigures]) -> list[RunFigures]:
    """Each scenario, followed by its processes when it ran several."""
    return [row for run in runs for row in (run, *run.per_command)]


def _aligned(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def _plan_dict(plan: Plan) -> dict[str, str]:
    return {name: str(value) for name, value in vars(plan).items()}


if __name__ == "__main__":
    sys.exit(main())
