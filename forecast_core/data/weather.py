"""Causal weather features and how the weather calendar joins the trading calendar.

Weather exists on every calendar day, prices on trading days. The join rule:

1. Average the daily weather of the commodity's regions (equal weights).
2. Build trailing features on the calendar-day series, each from days on or before the
   day it describes: ``temp_mean_30d`` (30-day mean of the daily mean temperature),
   ``temp_min_7d`` (7-day minimum of the daily minimum: frost risk), ``precip_30d``
   (30-day mean daily precipitation). Weekend and holiday weather therefore reaches the
   next trading day through the trailing windows.
3. Take the features on each trading day. A trading day with no weather (after the
   weather data ends, or a gap) holds the newest earlier value: only forward fill, never
   a later value pulled backward.

Every feature of a trading day t depends on weather on or before t only, so slicing the
joined rows as of a date is the same as computing them from the sliced weather.
"""

from __future__ import annotations

import pandas as pd

WEATHER_FEATURES: tuple[str, ...] = ("temp_mean_30d", "temp_min_7d", "precip_30d")
# A trailing window needs most of its days to be meaningful.
_MIN_DAYS = {30: 20, 7: 5}


def daily_regional_mean(weather: pd.DataFrame, regions: tuple[str, ...]) -> pd.DataFrame:
    """The mean weather of ``regions`` per calendar day, indexed by a gap-free daily date index."""
    selected = weather[weather["region"].isin(regions)]
    means = selected.groupby("date")[["temp_mean", "temp_min", "precipitation"]].mean()
    return means.asfreq("D")


def weather_features(weather: pd.DataFrame, regions: tuple[str, ...]) -> pd.DataFrame:
    """Trailing weather features per calendar day (index: date), computed causally."""
    daily = daily_regional_mean(weather, regions)
    return pd.DataFrame(
        {
            "temp_mean_30d": daily["temp_mean"].rolling(30, min_periods=_MIN_DAYS[30]).mean(),
            "temp_min_7d": daily["temp_min"].rolling(7, min_periods=_MIN_DAYS[7]).min(),
            "precip_30d": daily["precipitation"].rolling(30, min_periods=_MIN_DAYS[30]).mean(),
        }
    )


def join_weather(prices: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Attach the features of each trading day to ``prices`` (forward fill only)."""
    on_trading_days = features.reindex(features.index.union(prices["date"])).ffill()
    joined = on_trading_days.reindex(prices["date"]).reset_index(drop=True)
    return pd.concat([prices.reset_index(drop=True), joined], axis=1)
