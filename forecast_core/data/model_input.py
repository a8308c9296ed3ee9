"""What a registered model's ``predict`` accepts, turned into a ``MarketHistory``.

Two forms of one frame:

``raw tables``
    The ``prices`` and ``weather`` tables of ``schemas`` stacked into one frame
    (``pd.concat([prices, weather])``): price rows carry ``commodity``, weather rows
    ``region``. They are validated and joined exactly as the jobs load a data folder, so
    the features are the ones the pipeline computes.
``features frame``
    One row per trading day of the model's commodity: ``date, open, high, low, close`` and
    the model's weather features (``temp_mean_30d, temp_min_7d, precip_30d`` for a model
    trained with weather), as ``MarketHistory.observations`` holds them.

A frame with a ``commodity`` or ``region`` column is the first form, any other the second.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from forecast_core.data.history import MarketHistory
from forecast_core.data.loading import MarketDataset, validate_prices, validate_weather
from forecast_core.data.schemas import PRICE_COLUMNS, WEATHER_COLUMNS, commodity_info
from forecast_core.errors import DataError

SOURCE = "model input"
RAW_KEY_COLUMNS: tuple[str, ...] = ("commodity", "region")


def history_from_frame(
    frame: pd.DataFrame,
    commodity: str,
    weather_features: tuple[str, ...],
    today: dt.date | None = None,
) -> MarketHistory:
    """The history of ``commodity`` in ``frame`` (either form), validated like a data folder.

    Args:
        frame: Raw tables stacked, or a features frame.
        commodity: The commodity of the model.
        weather_features: The weather features the model was trained with (may be empty).
        today: Rows dated after it are rejected as future-dated.

    Raises:
        DataError: A missing column, a bad value, no prices of ``commodity``, or no weather
            for a model that needs it (one line naming it).
    """
    if any(column in frame.columns for column in RAW_KEY_COLUMNS):
        history = _from_raw_tables(frame, commodity, today)
    else:
        history = _from_features(frame, commodity, weather_features, today)
    if weather_features and history.weather_features != weather_features:
        regions = ", ".join(commodity_info(commodity).weather_regions) or "its regions"
        raise DataError(
            f"{SOURCE}: no weather rows for {commodity} ({regions}); the model needs "
            f"weather: stack the weather table under the prices (pd.concat([prices, weather]))"
        )
    return history


def _from_raw_tables(frame: pd.DataFrame, commodity: str, today: dt.date | None) -> MarketHistory:
    # Rows of each stacked table are those with a value in its key column; without a
    # ``commodity`` column validation names it, without ``region`` there is no weather.
    # Each keeps its position in ``frame`` as its index, so an error names the caller's row.
    frame = frame.reset_index(drop=True)
    prices = frame.loc[frame["commodity"].notna()] if "commodity" in frame.columns else frame
    weather = (
        frame.loc[frame["region"].notna()]
        if "region" in frame.columns
        else pd.DataFrame(columns=list(WEATHER_COLUMNS))
    )
    dataset = MarketDataset(
        validate_prices(prices, f"{SOURCE} (prices rows)", today),
        validate_weather(weather, f"{SOURCE} (weather rows)", today),
        SOURCE,
    )
    return dataset.history(commodity)


def _from_features(
    frame: pd.DataFrame,
    commodity: str,
    weather_features: tuple[str, ...],
    today: dt.date | None,
) -> MarketHistory:
    missing = [column for column in weather_features if column not in frame.columns]
    if missing:
        raise DataError(
            f"{SOURCE}: missing column(s) {', '.join(map(repr, missing))}; expected the "
            f"columns date, open, high, low, close, {', '.join(weather_features)} (or the "
            f"raw prices and weather tables stacked)"
        )
    rows = frame.reset_index(drop=True)
    # validate_prices keeps the row order (it refuses unsorted dates), so features align.
    prices = validate_prices(rows.assign(commodity=commodity), SOURCE, today)
    features = rows[list(weather_features)].astype("float64")
    observations = pd.concat(
        [prices[list(PRICE_COLUMNS)].drop(columns="commodity"), features], axis=1
    )
    return MarketHistory(commodity, observations, weather_features)
