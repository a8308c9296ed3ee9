"""Which Delta write replaces a batch's keys faster: replaceWhere or MERGE.

    python benchmarks/delta_write.py [--existing 400] [--batch 200] [--n-paths 2000] [--repeat 3]

A table holding ``--existing`` forecasts (one model, consecutive dates) receives batches of
``--batch`` forecasts, timed three ways:

- ``replaceWhere, new keys``: the table's own write (``SparkTable.write``) of dates the
  table does not hold yet, the backfill's case;
- ``replaceWhere, same keys``: the same batch again, a rerun that replaces;
- ``MERGE, new keys`` and ``MERGE, same keys``: one ``MERGE INTO`` matching key and
  ``path_id`` (update matched, insert new, delete the batch keys' rows the batch no longer
  has: the same result as replaceWhere).

Each figure is the median of ``--repeat`` writes, after one warm-up write. It prints, it
does not judge.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.floor import random_forecasts
from forecast_core.forecasts import Forecast, forecasts_to_frame
from forecast_core.jars import default_jars_dir, jar_paths
from forecast_core.spark import build_spark_session
from forecast_core.tables.distributions import DistributionsTable
from forecast_core.tables.predicates import key_predicate
from forecast_core.tables.schemas import DISTRIBUTIONS_KEY

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def merge(table: DistributionsTable, forecasts: list[Forecast]) -> None:
    """Replace the forecasts' keys with one MERGE INTO (the alternative to replaceWhere)."""
    rows = forecasts_to_frame(forecasts, NOW)
    spark = table.spark
    source = spark.createDataFrame(rows, schema=table.spec.schema)
    source.createOrReplaceTempView("batch")
    on = " AND ".join(f"t.{c} = s.{c}" for c in (*DISTRIBUTIONS_KEY, "path_id"))
    batch_keys = key_predicate(rows, DISTRIBUTIONS_KEY)
    for column in DISTRIBUTIONS_KEY:  # the predicate, on the target's columns
        batch_keys = batch_keys.replace(f"`{column}`", f"t.`{column}`")
    spark.sql(
        f"MERGE INTO delta.`{table.location}` t USING batch s ON {on} "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT * "
        f"WHEN NOT MATCHED BY SOURCE AND ({batch_keys}) THEN DELETE"
    )


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` calls of ``action``."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the table, time the writes, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--existing", type=int, default=400, help="forecasts already held")
    parser.add_argument("--batch", type=int, default=200, help="forecasts per write")
    parser.add_argument("--n-paths", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = build_spark_session(jars=jar_paths(default_jars_dir(), "delta"), table_format="delta")
    folder = Path(tempfile.mkdtemp(prefix="delta-write-"))
    try:
        table = DistributionsTable(spark, str(folder / "distributions"), "delta")
        table.write(forecasts_to_frame(random_forecasts(0, args.existing, args.n_paths), NOW))
        same = random_forecasts(args.existing, args.batch, args.n_paths)
        table.write(forecasts_to_frame(same, NOW))  # warm-up, and the rerun's keys
        # Each "new keys" write takes the next dates the table does not hold yet.
        firsts = iter(range(args.existing + args.batch, 10**6, args.batch))

        def new_keys() -> list[Forecast]:
            return random_forecasts(next(firsts), args.batch, args.n_paths)

        figures = {
            "replaceWhere, new keys": timed(
                lambda: table.write(forecasts_to_frame(new_keys(), NOW)), args.repeat
            ),
            "replaceWhere, same keys": timed(
                lambda: table.write(forecasts_to_frame(same, NOW)), args.repeat
            ),
            "MERGE, new keys": timed(lambda: merge(table, new_keys()), args.repeat),
            "MERGE, same keys": timed(lambda: merge(table, same), args.repeat),
        }
    finally:
        spark.stop()
        shutil.rmtree(folder, ignore_errors=True)
    rows = args.batch * args.n_paths
    print(
        f"Delta write of {args.batch} forecasts x {args.n_paths} paths ({rows} rows) into a "
        f"table of {args.existing}+ forecasts, median of {args.repeat}:"
    )
    for label, seconds in figures.items():
        print(f"  {label:<24} {seconds:6.2f} s  {rows / seconds:>9.0f} rows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
