"""The ``distributions`` table: forecast sample paths, one row per path.

A ``NamedTable``: stored by whichever Spark table kind its location and format make it
(same formats, same idempotent writes as every table). Both layouts partition by the key,
one partition per forecast: Delta checks concurrent commits partition by partition, so
writers of different forecasts never conflict (``delta_tables``; docs/table-layout.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F

from forecast_core.forecasts import ACTUALS, ForecastKey
from forecast_core.names import DEFAULT_TABLE_FORMAT
from forecast_core.tables.kinds import NamedTable
from forecast_core.tables.schemas import (
    DISTRIBUTIONS_KEY,
    DISTRIBUTIONS_PARTITIONING,
    DISTRIBUTIONS_SCHEMA,
    SUMMARY_KEYS,
)
from forecast_core.tables.spark_table import SparkProvider, TableSpec, date_range_condition


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
    delta_partitioning=DISTRIBUTIONS_PARTITIONING,
    # Orders the files of tables created partitioned by (commodity, model_name) only.
    cluster_by=("forecast_start_date",),
    derived={"has_data_leakage": has_data_leakage},
)


class DistributionsTable(NamedTable):
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
        found = self.stored.distinct_rows(
            ("model_name", "forecast_start_date"),
            {
                "commodity": [commodity],
                "model_name": names,
                "model_version": [model_version, ACTUALS],
                "forecast_start_date": wanted,
            },
        )
        return {(str(name), day) for name, day in found}

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
