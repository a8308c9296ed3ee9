"""One self-contained HTML page of an evaluation: tables as HTML, figures as data URIs.

The page needs nothing else (no scripts, no external files or fonts), so it can be mailed,
attached to a ticket or opened from an artifact store as is.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from pathlib import Path

import pandas as pd

from forecast_core.crps import CRPS_ESTIMATOR
from forecast_core.evaluation.compute.aggregate import ALL_DAYS, ALL_PERIODS
from forecast_core.evaluation.compute.metrics import INTERVALS, PINBALL_LEVELS, quantile_column
from forecast_core.evaluation.compute.scoring import LEFT_OUT_REASONS
from forecast_core.evaluation.presentation.figures import figure_png
from forecast_core.evaluation.runner import Evaluation

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0 1.5em; }
p.note { color: #555; font-size: 0.9em; }
"""
_HEADLINE_NAMES = {
    "crps": "CRPS",
    "crps_skill": "skill vs benchmark",
    "mae_median": "MAE (median)",
    "rmse_median": "RMSE (median)",
    "coverage_80": "80% coverage",
    "width_80": "80% width",
    "coverage_95": "95% coverage",
    "width_95": "95% width",
    "directional_accuracy": "direction hit rate",
    "forecasts_scored": "forecasts scored",
}
_FIGURE_CAPTIONS = {
    "fan_chart": "Fan chart of one forecast date: median, 50/80/95% bands and what happened.",
    "coverage_by_horizon": "Share of outcomes inside the central 80% and 95% intervals, "
    "by horizon day (dashed: nominal).",
    "pit_histogram": "PIT histograms (all horizon days): flat at 1 is calibrated; a U shape "
    "means intervals too narrow, a hump too wide.",
    "skill_over_time": "CRPS skill against the benchmark by {period} of forecast date "
    "(above 0: better than the benchmark).",
}


def image_data_uri(png: bytes) -> str:
    """A PNG as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_report(evaluation: Evaluation, generated_at: dt.datetime) -> str:
    """The evaluation as one HTML document.

    Args:
        evaluation: The computed evaluation.
        generated_at: When the page was made (shown in the page).

    Returns:
        The HTML text, with every figure inlined.
    """
    config = evaluation.config
    title = (
        f"Forecast evaluation: {config.commodity}, {config.evaluated_from} to "
        f"{config.evaluated_to} (version {config.model_version})"
    )
    benchmark = config.benchmark if evaluation.benchmark_scored else None
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">Generated {generated_at:%Y-%m-%d %H:%M} UTC. Prices known to '
        f"{evaluation.data_last_date}. Models: {html.escape(', '.join(config.models))}; "
        f"skill benchmark: {html.escape(benchmark or 'none (not in the table)')}. A forecast "
        f"is scored once its 14-day horizon is realized, against prices after its data "
        f"cutoff only; horizon days before the first new price (weekend forecasts) are not "
        f"scored. CRPS: scoringrules.crps_ensemble, estimator {CRPS_ESTIMATOR!r} (fair).</p>",
        "<h2>Summary (all horizon days, whole span)</h2>",
        _headline_table(evaluation),
        "<h2>Forecasts left out</h2>",
        _left_out_table(evaluation),
    ]
    figures = evaluation.figures()
    sections = (
        ("fan_chart", "Fan chart", None),
        ("coverage_by_horizon", "Coverage by horizon day", _by_horizon_table(evaluation)),
        ("pit_histogram", "Calibration (PIT)", None),
        ("skill_over_time", "Skill over time", _skill_table(evaluation)),
    )
    for name, heading, table in sections:
        parts.append(f"<h2>{heading}</h2>")
        if name in figures:
            caption = _FIGURE_CAPTIONS[name].format(period=evaluation.skill_period)
            parts.append(f'<img alt="{name}" src="{image_data_uri(figure_png(figures[name]))}">')
            parts.append(f'<p class="note">{html.escape(caption)}</p>')
        else:
            parts.append('<p class="note">Nothing scored: no figure.</p>')
        if table:
            parts.append(table)
    parts += [
        "<h2>CRPS by horizon day</h2>",
        _metric_by_horizon_table(evaluation, "crps"),
        "<h2>Pinball loss by quantile</h2>",
        _pinball_table(evaluation),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(evaluation: Evaluation, path: Path, generated_at: dt.datetime) -> Path:
    """Write ``render_report`` to ``path`` (parent folders created) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(evaluation, generated_at), encoding="utf-8")
    return path


