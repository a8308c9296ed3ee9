"""One writer process of the same-key race: ``python -m tests.hardening.same_key_writer``.

    python -m tests.hardening.same_key_writer LOCATION SIGNALS FILL

Starts its own Spark session (as a pod would), warms it up and says ``ready-FILL`` in the
folder SIGNALS. Then, for each round ``i`` of ``ROUNDS``, at the signal ``go-i``, it writes
the naive forecast of the round's date with every price ``FILL`` and says ``done-i-FILL``.
A round's way is

- ``table``: the table's own write (``DistributionsTable.write``), three rounds so that
  at least one finds the two commits overlapping;
- ``blind-append``: a plain Delta append of the same rows, the unsafe way (the negative
  control: it has no read set, so nothing stops the second copy).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np

from forecast_core.forecasts import Forecast, forecasts_to_frame
from forecast_core.jars import default_jars_dir, jar_paths
from forecast_core.spark import build_spark_session
from forecast_core.tables.distributions import DistributionsTable

N_PATHS = 20
ROUNDS = (
    ("table", dt.date(2024, 7, 10)),
    ("table", dt.date(2024, 7, 11)),
    ("table", dt.date(2024, 7, 12)),
    ("blind-append", dt.date(2024, 7, 13)),
)
WARM_UP_DAY = dt.date(2024, 6, 1)


def rows(day: dt.date, fill: float):
    """The rows of the naive forecast of ``day``, every price ``fill``."""
    forecast = Forecast(
        "coffee",
        "naive",
        "v1.0",
        day,
        day - dt.timedelta(days=3),
        dt.date(2024, 6, 1),
        "models:/coffee_naive/1",
        np.full((N_PATHS, 14), fill),
    )
    return forecasts_to_frame([forecast], dt.datetime(2024, 7, 1, tzinfo=dt.UTC))


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.02)


def main(location: str, signals: Path, fill: str) -> None:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = build_spark_session(jars=jar_paths(default_jars_dir(), "delta"), table_format="delta")
    table = DistributionsTable(spark, location)
    # Warm up the JVM on a key of its own, so both writers reach their commits together.
    table.write(rows(WARM_UP_DAY + dt.timedelta(days=int(fill)), float(fill)))
    (signals / f"ready-{fill}").touch()
    for index, (way, day) in enumerate(ROUNDS):
        _wait_for(signals / f"go-{index}")
        frame = rows(day, float(fill))
        if way == "table":
            table.write(frame)
        else:
            blind = spark.createDataFrame(frame, schema=table.spec.schema).write.format("delta")
            blind.mode("append").save(location)
        (signals / f"done-{index}-{fill}").touch()
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
