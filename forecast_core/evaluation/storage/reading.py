"""Read forecasts to evaluate from the distributions table, through Spark.

Two reads: a small index (one row per forecast: its provenance and path count), then the
paths, one model and a bounded number of forecast dates at a time so memory stays flat
however long the evaluated span is. ``ForecastReader`` opens the table once for both:
opening lists every partition folder, which costs about a minute for a 7-year backfill
partitioned by forecast.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from forecast_core.errors import TableError
from forecast_core.forecasts import DAY_COLUMNS
from forecast_core.tables.distributions import DistributionsTable
from forecast_core.tables.spark_table import date_range_condition

INDEX_COLUMNS: tuple[str, ...] = (
    "model_name",
    "forecast_start_date",
    "data_cutoff_date",
    "training_date",
    "model_uri",
    "has_data_leakage",
    "n_paths",
)
# 120 dates x 2,000 paths x 14 days is about 27 MB of prices per read. A year per read was
# no faster on a 7-year table (220 s against 214 s) and took 50% more memory.
DEFAULT_CHUNK_DATES = 120


def _forecasts_of(
    commodity: str, model_version: str, model_names: Sequence[str], start: dt.date, end: dt.date
) -> Column:
    return (
        (F.col("commodity") == commodity)
        & F.col("model_name").isin(list(model_names))
        & (F.col("model_version") == model_version)
        & ~F.col("is_actuals")
        & date_range_condition("forecast_start_date", start, end)
    )


class ForecastReader:
    """Reads one commodity's forecasts of one model version from the distributions table.

    The table is opened (its files listed) on first use and reused for every read.

    Args:
        table: The distributions table.
        commodity: Commodity key.
        model_version: Version label of the models (``v1.0``).
        chunk_dates: At most this many forecast dates per Spark read of paths.
    """

    def __init__(
        self,
        table: DistributionsTable,
        commodity: str,
        model_version: str,
        chunk_dates: int = DEFAULT_CHUNK_DATES,
    ) -> None:
        self.table = table
        self.commodity = commodity
        self.model_version = model_version
        self.chunk_dates = chunk_dates

    @functools.cached_property
    def _frame(self) -> DataFrame | None:
        """The table, opened (its files listed) on first use; None if there is none."""
        return self.table.read()

    def index(self, model_names: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """One row per forecast held for the models in [start, end], sorted by model and date.

        Returns:
            Columns ``INDEX_COLUMNS``; dates as ``datetime.date``; ``has_data_leakage`` is
            True if any path of the forecast carries the flag. Empty if there is no table.

        Raises:
            TableError: One forecast key has more than one provenance (the table is
                inconsistent).
        """
        frame = self._frame
        if frame is None:
            return _empty_index()
        where = _forecasts_of(self.commodity, self.model_version, model_names, start, end)
        grouped = (
            frame.where(where)
            .groupBy(
                "model_name",
                "forecast_start_date",
                "data_cutoff_date",
                "training_date",
                "model_uri",
            )
            .agg(
                F.max("has_data_leakage").alias("has_data_leakage"),
                F.count("path_id").alias("n_paths"),
            )
        )
        index: pd.DataFrame = grouped.toPandas()
        if index.empty:
            return _empty_index()
        repeated = index.duplicated(["model_name", "forecast_start_date"], keep=False)
        if repeated.any():
            row = index[repeated].iloc[0]
            raise TableError(
                f"{self.table.location!r}: the {row.model_name} forecast of "
                f"{row.forecast_start_date} has several cutoffs or model URIs; "
                f"expected one provenance per forecast key"
            )
        index["n_paths"] = index["n_paths"].astype(np.int64)
        index["has_data_leakage"] = index["has_data_leakage"].astype(bool)
        return (
            index[list(INDEX_COLUMNS)]
            .sort_values(["model_name", "forecast_start_date"])
            .reset_index(drop=True)
        )

    def paths(
        self, model_name: str, forecast_dates: Sequence[dt.date]
    ) -> Iterator[tuple[dt.date, np.ndarray]]:
        """The sample paths of one model's forecasts, in date order, a chunk of dates per read.

        Args:
            model_name: The model.
            forecast_dates: The forecast start dates wanted.

        Yields:
            ``(forecast_start_date, paths)`` with ``paths`` of shape (n_paths, HORIZON_DAYS),
            rows in ``path_id`` order. Dates without rows are not yielded.
        """
        frame = self._frame
        if frame is None:
            return
        wanted = sorted(set(forecast_dates))
        for first in range(0, len(wanted), self.chunk_dates):
            chunk = wanted[first : first + self.chunk_dates]
            where = _forecasts_of(
                self.commodity, self.model_version, [model_name], chunk[0], chunk[-1]
            ) & F.col("forecast_start_date").isin(chunk)
            selected = frame.where(where).select("forecast_start_date", "path_id", *DAY_COLUMNS)
            rows: pd.DataFrame = selected.toPandas()
            rows = rows.sort_values(["forecast_start_date", "path_id"], kind="stable")
            for forecast_date, paths in rows.groupby("forecast_start_date", sort=True):
                yield forecast_date, paths[list(DAY_COLUMNS)].to_numpy(dtype=np.float64)


def _empty_index() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in INDEX_COLUMNS})
