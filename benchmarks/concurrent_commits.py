"""Which Delta layout and write keeps concurrent writers of different keys apart.

    python benchmarks/concurrent_commits.py [--writers 3] [--commits 15] [--per-commit 4]
        [--n-paths 50] [--race-keys 8] [--bulk-days 365] [--bulk-paths 2000]
        [--candidates replace-model,append-missing,replace-month,replace-key]

Delta 4.4 checks a transaction's reads against a concurrent commit's added files by
*partition* only (``ConflictChecker.getFirstFileMatchingPartitionPredicates``: the
conjuncts of a predicate that name data columns are dropped), and under its default
``WriteSerializable`` isolation it skips the files of blind appends. The candidates:

- ``replace-model``: partitions (commodity, model_name), every write a ``replaceWhere`` of
  its keys (the layout before this benchmark);
- ``append-missing``: the same partitions; keys the writer finds missing are appended
  blind (no read set), keys already present replaced;
- ``replace-month``: partitions (commodity, model_name, forecast month), a derived month
  column, and the month as a conjunct of the ``replaceWhere``;
- ``replace-key``: partitions = the key (commodity, model_name, model_version,
  forecast_start_date), every write a ``replaceWhere`` of its keys.

Per candidate, on a fresh local table: the table is filled with ``--bulk-days`` days of
two models (``--bulk-paths`` paths, 50 forecasts a commit). Then ``--writers`` processes
(a Spark JVM each, like pods) commit at once, each ``--commits`` writes of
``--per-commit`` forecasts of two models, on dates interleaved with the others' (disjoint
keys, same partitions as far as the layout allows); every lost race is counted (the
table's retry log). Then two of them race for the same ``--race-keys`` keys, one key a
commit, each first skipping keys already present (as the jobs do). Then the table's
files, its log, and the cost of reading it, before and after ``OPTIMIZE``. It prints, it
does not judge.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StructField, StructType

from benchmarks.floor import random_paths
from forecast_core.errors import TableError
from forecast_core.forecasts import Forecast, forecasts_to_frame
from forecast_core.jars import default_jars_dir, jar_paths
from forecast_core.spark import build_spark_session
from forecast_core.tables import delta_log
from forecast_core.tables.delta_tables import LOST_RACE, DeltaPathTable
from forecast_core.tables.distributions import DISTRIBUTIONS
from forecast_core.tables.predicates import key_predicate
from forecast_core.tables.schemas import DISTRIBUTIONS_KEY
from forecast_core.tables.spark_table import SparkTable, TableSpec

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
MODELS = ("naive", "random_walk")
FIRST_DAY = dt.date(2020, 1, 1)
BULK_BATCH_DAYS = 25  # 50 forecasts of the two models a bulk commit


class AppendMissing(DeltaPathTable):
    """Keys the table lacks are appended blind; keys it holds are replaced."""

    def _commit(self, frame: DataFrame, rows: pd.DataFrame, metadata: dict[str, object]) -> None:
        key = list(self.spec.key)
        wanted = {c: sorted(set(rows[c])) for c in key}
        present = self.distinct_rows(key, wanted)
        is_present = pd.Series(
            [tuple(k) in present for k in rows[key].itertuples(index=False)], index=rows.index
        )
        if is_present.any():
            held = key_predicate(rows[is_present], key)
            self._replace(frame.where(held), held, metadata)
            frame = frame.where(f"NOT ({held})")
        if is_present.all():
            return
        user_metadata = json.dumps(metadata, sort_keys=True, default=str)
        self._retrying(
            lambda: self._save(
                frame.write.format("delta").mode("append").option("userMetadata", user_metadata)
            )
        )


class ReplaceMonth(DeltaPathTable):
    """Partitioned by month too; the month is a conjunct of every replaceWhere."""

    def _commit(self, frame: DataFrame, rows: pd.DataFrame, metadata: dict[str, object]) -> None:
        months = ", ".join(f"DATE'{m.isoformat()}'" for m in sorted(set(rows["forecast_month"])))
        predicate = f"forecast_month IN ({months}) AND {key_predicate(rows, self.spec.key)}"
        self._replace(frame, predicate, metadata)


def _month_spec() -> TableSpec:
    schema = StructType([*DISTRIBUTIONS.schema.fields, StructField("forecast_month", DateType())])
    return dataclasses.replace(
        DISTRIBUTIONS,
        schema=schema,
        delta_partitioning=("commodity", "model_name", "forecast_month"),
        derived={
            **DISTRIBUTIONS.derived,
            "forecast_month": lambda: F.trunc(F.col("forecast_start_date"), "month"),
        },
    )


BY_MODEL = ("commodity", "model_name")
CANDIDATES: dict[str, tuple[type[DeltaPathTable], Callable[[], TableSpec]]] = {
    "replace-model": (
        DeltaPathTable,
        lambda: dataclasses.replace(DISTRIBUTIONS, delta_partitioning=BY_MODEL),
    ),
    "append-missing": (
        AppendMissing,
        lambda: dataclasses.replace(DISTRIBUTIONS, delta_partitioning=BY_MODEL),
    ),
    "replace-month": (ReplaceMonth, _month_spec),
    "replace-key": (
        DeltaPathTable,
        lambda: dataclasses.replace(
            DISTRIBUTIONS, delta_partitioning=DISTRIBUTIONS_KEY, cluster_by=()
        ),
    ),
}


def open_candidate(name: str, spark: SparkSession, location: str) -> SparkTable:
    kind, spec = CANDIDATES[name]
    return kind(spark, location, spec())


def frame_of(days: Sequence[int], n_paths: int, seed: int, spec: TableSpec) -> pd.DataFrame:
    """Forecasts of both models on day offsets ``days`` from ``FIRST_DAY``, as table rows."""
    paths = random_paths(np.random.default_rng(seed), len(days) * len(MODELS), n_paths)
    forecasts = [
        Forecast(
            "coffee",
            model,
            "v1.0",
            FIRST_DAY + dt.timedelta(days=day),
            FIRST_DAY + dt.timedelta(days=day - 1),
            FIRST_DAY,
            f"models:/coffee_{model}/1",
            paths[i * len(MODELS) + j],
        )
        for i, day in enumerate(days)
        for j, model in enumerate(MODELS)
    ]
    rows = forecasts_to_frame(forecasts, NOW)
    if "forecast_month" in spec.columns:
        rows["forecast_month"] = [d.replace(day=1) for d in rows["forecast_start_date"]]
    return rows


class _LostRaces(logging.Handler):
    """Counts the table's logged retries (a commit lost to another writer)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += LOST_RACE in record.getMessage()


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.05)


