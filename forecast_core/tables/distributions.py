"""The ``distributions`` table: forecast sample paths, one row per path.

Built on the generic ``SparkTable`` (same formats, same idempotent writes as every table).
The Delta layout partitions by commodity and model (a few partitions, large files); the
forecast date is a data column with file statistics, and ``optimize`` Z-orders by it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import cast

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F

from forecast_core.forecasts import ACTUALS, ForecastKey
from forecast_core.names import DEFAULT_TABLE_FORMAT
from forecast_core.tables import delta_log
from forecast_core.tables.schemas import (
    DISTRIBUTIONS_KEY,
    DISTRIBUTIONS_PARTITIONING,
    DISTRIBUTIONS_SCHEMA,
    SUMMARY_KEYS,
)
from forecast_core.tables.spark_table import (
    SparkProvider,
    SparkTable,
    TableSpec,
    date_range_condition,
)


def has_data_leakage() -> Column:
    """True for a forecast row that saw data on or after its start, or a later-trained model."""
    forecast_start = F.col("forecast_start_date")
    saw_the_future = (F.col("data_cutoff_date") >= forecast_start) | F.coalesce(
        F.col("training_date") > forecast_start, F.lit(False)
    )
    return ~F.col("is_actuals") & saw_the_future


DISTRIBUTIONS = TableSpec(
    name="distributions",
    schema=DISTRIBUTIONS_SCHEMA,
    key=DISTRIBUTIONS_KEY,
    partitioning=DISTRIBUTIONS_PARTITIONING,
    delta_partitioning=("commodity", "model_name"),
    cluster_by=("forecast_start_date",),
    derived={"has_data_leakage": has_data_leakage},
)


class DistributionsTable(SparkTable):
    """The forecast distributions table at ``location`` in ``table_format``."""

    def __init__(
        self,
        spark: SparkProvider,
        location: str,
        table_format: str = DEFAULT_TABLE_FORMAT,
        commit_metadata: dict[str, object] | None = None,
    ) -> None:
        super().__init__(spark, location, table_format, DISTRIBUTIONS, commit_metadata)

    def write(self, rows: pd.DataFrame, metadata: Mapping[str, object] | None = None) -> int:
        """Replace the forecasts in ``rows``; the commit names the model versions that served."""
        served = sorted(rows["model_uri"].dropna().unique().tolist()) if "model_uri" in rows else []
        return super().write(rows, {"model_uris": served, **(metadata or {})})

    def existing_keys(
        self,
        commodity: str,
        model_version: str,
        model_names: Iterable[str],
        dates: Iterable[dt.date],
    ) -> set[ForecastKey]:
        """The (model_name, forecast_start_date) keys already written, among ``dates``.

        Actuals rows are found under their own version, ``actuals``.
        """
        names, wanted = sorted(set(model_names)), sorted(set(dates))
        if not names or not wanted:
            return set()
        if self.is_delta_path:
            table = delta_log.open_table(self.location)
            if table is None:
                return set()
            return delta_log.distinct_rows(
                table,
                ("model_name", "forecast_start_date"),
                {
                    "commodity": [commodity],
                    "model_name": names,
                    "model_version": [model_version, ACTUALS],
                    "forecast_start_date": wanted,
                },
            )
        if not self.is_catalog_table:
            return self._keys_from_partition_folders(commodity, model_version, names, wanted)
        where = (
            (F.col("commodity") == commodity)
            & F.col("model_name").isin(names)
            & F.col("model_version").isin(model_version, ACTUALS)
            & F.col("forecast_start_date").isin(wanted)
        )
        return {(str(name), cast(dt.date, day)) for _, name, _, day in self.keys(where)}

    def _keys_from_partition_folders(
        self, commodity: str, model_version: str, names: list[str], dates: list[dt.date]
    ) -> set[ForecastKey]:
        """Keys of a Parquet table from one glob of its partition folders, no data read.

        Every forecast is one partition folder, renamed into place whole at commit, so a
        folder's existence is the forecast's. A full Spark scan would list every one of
        the table's folders (12,785 for coffee 2018-2024, tens of seconds). The glob names
        the commodity, models, version and dates asked for, so the file system filters
        the folders and only the matches cross to Python: a batch's check before its write
        costs milliseconds however large the table has grown.
        """
        jvm = self.spark.sparkContext._jvm
        pattern = (
            f"{self.location.rstrip('/')}/commodity={commodity}"
            f"/model_name={_glob_any(names)}"
            f"/model_version={_glob_any([model_version, ACTUALS])}"
            f"/forecast_start_date={_glob_any([d.isoformat() for d in dates])}"
        )
        assert jvm is not None, "a live Spark session has a JVM gateway"
        path = jvm.org.apache.hadoop.fs.Path(pattern)
        file_system = path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        found: set[ForecastKey] = set()
        for status in file_system.globStatus(path) or []:
            model_part, _, date_part = str(status.getPath()).rsplit("/", 3)[1:]
            found.add(
                (model_part.split("=", 1)[1], dt.date.fromisoformat(date_part.split("=", 1)[1]))
            )
        return found

    def summarize(
        self,
        commodity: str | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        as_of: str | None = None,
    ) -> list[dict[str, object]]:
        """One entry per forecast (key) held: its provenance and path count, sorted by key.

        The ``forecast inspect`` view: commodity, model_name, model_version,
        forecast_start_date, data_cutoff_date, training_date, model_uri, is_actuals,
        has_data_leakage (any path), n_paths. ``as_of`` reads an older Delta version.
        """
        table = self.read(as_of)
        if table is None:
            return []
        where = date_range_condition("forecast_start_date", start, end)
        if commodity is not None:
            where = where & (F.col("commodity") == commodity)
        grouped = (
            table.where(where)
            .groupBy(*SUMMARY_KEYS)
            .agg(
                F.count("path_id").alias("n_paths"),
                F.max("has_data_leakage").alias("has_data_leakage"),
            )
            .orderBy("commodity", "forecast_start_date", "model_name", "model_version")
        )
        return [row.asDict() for row in grouped.collect()]


def _glob_any(values: list[str]) -> str:
    """A Hadoop glob matching exactly one of ``values`` (no glob syntax in them)."""
    return values[0] if len(values) == 1 else "{" + ",".join(values) + "}"