def _pooled(evaluation: Evaluation) -> pd.DataFrame:
    metrics = evaluation.metrics
    return metrics[(metrics["horizon_day"] == ALL_DAYS) & (metrics["period"] == ALL_PERIODS)]


def _headline_table(evaluation: Evaluation) -> str:
    wide = evaluation.headline
    columns = [c for c in _HEADLINE_NAMES if c in wide.columns]
    table = wide[columns].rename(columns=_HEADLINE_NAMES)
    if "forecasts scored" in table.columns:
        table["forecasts scored"] = table["forecasts scored"].astype(int)
    return _html(table, "model")


def _left_out_table(evaluation: Evaluation) -> str:
    counts = evaluation.left_out.pivot(index="model_name", columns="reason", values="n_forecasts")
    counts = counts.reindex(columns=list(LEFT_OUT_REASONS), fill_value=0)
    counts.columns = [LEFT_OUT_REASONS[reason] for reason in counts.columns]
    return _html(counts, "model")


def _metric_by_horizon_table(evaluation: Evaluation, metric: str) -> str:
    """One row per model, one column per horizon day (``day 1`` .. ``day 14``)."""
    metrics = evaluation.metrics
    rows = metrics[
        (metrics["metric"] == metric)
        & (metrics["horizon_day"] != ALL_DAYS)
        & (metrics["period"] == ALL_PERIODS)
    ]
    if rows.empty:
        return '<p class="note">No values.</p>'
    wide = rows.pivot(index="model_name", columns="horizon_day", values="value")
    wide.columns = [f"day {day}" for day in wide.columns]
    return _html(wide, "model")


def _by_horizon_table(evaluation: Evaluation) -> str:
    return "\n".join(
        f"<h3>{nominal}% interval coverage by horizon day (nominal {nominal / 100:.2f})</h3>\n"
        + _metric_by_horizon_table(evaluation, f"coverage_{nominal}")
        for nominal in INTERVALS
    )


def _skill_table(evaluation: Evaluation) -> str:
    """CRPS skill by week or month (``Evaluation.skill_over_time``): a row per period."""
    skill = evaluation.skill_over_time()
    if skill.empty:
        return '<p class="note">No values.</p>'
    wide = skill.pivot(index="period_start", columns="model_name", values="value")
    if evaluation.skill_period == "month":
        wide.index = [f"{start:%Y-%m}" for start in wide.index]
    return _html(wide, "week of" if evaluation.skill_period == "week" else "month")


def _pinball_table(evaluation: Evaluation) -> str:
    pooled = _pooled(evaluation)
    names = [f"pinball_{quantile_column(level)}" for level in PINBALL_LEVELS]
    rows = pooled[pooled["metric"].isin(names)]
    if rows.empty:
        return '<p class="note">No values.</p>'
    wide = rows.pivot(index="model_name", columns="metric", values="value")[names]
    wide.columns = [f"q={level:g}" for level in PINBALL_LEVELS]
    return _html(wide, "model")


def _html(frame: pd.DataFrame, row_label: str) -> str:
    """``frame`` as one header row: its index becomes the first column, named ``row_label``.

    A named index would print a second, otherwise empty, header row.
    """
    flat = frame.rename_axis(index=row_label, columns=None).reset_index()
    # Integer columns (counts) print as integers; float_format only touches floats.
    return flat.to_html(
        index=False, float_format=lambda value: f"{value:.3f}", border=0, na_rep="-", escape=True
    )
