"""Write batches of rows to a table in order, saying which way each reached Spark.

    python -m tests.tables.batch_writer MASTER LOCATION FORMAT BATCHES

runs the writes from a driver of its own on ``MASTER`` (a cluster's, which the test
process, holding a local session, cannot join), or from a Spark Connect session when
``MASTER`` is an ``sc://`` address, and prints, as JSON, what ``write_batches``
returns. ``BATCHES`` is a pickled list of pandas frames.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import pandas as pd

from forecast_core.jars import default_jars_dir, jar_paths
from forecast_core.spark import build_spark_session, connect_session
from forecast_core.tables.distributions import DistributionsTable


def write_batches(table: DistributionsTable, batches: list[pd.DataFrame]) -> dict[str, list]:
    """Write ``batches`` to ``table`` one after another.

    Returns ``written`` (the rows each write reports) and ``staged`` (for each, the files
    its frame reads: the staged Parquet file, where Spark gets its rows from one; none for
    ``createDataFrame``'s rows).
    """
    staged: list[list[str]] = []
    stored = table.stored
    to_spark = stored._to_spark

    def recorded(spark, rows: pd.DataFrame, held: contextlib.ExitStack):
        frame = to_spark(spark, rows, held)
        staged.append(list(frame.inputFiles()))
        return frame

    stored._to_spark = recorded  # type: ignore[method-assign]
    written = [table.write(batch) for batch in batches]
    return {"written": written, "staged": staged}


def main(master: str, location: str, table_format: str, batches: Path) -> None:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if master.startswith("sc://"):
        spark = connect_session(master)
    else:
        spark = build_spark_session(
            master, jars=jar_paths(default_jars_dir(), "delta"), table_format=table_format
        )
    table = DistributionsTable(spark, location, table_format)
    print(json.dumps(write_batches(table, pd.read_pickle(batches))))
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]))
