"""The floor of a backfill's work on this machine, now: what any implementation must spend.

Machines here differ by about 1.6x from one another and from day to day, so a wall time
alone says little. In the same run as the jobs, this measures the same amount of work done
the cheapest way: numpy drawing the same number of paths (random walks of 14 days), and
pyarrow writing the same rows (the table's schema, built by the project's own row
builder) to one local Parquet file. Optionally also Spark's own floor for those rows: one
plain Delta append of that file, partitioned as the distributions table is, in a Spark
session that has written nothing before (as a job's first write). ``run.py`` reports each
scenario's ratio to them.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from forecast_core.forecasts import Forecast, forecasts_to_frame
from forecast_core.names import HORIZON_DAYS
from forecast_core.tables.schemas import DISTRIBUTIONS_PARTITIONING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Forecasts per batch: the size the jobs flush at (500 x 2,000 = 1M rows).
_BATCH = 500
FIRST_DATE = dt.date(2018, 1, 1)


@dataclass(frozen=True)
class Floor:
    """Seconds the cheapest sampling and writing of ``forecasts`` x ``n_paths`` took, and
    Spark's plain Delta append of the same rows (``None`` when not measured)."""

    forecasts: int
    n_paths: int
    sampling_s: float
    writing_s: float
    spark_append_s: float | None = None

    @property
    def total_s(self) -> float:
        """Sampling and writing together."""
        return self.sampling_s + self.writing_s


def measure_floor(
    forecasts: int, n_paths: int, spark_session: Callable[[], SparkSession] | None = None
) -> Floor:
    """Draw and write ``forecasts`` forecasts of ``n_paths`` paths, timing each part; with
    ``spark_session`` (opened only after that), time Spark appending the same rows to Delta."""
    with tempfile.TemporaryDirectory(prefix="floor-") as folder:
        rows_file = Path(folder) / "rows.parquet"
        sampling, writing = _sample_and_write(rows_file, forecasts, n_paths)
        spark_append = (
            None
            if spark_session is None
            else spark_delta_append(spark_session(), rows_file, f"{folder}/delta")
        )
    return Floor(forecasts, n_paths, sampling, writing, spark_append)


def spark_delta_append(spark: SparkSession, rows_file: Path, location: str) -> float:
    """Seconds of one ``append`` of ``rows_file`` to a new Delta table at ``location``,
    partitioned by the distributions table's partition columns."""
    started = time.perf_counter()
    (
        spark.read.parquet(str(rows_file))
        .write.format("delta")
        .mode("append")
        .partitionBy(*DISTRIBUTIONS_PARTITIONING)
        .save(location)
    )
    return time.perf_counter() - started


def _sample_and_write(rows_file: Path, forecasts: int, n_paths: int) -> tuple[float, float]:
    """Seconds numpy sampled and pyarrow wrote ``rows_file``, in batches as the jobs flush."""
    rng = np.random.default_rng(0)
    sampling = writing = 0.0
    with pq.ParquetWriter(rows_file, _schema(n_paths)) as writer:
        for first in range(0, forecasts, _BATCH):
            size = min(_BATCH, forecasts - first)
            started = time.perf_counter()
            paths = random_paths(rng, size, n_paths)
            sampling += time.perf_counter() - started
            started = time.perf_counter()
            batch = consecutive_forecasts("naive", first, paths)
            frame = forecasts_to_frame(batch, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
            writer.write_table(pa.Table.from_pandas(frame, preserve_index=False))
            writing += time.perf_counter() - started
    return sampling, writing


def random_paths(rng: np.random.Generator, forecasts: int, n_paths: int) -> np.ndarray:
    """Random-walk price paths, (forecasts, n_paths, horizon), around 100."""
    steps = rng.normal(0.0, 0.02, (forecasts, n_paths, HORIZON_DAYS))
    return 100.0 * np.exp(np.cumsum(steps, axis=2))


def consecutive_forecasts(model: str, first: int, paths: np.ndarray) -> list[Forecast]:
    """One coffee forecast of ``model`` per day from day ``first`` after 2018-01-01 on."""
    return [
        Forecast(
            "coffee",
            model,
            "v1.0",
            FIRST_DATE + dt.timedelta(days=first + i),
            FIRST_DATE + dt.timedelta(days=first + i - 1),
            FIRST_DATE,
            f"models:/coffee_{model}/1",
            paths[i],
        )
        for i in range(len(paths))
    ]


def random_forecasts(first: int, count: int, n_paths: int) -> list[Forecast]:
    """``count`` xgboost forecasts from day ``first`` on, random paths seeded by ``first``."""
    paths = random_paths(np.random.default_rng(first), count, n_paths)
    return consecutive_forecasts("xgboost", first, paths)


def _schema(n_paths: int) -> pa.Schema:
    """The Arrow schema of the rows ``forecasts_to_frame`` builds."""
    probe = Forecast(
        "coffee",
        "naive",
        "v1.0",
        dt.date(2018, 1, 2),
        dt.date(2018, 1, 1),
        dt.date(2018, 1, 1),
        "models:/coffee_naive/1",
        np.ones((n_paths, HORIZON_DAYS)),
    )
    frame = forecasts_to_frame([probe], dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    return pa.Table.from_pandas(frame, preserve_index=False).schema
