"""Pictures of forecasts, drawn with matplotlib's object API.

Figures are built with ``matplotlib.figure.Figure`` directly, not ``pyplot``: no global
figure registry to leak memory in long backfills, and no display needed in pods.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.dates import date2num
from matplotlib.figure import Figure

from forecast_core.data.history import MarketHistory
from forecast_core.data.schemas import commodity_info

BANDS: tuple[tuple[float, float], ...] = ((2.5, 97.5), (10.0, 90.0), (25.0, 75.0))


def draw_fan(
    axes: Axes,
    recent: tuple[Any, Any],
    paths: np.ndarray,
    forecast_date: dt.date,
    realized: tuple[Any, Any] | None = None,
) -> None:
    """On ``axes``: recent closes, the median and 50/80/95% bands of ``paths``, what happened.

    Args:
        axes: Where to draw.
        recent: Dates and closes before the forecast.
        paths: Sample paths of shape (n_paths, horizon), day 1 = ``forecast_date``.
        forecast_date: Day 1 of the paths.
        realized: Dates and prices of what actually happened, drawn in black, if given.
    """
    horizon_days = np.arange(paths.shape[1]).astype("timedelta64[D]") + np.datetime64(
        forecast_date, "D"
    )
    axes.plot(*recent, color="0.3", linewidth=1.0, label="close")
    for (low, high), alpha in zip(BANDS, (0.15, 0.25, 0.35), strict=True):
        axes.fill_between(
            horizon_days,
            np.percentile(paths, low, axis=0),
            np.percentile(paths, high, axis=0),
            color="tab:blue",
            alpha=alpha,
            linewidth=0,
            label=f"{high - low:.0f}% band",
        )
    axes.plot(horizon_days, np.median(paths, axis=0), color="tab:blue", label="median")
    if realized is not None:
        axes.plot(*realized, color="black", marker=".", linewidth=1.0, label="realized")
    # axvline takes an axis coordinate: the forecast date in Matplotlib's date units.
    axes.axvline(float(date2num(forecast_date)), color="0.6", linestyle=":")


def price_label(commodity: str) -> str:
    """The price axis of every chart: the commodity's close and its unit (``schemas``)."""
    info = commodity_info(commodity)
    return f"{info.display_name} close, {info.unit}"


def fan_chart(
    history: MarketHistory,
    paths: np.ndarray,
    forecast_date: dt.date,
    title: str,
    realized: MarketHistory | None = None,
    months_shown: int = 6,
) -> Figure:
    """A fan chart: recent closes, then the median and 50/80/95% bands of the paths.

    Args:
        history: The history as known on ``forecast_date`` (its newest months are drawn).
        paths: Sample paths of shape (n_paths, horizon), day 1 = ``forecast_date``.
        forecast_date: Day 1 of the paths.
        title: The figure title.
        realized: If given, what actually happened over the horizon, drawn in black.
        months_shown: How much history to draw before the forecast.
    """
    shown_from = np.datetime64(forecast_date - dt.timedelta(days=31 * months_shown), "ns")
    recent = history.observations[history.observations["date"].to_numpy() >= shown_from]
    figure = Figure(figsize=(9, 4.5))
    axes = figure.subplots()
    happened = None
    if realized is not None and len(realized):
        happened = (realized.observations["date"], realized.observations["close"])
    draw_fan(axes, (recent["date"], recent["close"]), paths, forecast_date, happened)
    axes.set_title(title)
    axes.set_ylabel(price_label(history.commodity))
    axes.legend(loc="upper left", fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure
