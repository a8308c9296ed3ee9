"""A forecast as the pipeline makes it: its record, its key, and its rows (no Spark).

One row per sample path: ``day_1`` is the price on the forecast start date, ``day_14``
thirteen calendar days later. Actuals rows hold what happened: ``model_name =
model_version = 'actuals'``, one path, made once a price on or after the horizon's last
day exists. The table's Spark schema (``tables.schemas``) types these columns; the
pipeline and a served model use them without loading Spark.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from forecast_core.data.history import MarketHistory
from forecast_core.names import HORIZON_DAYS

ForecastKey = tuple[str, dt.date]  # (model_name, forecast_start_date) within a commodity/version
ACTUALS = "actuals"
DAY_COLUMNS: tuple[str, ...] = tuple(f"day_{k}" for k in range(1, HORIZON_DAYS + 1))
# The rows' columns, in the table's order.
DISTRIBUTIONS_COLUMNS: tuple[str, ...] = (
    "path_id",
    "forecast_start_date",
    "data_cutoff_date",
    "generation_timestamp",
    "model_version",
    "commodity",
    *DAY_COLUMNS,
    "is_actuals",
    "has_data_leakage",
    "model_name",
    "training_date",
    "model_uri",
)


@dataclass(frozen=True)
class Forecast:
    """The sample paths of one model for one forecast date, with their provenance."""

    commodity: str
    model_name: str
    model_version: str
    forecast_start_date: dt.date
    data_cutoff_date: dt.date
    training_date: dt.date | None
    model_uri: str | None
    paths: np.ndarray  # (n_paths, HORIZON_DAYS) price levels


def forecasts_to_frame(forecasts: list[Forecast], generated_at: dt.datetime) -> pd.DataFrame:
    """One row per path of every forecast, in the table's column order.

    The columns that are constant within a forecast (names, dates, URI) are Arrow-backed:
    each distinct value is converted once and repeated inside Arrow, and Spark takes such
    columns as they are. Object columns of Python dates and strings cost a conversion per
    row, here and again in Spark (about 1.5 s a million rows instead of 0.4 s).

    ``has_data_leakage`` is left False here: the writer computes it from the dates.
    """
    if not forecasts:
        return pd.DataFrame(columns=list(DISTRIBUTIONS_COLUMNS))
    counts = np.array([f.paths.shape[0] for f in forecasts])
    n_rows = int(counts.sum())

    def repeated(values: list[object], arrow_type: pa.DataType) -> pd.arrays.ArrowExtensionArray:
        distinct = list(dict.fromkeys(values))
        position = {value: index for index, value in enumerate(distinct)}
        codes = np.repeat(np.array([position[value] for value in values], dtype=np.int32), counts)
        return pd.arrays.ArrowExtensionArray(pa.array(distinct, arrow_type).take(codes))

    paths = np.concatenate([f.paths for f in forecasts], axis=0)
    first_rows = np.repeat(np.cumsum(counts) - counts, counts)
    columns = {
        "path_id": (np.arange(n_rows) - first_rows).astype(np.int32),
        "forecast_start_date": repeated([f.forecast_start_date for f in forecasts], pa.date32()),
        "data_cutoff_date": repeated([f.data_cutoff_date for f in forecasts], pa.date32()),
        "generation_timestamp": pd.Timestamp(generated_at).tz_localize(None),
        "model_version": repeated([f.model_version for f in forecasts], pa.string()),
        "commodity": repeated([f.commodity for f in forecasts], pa.string()),
        **{day: paths[:, k] for k, day in enumerate(DAY_COLUMNS)},
        "is_actuals": np.repeat(np.array([f.model_name == ACTUALS for f in forecasts]), counts),
        "has_data_leakage": False,
        "model_name": repeated([f.model_name for f in forecasts], pa.string()),
        "training_date": repeated([f.training_date for f in forecasts], pa.date32()),
        "model_uri": repeated([f.model_uri for f in forecasts], pa.string()),
    }
    return pd.DataFrame({name: columns[name] for name in DISTRIBUTIONS_COLUMNS})


def realized_prices(history: MarketHistory, forecast_date: dt.date) -> np.ndarray | None:
    """What happened over the horizon of ``forecast_date``, by the project's calendar rule.

    Day k's value is the last close on or before ``forecast_date + k - 1`` (a weekend or
    holiday repeats the previous trading day's close). Returns None until a price on or
    after the horizon's last day exists.
    """
    last_day = forecast_date + dt.timedelta(days=HORIZON_DAYS - 1)
    dates = history.observations["date"].to_numpy()
    if len(dates) == 0 or dates[-1] < np.datetime64(last_day, "ns"):
        return None
    horizon_days = (
        np.arange(HORIZON_DAYS).astype("timedelta64[D]") + np.datetime64(forecast_date, "D")
    ).astype("datetime64[ns]")
    positions = np.searchsorted(dates, horizon_days, side="right") - 1
    if positions[0] < 0:
        return None
    return history.closes[positions]


def actuals_forecast(history: MarketHistory, forecast_date: dt.date) -> Forecast | None:
    """The actuals row of ``forecast_date`` as a one-path ``Forecast``, or None if not known yet."""
    realized = realized_prices(history, forecast_date)
    if realized is None:
        return None
    last_day = forecast_date + dt.timedelta(days=HORIZON_DAYS - 1)
    return Forecast(
        commodity=history.commodity,
        model_name=ACTUALS,
        model_version=ACTUALS,
        forecast_start_date=forecast_date,
        data_cutoff_date=history.as_of(last_day + dt.timedelta(days=1)).last_date,
        training_date=None,
        model_uri=None,
        paths=realized.reshape(1, HORIZON_DAYS),
    )