def writer(args: argparse.Namespace) -> int:
    """One writer process: warm up, then the disjoint phase, then (writers 0 and 1) the race."""
    spark = build_spark_session(jars=jar_paths(default_jars_dir(), "delta"), table_format="delta")
    table = open_candidate(args.candidate, spark, args.location)
    lost = _LostRaces()
    logging.getLogger("forecast_core.tables.delta_tables").addHandler(lost)
    signals = Path(args.signals)
    # A warm-up write of a key nobody else writes (JIT and class loading), then ready.
    table.write(frame_of([10_000 + args.index], args.n_paths, 0, table.spec))
    lost.count = 0
    (signals / f"ready-{args.index}").touch()
    _wait_for(signals / "go")
    started = time.time()
    commits, failed, seconds = 0, 0, []
    for j in range(args.commits):
        per_writer = args.per_commit // len(MODELS)
        days = [
            args.first_day + (j * per_writer + k) * args.writers + args.index
            for k in range(per_writer)
        ]
        rows = frame_of(days, args.n_paths, args.index * 1000 + j, table.spec)
        began = time.perf_counter()
        try:
            table.write(rows)
            commits += 1
        except TableError:
            failed += 1
        seconds.append(time.perf_counter() - began)
    ended = time.time()
    disjoint: dict[str, float] = {"lost_races": lost.count, "commits": commits, "failed": failed}
    disjoint |= {"started": started, "ended": ended, "median_commit_s": statistics.median(seconds)}
    (signals / f"done-{args.index}").touch()
    race = {"lost_races": 0, "written": 0, "skipped": 0}
    if args.index < 2:
        _wait_for(signals / "race")
        lost.count = 0
        for day in range(args.race_first_day, args.race_first_day + args.race_keys):
            held = table.distinct_rows(
                ("model_name", "forecast_start_date"),
                {
                    "commodity": ["coffee"],
                    "model_name": list(MODELS),
                    "model_version": ["v1.0"],
                    "forecast_start_date": [FIRST_DAY + dt.timedelta(days=day)],
                },
            )
            if held:
                race["skipped"] += 1
                continue
            table.write(frame_of([day], args.n_paths, 7 + args.index, table.spec))
            race["written"] += 1
        race["lost_races"] = lost.count
    print(json.dumps({"disjoint": disjoint, "race": race}))
    spark.stop()
    return 0


