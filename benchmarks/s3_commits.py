"""The commit rate of many small commits to S3 (moto's server on loopback): the project's
conditional-put LogStore next to Delta's S3SingleDriverLogStore, in one run.

    python benchmarks/s3_commits.py [--commits 30] [--entries 200]

Two figures per LogStore, taken alternately (one of each store in turn) so both see the
same machine:

- Delta commits: ``--commits`` appends of one row each to a Delta table per store, after a
  warm-up. ``s3a://`` goes through the project's LogStore (the jobs' setting), ``s3://``
  (mapped to the same S3A file system here) through Delta's default for it, the
  single-driver LogStore. Each commit also writes a data file and updates the snapshot.
- LogStore writes: ``--entries`` new log entries written by each LogStore alone, the
  commit's own cost (ours: one conditional PUT carrying its writer id; the single-driver
  one: a listing, then one PUT).

One Spark session with the S3 jars (``FORECAST_SPARK_JARS``, ``scripts/install.sh
--with-s3``). Loopback is not a network: the figures show the LogStores' own overhead
against an object store, not a real one's latency. It prints, it does not judge.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.moto_spark import moto_spark
from forecast_core.s3 import CONDITIONAL_LOGSTORE

BUCKET = "bench"
SINGLE_DRIVER = "io.delta.storage.S3SingleDriverLogStore"
# Which table each store commits to (the scheme picks the LogStore).
TABLES = {CONDITIONAL_LOGSTORE: f"s3a://{BUCKET}/ours", SINGLE_DRIVER: f"s3://{BUCKET}/single"}


def alternate(steps: dict[str, Callable[[int], None]], count: int) -> dict[str, list[float]]:
    """Run each step ``count`` times, one of each in turn; the seconds of each run per step."""
    spent: dict[str, list[float]] = {name: [] for name in steps}
    for index in range(count):
        for name, step in steps.items():
            started = time.perf_counter()
            step(index)
            spent[name].append(time.perf_counter() - started)
    return spent


def delta_commits(spark, count: int) -> dict[str, list[float]]:
    """Seconds of ``count`` one-row appends per store, after one warm-up commit each."""

    def append(table: str) -> Callable[[int], None]:
        def step(index: int) -> None:
            row = spark.createDataFrame([(index,)], "i int")
            row.write.format("delta").mode("append").save(table)

        return step

    steps = {store: append(table) for store, table in TABLES.items()}
    alternate(steps, 1)  # creates both tables
    return alternate(steps, count)


def logstore_writes(spark, count: int) -> dict[str, list[float]]:
    """Seconds of ``count`` new log entries written by each LogStore alone."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()

    def writer(store_class: str) -> Callable[[int], None]:
        found = jvm
        for part in store_class.split("."):
            found = getattr(found, part)
        store = found(conf)
        folder = f"s3a://{BUCKET}/entries-{store_class.rsplit('.', 1)[1]}/_delta_log"

        def step(index: int) -> None:
            actions = jvm.java.util.ArrayList()
            actions.add('{"commitInfo":{"operation":"BENCHMARK"}}')
            path = jvm.org.apache.hadoop.fs.Path(f"{folder}/{index:020d}.json")
            store.write(path, actions.iterator(), False, conf)

        return step

    return alternate({store: writer(store) for store in TABLES}, count)


def check_which_store_wrote(spark) -> None:
    """Each table's last commit carries our writer id if and only if ours wrote it."""
    import boto3

    s3 = boto3.client("s3")
    for store, table in TABLES.items():
        prefix = table.split(f"{BUCKET}/", 1)[1]
        entries = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/_delta_log/")["Contents"]
        last = max(item["Key"] for item in entries if item["Key"].endswith(".json"))
        tagged = "delta-writer-id" in s3.head_object(Bucket=BUCKET, Key=last)["Metadata"]
        if tagged != (store == CONDITIONAL_LOGSTORE):
            raise SystemExit(f"{table} was not committed by {store}; the figures are void")


def main(argv: Sequence[str] | None = None) -> int:
    """Start moto, commit through both LogStores, print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=30, help="Delta appends per store")
    parser.add_argument("--entries", type=int, default=200, help="LogStore writes per store")
    args = parser.parse_args(argv)
    with moto_spark(BUCKET, "s3-commits-") as (spark, _):
        # s3:// on the same S3A file system; Delta's LogStore for it is the single-driver one.
        hadoop = spark._jsc.hadoopConfiguration()
        hadoop.set("fs.s3.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem")
        commits = delta_commits(spark, args.commits)
        check_which_store_wrote(spark)
        entries = logstore_writes(spark, args.entries)
    print("Commits to S3 (moto, loopback), the two LogStores taken in turn (rate: count over")
    print("the total time; median: of one commit or write):")
    header = f"{'Delta commits/s':>15} {'median ms':>9} {'LogStore writes/s':>17} {'median ms':>9}"
    print(f"  {'LogStore':<46} {header}")
    for store in TABLES:
        delta, writes = commits[store], entries[store]
        print(
            f"  {store:<46} {len(delta) / sum(delta):>15.2f} "
            f"{statistics.median(delta) * 1000:>9.0f} {len(writes) / sum(writes):>17.1f} "
            f"{statistics.median(writes) * 1000:>9.0f}"
        )
    print(
        f"  ({args.commits} one-row appends and {args.entries} log entries per LogStore; "
        "ours alone is safe with several writers)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
