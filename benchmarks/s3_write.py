"""The table's write rate to S3 (moto's server on loopback) next to the local disk's.

    python benchmarks/s3_write.py [--batches 3] [--batch 50] [--n-paths 2000]

The backfill's writes, reduced: ``--batches`` writes of ``--batch`` new forecasts each
(random paths, one model, consecutive dates; ``SparkTable.write``, a Delta replaceWhere),
into a local Delta table and into ``s3a://`` on a moto server started here on a free
loopback port. One Spark session with the S3 jars (``FORECAST_SPARK_JARS``, filled by
``scripts/fetch_jars.py --with-s3``). Loopback is not a network: the S3 figure shows the
S3A/Delta overhead of an object store, not a real one's latency. It prints, it does not judge.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.floor import random_forecasts
from benchmarks.moto_spark import moto_spark
from forecast_core.forecasts import forecasts_to_frame
from forecast_core.tables.distributions import DistributionsTable

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def write_rate(table: DistributionsTable, batches: int, batch: int, n_paths: int) -> float:
    """Rows per second of ``batches`` writes of ``batch`` new forecasts (after a warm-up)."""
    table.write(forecasts_to_frame(random_forecasts(10**5, batch, n_paths), NOW))  # warm-up
    frames = [
        forecasts_to_frame(random_forecasts(i * batch, batch, n_paths), NOW) for i in range(batches)
    ]
    started = time.perf_counter()
    for frame in frames:
        table.write(frame)
    return batches * batch * n_paths / (time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    """Start moto, write to both tables, print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=3, help="timed writes per table")
    parser.add_argument("--batch", type=int, default=50, help="forecasts per write")
    parser.add_argument("--n-paths", type=int, default=2000)
    args = parser.parse_args(argv)
    with moto_spark("bench", "s3-write-") as (spark, folder):
        rates = {
            "local disk": write_rate(
                DistributionsTable(spark, str(folder / "distributions"), "delta"),
                args.batches,
                args.batch,
                args.n_paths,
            ),
            "S3 (moto, loopback)": write_rate(
                DistributionsTable(spark, "s3a://bench/distributions", "delta"),
                args.batches,
                args.batch,
                args.n_paths,
            ),
        }
    rows = args.batch * args.n_paths
    print(
        f"Delta writes of {args.batch} forecasts x {args.n_paths} paths ({rows} rows), "
        f"{args.batches} writes per table:"
    )
    for label, rate in rates.items():
        print(f"  {label:<20} {rate:>9.0f} rows/s  {rate / args.n_paths:6.1f} forecasts/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
