"""Evaluation figures, drawn with matplotlib's object API (no pyplot, no display needed).

Four pictures: a fan chart of one forecast date per model with what happened, coverage of
the 80%/95% intervals by horizon day, PIT histograms per model, and CRPS skill against the
benchmark week by week (short spans) or month by month.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from forecast_core.evaluation.compute.aggregate import ALL_DAYS, ALL_PERIODS
from forecast_core.evaluation.compute.metrics import INTERVALS
from forecast_core.names import HORIZON_DAYS, MODELS
from forecast_core.plots import draw_fan, price_label

FIGURE_FILES: dict[str, str] = {
    "fan_chart": "fan_chart.png",
    "coverage_by_horizon": "coverage_by_horizon.png",
    "pit_histogram": "pit_histogram.png",
    "skill_over_time": "skill_over_time.png",
}
PIT_BINS = 10


@dataclass(frozen=True)
class FanChartData:
    """What the fan chart of one forecast date shows.

    Attributes:
        commodity: Commodity key (axis label).
        forecast_date: Day 1 of the forecasts.
        data_cutoff: The forecasts' data cutoff.
        recent: Closes before the forecast date (``date``, ``close``), for context.
        paths: Model name -> sample paths (n_paths, HORIZON_DAYS).
        realized: What happened on each horizon day (NaN before the first new price).
    """

    commodity: str
    forecast_date: dt.date
    data_cutoff: dt.date
    recent: pd.DataFrame
    paths: dict[str, np.ndarray]
    realized: np.ndarray


def model_color(model_name: str) -> str:
    """The same color for a model in every figure (its place among the registered models)."""
    names = sorted(MODELS)
    return f"C{names.index(model_name) % 10}" if model_name in names else "0.5"


def figure_png(figure: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def fan_chart_figure(fan: FanChartData) -> Figure:
    """One panel per model: recent closes, median and 50/80/95% bands, and what happened."""
    horizon = np.arange(HORIZON_DAYS).astype("timedelta64[D]") + np.datetime64(
        fan.forecast_date, "D"
    )
    names = sorted(fan.paths)
    figure = Figure(figsize=(9, 2.6 * max(len(names), 1)))
    axes_list = figure.subplots(max(len(names), 1), 1, sharex=True, squeeze=False).ravel()
    for axes, name in zip(axes_list, names, strict=False):
        recent = (fan.recent["date"], fan.recent["close"])
        draw_fan(axes, recent, fan.paths[name], fan.forecast_date, (horizon, fan.realized))
        axes.set_title(
            f"{name}: forecast of {fan.forecast_date} (data to {fan.data_cutoff})",
            fontsize="medium",
        )
        axes.set_ylabel(price_label(fan.commodity), fontsize="small")
    if names:
        axes_list[0].legend(loc="upper left", fontsize="small", ncols=3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def coverage_by_horizon_figure(metrics: pd.DataFrame) -> Figure:
    """Coverage of the 80% and 95% central intervals by horizon day, one line per model."""
    per_day = metrics[(metrics["horizon_day"] != ALL_DAYS) & (metrics["period"] == ALL_PERIODS)]
    figure = Figure(figsize=(9, 3.8))
    axes_pair = figure.subplots(1, len(INTERVALS), sharey=True, squeeze=False).ravel()
    for axes, nominal in zip(axes_pair, INTERVALS, strict=True):
        rows = per_day[per_day["metric"] == f"coverage_{nominal}"]
        for name, line in rows.groupby("model_name", sort=True):
            axes.plot(
                line["horizon_day"],
                line["value"],
                marker="o",
                markersize=3,
                label=name,
                color=model_color(str(name)),
            )
        axes.axhline(nominal / 100, color="black", linestyle="--", linewidth=1.0, label="nominal")
        axes.set_title(f"{nominal}% interval coverage")
        axes.set_xlabel("horizon day")
        axes.set_xticks(range(1, HORIZON_DAYS + 1))
    axes_pair[0].set_ylabel("share of outcomes inside")
    axes_pair[0].legend(fontsize="small")
    figure.tight_layout()
    return figure


def pit_histogram_figure(scores: pd.DataFrame, model_names: Sequence[str]) -> Figure:
    """One PIT histogram per model (all horizon days); flat at 1 means calibrated."""
    names = [name for name in model_names if (scores["model_name"] == name).any()]
    figure = Figure(figsize=(3.0 * max(len(names), 1), 3.2))
    axes_row = figure.subplots(1, max(len(names), 1), sharey=True, squeeze=False).ravel()
    edges = np.linspace(0.0, 1.0, PIT_BINS + 1)
    for axes, name in zip(axes_row, names, strict=False):
        values = scores.loc[scores["model_name"] == name, "pit"].to_numpy()
        axes.hist(values, bins=edges, density=True, color=model_color(name), alpha=0.7)
        axes.axhline(1.0, color="black", linestyle="--", linewidth=1.0)
        axes.set_title(f"{name} (n={len(values)})", fontsize="medium")
        axes.set_xlabel("PIT")
    axes_row[0].set_ylabel("density")
    figure.tight_layout()
    return figure


def skill_over_time_figure(skill: pd.DataFrame, benchmark: str | None, period: str) -> Figure:
    """CRPS skill of each model against the benchmark by ``period`` (week or month).

    Args:
        skill: ``Evaluation.skill_over_time()``: model_name, period_start, value.
        benchmark: The benchmark (its own line, 0, is not drawn), or None.
        period: ``week`` or ``month``, for the title.
    """
    shown = skill[skill["model_name"] != benchmark]
    figure = Figure(figsize=(9, 3.8))
    axes = figure.subplots()
    for name, line in shown.groupby("model_name", sort=True):
        axes.plot(
            pd.to_datetime(line["period_start"]),
            line["value"],
            marker="o",
            markersize=3,
            label=name,
            color=model_color(str(name)),
        )
    axes.axhline(0.0, color="black", linestyle="--", linewidth=1.0)
    axes.set_title(f"CRPS skill vs {benchmark or 'no benchmark'} by {period} of forecast date")
    axes.set_ylabel("1 - CRPS / CRPS benchmark")
    if not shown.empty:
        axes.legend(fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure
