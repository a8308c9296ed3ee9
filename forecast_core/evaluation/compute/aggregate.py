"""Aggregate score rows into metrics per model x horizon day and per model x month.

Every metric is a mean over scored (forecast, horizon day) cells, except ``rmse_median``
(root of the mean squared error) and ``crps_skill``: 1 - sum(CRPS_model) /
sum(CRPS_benchmark) over the cells both have (same forecast dates and horizon days only),
so a model is never compared on dates the benchmark did not forecast. Output rows are tidy:
``model_name, metric, horizon_day, period, value, n_scored`` where ``horizon_day`` 0 pools
days 1..14 and ``period`` is ``all`` or a month ``YYYY-MM`` of the forecast start dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecast_core.evaluation.compute.metrics import (
    INTERVALS,
    PINBALL_LEVELS,
    direction_hits,
    interval_covers,
    pinball_loss,
    quantile_column,
)
from forecast_core.evaluation.compute.scoring import LEFT_OUT_REASONS

ALL_DAYS = 0
ALL_PERIODS = "all"
AGGREGATE_COLUMNS: tuple[str, ...] = (
    "model_name",
    "metric",
    "horizon_day",
    "period",
    "value",
    "n_scored",
)
SKILL_OVER_TIME_COLUMNS: tuple[str, ...] = ("model_name", "period_start", "value", "n_scored")
# Cell column -> metric name, for the metrics that are plain means over cells.
_MEANS: dict[str, str] = {
    "crps": "crps",
    "abs_error": "mae_median",
    **{
        f"pinball_{quantile_column(level)}": f"pinball_{quantile_column(level)}"
        for level in PINBALL_LEVELS
    },
    **{name: name for nominal in INTERVALS for name in (f"coverage_{nominal}", f"width_{nominal}")},
    "direction_hit": "directional_accuracy",
}
METRICS: tuple[str, ...] = (
    "crps",
    "crps_skill",
    "mae_median",
    "rmse_median",
    *(_MEANS[c] for c in _MEANS if c not in ("crps", "abs_error")),
)
COUNT_METRICS: tuple[str, ...] = (
    "forecasts_scored",
    *(f"forecasts_left_out_{reason}" for reason in LEFT_OUT_REASONS),
)


def cell_metrics(scores: pd.DataFrame, benchmark: str | None = None) -> pd.DataFrame:
    """Per-cell values whose means are the metrics, with the benchmark's CRPS alongside.

    Args:
        scores: Score rows (``scoring.SCORE_COLUMNS``).
        benchmark: The model skill is measured against (``random_walk``), or None.

    Returns:
        One row per score row: keys (``model_name, forecast_start_date, horizon_day,
        period``), ``crps``, ``abs_error``, ``squared_error``, ``pinball_qXX``,
        ``coverage_80/95`` (0 or 1), ``width_80/95``, ``direction_hit`` (0 or 1),
        ``crps_benchmark`` (NaN where the benchmark has no score for the cell).
    """
    observed = scores["realized"].to_numpy(dtype=np.float64)
    median = scores["q50"].to_numpy(dtype=np.float64)
    cells = scores[["model_name", "forecast_start_date", "horizon_day", "crps"]].copy()
    cells["period"] = [f"{day.year:04d}-{day.month:02d}" for day in scores["forecast_start_date"]]
    cells["abs_error"] = np.abs(observed - median)
    cells["squared_error"] = (observed - median) ** 2
    for level in PINBALL_LEVELS:
        column = quantile_column(level)
        cells[f"pinball_{column}"] = pinball_loss(observed, scores[column].to_numpy(), level)
    for nominal, (low, high) in INTERVALS.items():
        lower = scores[quantile_column(low)].to_numpy()
        upper = scores[quantile_column(high)].to_numpy()
        cells[f"coverage_{nominal}"] = interval_covers(observed, lower, upper).astype(np.float64)
        cells[f"width_{nominal}"] = upper - lower
    cells["direction_hit"] = direction_hits(
        median, observed, scores["last_known_price"].to_numpy()
    ).astype(np.float64)
    cells["crps_benchmark"] = np.nan
    if benchmark is not None:
        reference = scores.loc[
            scores["model_name"] == benchmark, ["forecast_start_date", "horizon_day", "crps"]
        ].rename(columns={"crps": "crps_benchmark"})
        cells = cells.drop(columns="crps_benchmark").merge(
            reference, on=["forecast_start_date", "horizon_day"], how="left"
        )
    return cells


def aggregate_metrics(
    scores: pd.DataFrame, model_names: Sequence[str], benchmark: str | None = None
) -> pd.DataFrame:
    """Metrics per model x horizon day, per model (all days) and per model x month.

    Args:
        scores: Score rows of every model read (the benchmark's too).
        model_names: The models to report (the benchmark is reported only if listed).
        benchmark: The model ``crps_skill`` is measured against, or None for no skill.

    Returns:
        Tidy rows (``AGGREGATE_COLUMNS``) sorted by model, metric, period, horizon day;
        ``crps_skill`` rows only where the benchmark scored the same cells.
    """
    if scores.empty:
        return _empty()
    cells = cell_metrics(scores, benchmark)
    cells = cells[cells["model_name"].isin(list(model_names))]
    matched = cells["crps_benchmark"].notna()
    cells["crps_matched"] = cells["crps"].where(matched)
    cells["benchmark_matched"] = cells["crps_benchmark"].where(matched)
    cells["horizon_all"] = ALL_DAYS
    cells["period_all"] = ALL_PERIODS
    groupings = (
        ("horizon_day", "period_all"),
        ("horizon_all", "period_all"),
        ("horizon_all", "period"),
    )
    parts = [
        _aggregate(cells, day_column, period_column) for day_column, period_column in groupings
    ]
    frame = pd.concat(parts, ignore_index=True)
    return _typed(
        frame.sort_values(["model_name", "metric", "period", "horizon_day"]).reset_index(drop=True)
    )


def _aggregate(cells: pd.DataFrame, day_column: str, period_column: str) -> pd.DataFrame:
    grouped = cells.groupby(["model_name", day_column, period_column], sort=True)
    means = grouped[list(_MEANS)].mean().rename(columns=_MEANS)
    means["rmse_median"] = np.sqrt(grouped["squared_error"].mean())
    means = means.join(grouped.size().rename("n_scored")).set_index("n_scored", append=True)
    means.columns.name = "metric"
    long = (
        means.stack()
        .rename("value")
        .reset_index()
        .rename(columns={day_column: "horizon_day", period_column: "period"})
    )
    matched_sum = grouped["crps_matched"].sum(min_count=1)
    benchmark_sum = grouped["benchmark_matched"].sum(min_count=1)
    skill = (1.0 - matched_sum / benchmark_sum).rename("value").reset_index()
    skill = skill.rename(columns={day_column: "horizon_day", period_column: "period"})
    skill["metric"] = "crps_skill"
    skill["n_scored"] = grouped["crps_matched"].count().to_numpy()
    skill = skill[skill["n_scored"] > 0]
    return pd.concat([long, skill], ignore_index=True)[list(AGGREGATE_COLUMNS)]


def weekly_skill(scores: pd.DataFrame, model_names: Sequence[str], benchmark: str) -> pd.DataFrame:
    """CRPS skill per model and week of the forecast start dates (weeks start on Monday).

    The rule of ``crps_skill``: 1 - sum(CRPS_model) / sum(CRPS_benchmark) over the cells
    both scored. The metrics table keeps months; a short span reads better by week.

    Returns:
        ``model_name, period_start`` (the Monday, a date), ``value``, ``n_scored``; one
        row per model and week with matched cells, sorted by model and week.
    """
    if scores.empty:
        return pd.DataFrame(columns=list(SKILL_OVER_TIME_COLUMNS))
    cells = cell_metrics(scores, benchmark)
    cells = cells[cells["model_name"].isin(list(model_names)) & cells["crps_benchmark"].notna()]
    cells = cells.assign(
        period_start=[
            day - dt.timedelta(days=day.weekday()) for day in cells["forecast_start_date"]
        ]
    )
    grouped = cells.groupby(["model_name", "period_start"], sort=True)
    weekly = (1.0 - grouped["crps"].sum() / grouped["crps_benchmark"].sum()).rename("value")
    return weekly.to_frame().join(grouped.size().rename("n_scored")).reset_index()


def monthly_skill(metrics: pd.DataFrame) -> pd.DataFrame:
    """The ``crps_skill`` rows of each month (all horizon days) as ``weekly_skill`` gives weeks.

    Returns:
        ``model_name, period_start`` (the first of the month, a date), ``value``,
        ``n_scored``, sorted by model and month.
    """
    rows = metrics[
        (metrics["metric"] == "crps_skill")
        & (metrics["horizon_day"] == ALL_DAYS)
        & (metrics["period"] != ALL_PERIODS)
    ]
    starts = [dt.date.fromisoformat(f"{period}-01") for period in rows["period"]]
    frame = rows.assign(period_start=starts)[list(SKILL_OVER_TIME_COLUMNS)]
    return frame.sort_values(["model_name", "period_start"]).reset_index(drop=True)


def forecast_counts(
    left_out: pd.DataFrame, scores: pd.DataFrame, model_names: Sequence[str]
) -> pd.DataFrame:
    """How many forecasts each model had scored and left out (per reason), as metric rows.

    Args:
        left_out: Counts per model and reason (``scoring.LEFT_OUT_COLUMNS``).
        scores: Score rows.
        model_names: The models to report.

    Returns:
        Tidy rows (``AGGREGATE_COLUMNS``): metrics ``COUNT_METRICS``, horizon day 0, period
        ``all``; ``value`` and ``n_scored`` both hold the count.
    """
    rows = []
    for name in model_names:
        scored = scores.loc[scores["model_name"] == name, "forecast_start_date"].nunique()
        rows.append((name, "forecasts_scored", scored))
        mine = left_out[left_out["model_name"] == name].set_index("reason")["n_forecasts"]
        for reason in LEFT_OUT_REASONS:
            rows.append((name, f"forecasts_left_out_{reason}", int(mine.get(reason, 0))))
    frame = pd.DataFrame(rows, columns=["model_name", "metric", "value"])
    frame["horizon_day"] = ALL_DAYS
    frame["period"] = ALL_PERIODS
    frame["n_scored"] = frame["value"]
    return _typed(frame[list(AGGREGATE_COLUMNS)])


def headline(metrics: pd.DataFrame) -> pd.DataFrame:
    """The all-days, whole-span metrics as one row per model (wide, for tables and reports)."""
    pooled = metrics[(metrics["horizon_day"] == ALL_DAYS) & (metrics["period"] == ALL_PERIODS)]
    wide = pooled.pivot(index="model_name", columns="metric", values="value")
    order = [m for m in (*METRICS, *COUNT_METRICS) if m in wide.columns]
    return wide[order].rename_axis(columns=None)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"horizon_day": np.int32, "value": np.float64, "n_scored": np.int64})


def _empty() -> pd.DataFrame:
    return _typed(pd.DataFrame({column: pd.Series(dtype=object) for column in AGGREGATE_COLUMNS}))