def _median_seconds(action: Callable[[], object], repeat: int = 3) -> float:
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)


def read_costs(spark: SparkSession, location: str) -> dict[str, Any]:
    """Files, log size and read times of the table as it is now."""
    table = delta_log.open_table(location)
    assert table is not None
    log = Path(location) / "_delta_log"
    one_date = FIRST_DAY + dt.timedelta(days=100)
    return {
        "files": len(table.file_uris()),
        "log_mb": sum(f.stat().st_size for f in log.rglob("*") if f.is_file()) / 2**20,
        "data_mb": sum(f.stat().st_size for f in Path(location).rglob("*.parquet")) / 2**20,
        "delta_rs_all_s": _median_seconds(
            lambda: delta_log.open_table(location).to_pyarrow_table()  # type: ignore[union-attr]
        ),
        "delta_rs_keys_s": _median_seconds(
            lambda: delta_log.distinct_rows(
                delta_log.open_table(location),  # type: ignore[arg-type]
                ("model_name", "forecast_start_date"),
                {
                    "commodity": ["coffee"],
                    "model_name": list(MODELS),
                    "model_version": ["v1.0"],
                    "forecast_start_date": [one_date + dt.timedelta(days=i) for i in range(30)],
                },
            )
        ),
        "spark_all_s": _median_seconds(
            lambda: spark.read.format("delta").load(location).agg(F.sum("day_14")).collect()
        ),
        "spark_one_date_s": _median_seconds(
            lambda: (
                spark.read.format("delta")
                .load(location)
                .where(F.col("forecast_start_date") == one_date)
                .agg(F.sum("day_14"))
                .collect()
            )
        ),
    }


def _copies_per_key(location: str) -> pd.Series:
    """How many times each (model, date) key's rows are there (paths of a key / its paths)."""
    table = delta_log.open_table(location)
    assert table is not None
    rows = table.to_pyarrow_table(columns=["model_name", "forecast_start_date", "path_id"])
    counts = rows.group_by(["model_name", "forecast_start_date"]).aggregate(
        [("path_id", "count"), ("path_id", "count_distinct")]
    )
    frame = counts.to_pandas()
    return frame["path_id_count"] // frame["path_id_count_distinct"]


def run_candidate(name: str, spark: SparkSession, args: argparse.Namespace) -> dict[str, Any]:
    """Fill a table, race the writers on it, measure it."""
    folder = Path(tempfile.mkdtemp(prefix=f"commits-{name}-"))
    location = str(folder / "distributions")
    signals = folder / "signals"
    signals.mkdir()
    try:
        table = open_candidate(name, spark, location)
        bulk = [
            frame_of(
                list(range(first, min(first + BULK_BATCH_DAYS, args.bulk_days))),
                args.bulk_paths,
                first,
                table.spec,
            )
            for first in range(0, args.bulk_days, BULK_BATCH_DAYS)
        ]
        table.write(bulk[0])  # creates the table; the rest is timed
        began = time.perf_counter()
        for rows in bulk[1:]:
            table.write(rows)
        bulk_rows_per_s = sum(len(rows) for rows in bulk[1:]) / (time.perf_counter() - began)
        disjoint_first = args.bulk_days
        race_first = disjoint_first + args.writers * args.commits * args.per_commit
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--writer",
            "--candidate",
            name,
            "--location",
            location,
            "--signals",
            str(signals),
            "--writers",
            str(args.writers),
            "--commits",
            str(args.commits),
            "--per-commit",
            str(args.per_commit),
            "--n-paths",
            str(args.n_paths),
            "--race-keys",
            str(args.race_keys),
            "--first-day",
            str(disjoint_first),
            "--race-first-day",
            str(race_first),
        ]
        workers = [
            subprocess.Popen(
                [*command, "--index", str(index)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for index in range(args.writers)
        ]
        for index in range(args.writers):
            _wait_for(signals / f"ready-{index}")
        (signals / "go").touch()
        for index in range(args.writers):
            _wait_for(signals / f"done-{index}")
        (signals / "race").touch()
        reports = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
        disjoint = [r["disjoint"] for r in reports]
        wall = max(d["ended"] for d in disjoint) - min(d["started"] for d in disjoint)
        committed = sum(d["commits"] for d in disjoint) * args.per_commit
        copies = _copies_per_key(location)
        race_days = [
            FIRST_DAY + dt.timedelta(days=d) for d in range(race_first, race_first + args.race_keys)
        ]
        race_copies = _race_copies(location, race_days, args.n_paths)
        before = read_costs(spark, location)
        spark.sql(f"OPTIMIZE delta.`{location}`").collect()
        after = read_costs(spark, location)
        return {
            "bulk_rows_per_s": bulk_rows_per_s,
            "lost_races": [d["lost_races"] for d in disjoint],
            "failed_commits": sum(d["failed"] for d in disjoint),
            "forecasts_per_s": committed / wall,
            "median_commit_s": statistics.median(d["median_commit_s"] for d in disjoint),
            "keys_not_once": int((copies != 1).sum()),
            "race_lost_races": sum(r["race"]["lost_races"] for r in reports),
            "race_written": [r["race"]["written"] for r in reports[:2]],
            "race_copies": race_copies,
            "before_optimize": before,
            "after_optimize": after,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _race_copies(location: str, days: list[dt.date], n_paths: int) -> dict[str, int]:
    """Over the raced keys: how many are there once, more than once, or not at all."""
    table = delta_log.open_table(location)
    assert table is not None
    rows = table.to_pyarrow_table(columns=["model_name", "forecast_start_date", "path_id"])
    rows = rows.filter(pc.is_in(rows.column("forecast_start_date"), pa.array(days, pa.date32())))
    counted = rows.group_by(["model_name", "forecast_start_date"]).aggregate([("path_id", "count")])
    paths = {
        (model, day): n
        for model, day, n in zip(
            counted.column("model_name").to_pylist(),
            counted.column("forecast_start_date").to_pylist(),
            counted.column("path_id_count").to_pylist(),
            strict=True,
        )
    }
    outcome = {"once": 0, "more": 0, "none": 0}
    for model in MODELS:
        for day in days:
            n = paths.get((model, day), 0)
            outcome["none" if n == 0 else "once" if n == n_paths else "more"] += 1
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    """Run every candidate in turn, side by side in one run, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--commits", type=int, default=15, help="commits per writer")
    parser.add_argument("--per-commit", type=int, default=4, help="forecasts per commit")
    parser.add_argument("--n-paths", type=int, default=50, help="paths of the writers' forecasts")
    parser.add_argument("--race-keys", type=int, default=8)
    parser.add_argument("--bulk-days", type=int, default=365)
    parser.add_argument("--bulk-paths", type=int, default=2000)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--candidate", help=argparse.SUPPRESS)
    parser.add_argument("--location", help=argparse.SUPPRESS)
    parser.add_argument("--signals", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first-day", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--race-first-day", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if args.writer:
        return writer(args)
    spark = build_spark_session(jars=jar_paths(default_jars_dir(), "delta"), table_format="delta")
    results = {}
    try:
        for name in args.candidates.split(","):
            results[name] = run_candidate(name, spark, args)
            print(f"{name}: {json.dumps(results[name])}", flush=True)
    finally:
        spark.stop()
    print(
        f"\n{args.writers} writers x {args.commits} commits of {args.per_commit} forecasts "
        f"({args.n_paths} paths), disjoint keys, into a table of {args.bulk_days} days x "
        f"{len(MODELS)} models x {args.bulk_paths} paths; then 2 writers race for "
        f"{args.race_keys} dates x {len(MODELS)} models:"
    )
    header = (
        f"{'candidate':<15} {'lost races':>12} {'failed':>6} {'fc/s':>6} {'commit s':>8} "
        f"{'not once':>8} {'race: once/more/none':>21} {'files':>11} {'log MB':>6} "
        f"{'rs all s':>8} {'rs keys s':>9} {'spark all s':>11} {'spark date s':>12} "
        f"{'bulk rows/s':>11}"
    )
    print(header)
    for name, r in results.items():
        b, a = r["before_optimize"], r["after_optimize"]
        race = r["race_copies"]
        print(
            f"{name:<15} {'+'.join(map(str, r['lost_races'])):>12} {r['failed_commits']:>6} "
            f"{r['forecasts_per_s']:>6.2f} {r['median_commit_s']:>8.2f} {r['keys_not_once']:>8} "
            f"{race['once']:>9}/{race['more']}/{race['none']:<9} "
            f"{b['files']:>5}->{a['files']:<5} {a['log_mb']:>6.1f} "
            f"{a['delta_rs_all_s']:>8.2f} {a['delta_rs_keys_s']:>9.3f} "
            f"{a['spark_all_s']:>11.2f} {a['spark_one_date_s']:>12.2f} "
            f"{r['bulk_rows_per_s']:>11.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
