"""The history of one commodity as known on a date: the only way models see data.

A ``MarketHistory`` holds the trading-day observations of one commodity (prices joined
with causal weather features). ``as_of(when)`` returns the rows strictly before ``when``;
models receive nothing else, so a model trained on date T sees data before T and a
forecast for date D sees data before D (its data cutoff is the last trading day before D),
whatever day the code runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast_core.errors import DataError

OBSERVATION_PRICE_COLUMNS: tuple[str, ...] = ("date", "open", "high", "low", "close")


@dataclass(frozen=True, eq=False)
class MarketHistory:
    """Trading-day observations of one commodity, optionally cut off at a date.

    Attributes:
        commodity: The commodity key (``coffee``).
        observations: One row per trading day, sorted by ``date`` (datetime64[ns]), with
            columns ``date, open, high, low, close`` and then one column per weather feature.
        weather_features: Names of the weather feature columns (empty if there is no weather).
        known_before: If set, every row is strictly before this date.
    """

    commodity: str
    observations: pd.DataFrame
    weather_features: tuple[str, ...] = ()
    known_before: dt.date | None = None

    def as_of(self, when: dt.date) -> MarketHistory:
        """The history as known on ``when``: the rows strictly before it.

        Args:
            when: The training date or forecast date.

        Returns:
            A new ``MarketHistory`` whose rows all precede ``when``.
        """
        dates = self.observations["date"].to_numpy()
        n_known = int(np.searchsorted(dates, np.datetime64(when, "ns"), side="left"))
        known_before = when if self.known_before is None else min(when, self.known_before)
        return MarketHistory(
            commodity=self.commodity,
            observations=self.observations.iloc[:n_known],
            weather_features=self.weather_features,
            known_before=known_before,
        )

    def __len__(self) -> int:
        return len(self.observations)

    @property
    def first_date(self) -> dt.date:
        """The first trading day held."""
        self._require_rows()
        return self.observations["date"].iloc[0].date()

    @property
    def last_date(self) -> dt.date:
        """The last trading day held: the data cutoff of anything built on this history."""
        self._require_rows()
        return self.observations["date"].iloc[-1].date()

    @property
    def closes(self) -> np.ndarray:
        """Closing prices as a float64 array, oldest first."""
        return self.observations["close"].to_numpy(dtype=np.float64)

    @property
    def last_close(self) -> float:
        """The newest closing price."""
        self._require_rows()
        return float(self.observations["close"].iloc[-1])

    def weather_matrix(self) -> np.ndarray:
        """Weather features as a (rows, features) float64 array (may hold NaN at the start)."""
        return self.observations[list(self.weather_features)].to_numpy(dtype=np.float64)

    def rows_after(self, last_known: dt.date) -> MarketHistory:
        """The rows strictly after ``last_known`` (the data a fitted model has not seen yet)."""
        dates = self.observations["date"].to_numpy()
        start = int(np.searchsorted(dates, np.datetime64(last_known, "ns"), side="right"))
        return MarketHistory(
            self.commodity, self.observations.iloc[start:], self.weather_features, self.known_before
        )

    def _require_rows(self) -> None:
        if self.observations.empty:
            cutoff = f" before {self.known_before}" if self.known_before else ""
            raise DataError(
                f"no {self.commodity} prices{cutoff}; expected at least one trading day"
            )


def trading_steps(last_observation: dt.date, forecast_date: dt.date, horizon: int) -> np.ndarray:
    """How many trading steps separate the last observation from each horizon day.

    The one calendar rule of the project: a forecast's day k (k = 1..horizon) is the
    calendar day ``forecast_date + k - 1`` and its value is the price at the end of that
    day. Prices move on weekdays only (Monday to Friday); a Saturday or Sunday repeats the
    Friday value. Exchange holidays are not modelled: they count as trading steps. Steps
    are counted from the last observation, so stale data widens the first days honestly.

    Returns:
        An int array of length ``horizon``: entry k-1 is the number of weekdays in
        (last_observation, forecast_date + k - 1].
    """
    horizon_days = np.arange(horizon, dtype="timedelta64[D]") + np.datetime64(forecast_date, "D")
    first_step_day = np.datetime64(last_observation, "D") + np.timedelta64(1, "D")
    return np.busday_count(first_step_day, horizon_days + np.timedelta64(1, "D")).astype(np.int64)
