"""Markdown tables of one or more `forecast evaluate` outputs, with bootstrap skill intervals.

Reads the `scores.csv.gz` that `forecast evaluate --output DIR` writes (one row per model,
forecast and horizon day) and prints, per commodity: per model over all days, CRPS, skill
vs the random walk with a 95% bootstrap interval (whole months of forecast dates
resampled, 2,000 draws, seed 0), 80%/95% coverage, the coverage of the horizon day
furthest from nominal, and the PIT's outer-decile shares; then
per model and horizon day, CRPS / skill / 80% / 95% coverage. Not part of the pipeline:

    python scripts/evaluation_tables.py coffee=/path/to/coffee-output sugar=/path/...
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

BENCHMARK = "random_walk"
DRAWS = 2000


def load(output: Path) -> pd.DataFrame:
    """The score rows with the coverage flags and the month of each forecast."""
    scores = pd.read_csv(output / "scores.csv.gz", parse_dates=["forecast_start_date"])
    scores["in_80"] = (scores["q10"] <= scores["realized"]) & (scores["realized"] <= scores["q90"])
    scores["in_95"] = (scores["q025"] <= scores["realized"]) & (
        scores["realized"] <= scores["q975"]
    )
    scores["month"] = scores["forecast_start_date"].dt.to_period("M")
    return scores


def skill_with_interval(scores: pd.DataFrame, model: str) -> tuple[float, float, float]:
    """Skill vs the benchmark on shared cells and its month-bootstrap 95% interval."""
    keys = ["forecast_start_date", "horizon_day"]
    pair = scores[scores["model_name"] == model][[*keys, "month", "crps"]].merge(
        scores[scores["model_name"] == BENCHMARK][[*keys, "crps"]], on=keys, suffixes=("", "_rw")
    )
    monthly = pair.groupby("month")[["crps", "crps_rw"]].sum()
    skill = 1 - monthly["crps"].sum() / monthly["crps_rw"].sum()
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(monthly), size=(DRAWS, len(monthly)))
    model_sums = monthly["crps"].to_numpy()[picks].sum(axis=1)
    rw_sums = monthly["crps_rw"].to_numpy()[picks].sum(axis=1)
    low, high = np.quantile(1 - model_sums / rw_sums, [0.025, 0.975])
    return float(skill), float(low), float(high)


def summary(scores: pd.DataFrame) -> str:
    """One row per model over all horizon days."""
    lines = [
        "| model | CRPS | skill vs random walk [95% interval] | 80% cov. | 95% cov. "
        "| worst day 80% / 95% | PIT < 0.1 | PIT > 0.9 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, rows in scores.groupby("model_name"):
        skill, low, high = skill_with_interval(scores, str(model))
        per_day = rows.groupby("horizon_day")[["in_80", "in_95"]].mean()
        # The horizon day whose coverage is furthest from nominal, as its coverage.
        worst_80 = per_day["in_80"].iloc[int((per_day["in_80"] - 0.80).abs().argmax())]
        worst_95 = per_day["in_95"].iloc[int((per_day["in_95"] - 0.95).abs().argmax())]
        lines.append(
            f"| {model} | {rows['crps'].mean():.3f} | {skill:+.3f} [{low:+.3f}, {high:+.3f}] "
            f"| {rows['in_80'].mean():.3f} | {rows['in_95'].mean():.3f} "
            f"| {worst_80:.3f} / {worst_95:.3f} "
            f"| {(rows['pit'] < 0.1).mean():.3f} | {(rows['pit'] > 0.9).mean():.3f} |"
        )
    return "\n".join(lines)


def by_horizon(scores: pd.DataFrame) -> str:
    """CRPS / skill / 80% / 95% coverage per model and horizon day."""
    days = sorted(scores["horizon_day"].unique())
    lines = [
        "| model | " + " | ".join(f"day {d}" for d in days) + " |",
        "|---|" + "---|" * len(days),
    ]
    benchmark = scores[scores["model_name"] == BENCHMARK].groupby("horizon_day")["crps"]
    for model, rows in scores.groupby("model_name"):
        per_day = rows.groupby("horizon_day")
        crps, cov80, cov95 = per_day["crps"], per_day["in_80"].mean(), per_day["in_95"].mean()
        cells = [
            f"{crps.mean()[d]:.2f} / {1 - crps.sum()[d] / benchmark.sum()[d]:+.3f} / "
            f"{cov80[d]:.2f} / {cov95[d]:.2f}"
            for d in days
        ]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(arguments: list[str]) -> None:
    for argument in arguments:
        commodity, _, folder = argument.partition("=")
        scores = load(Path(folder))
        n_dates = scores["forecast_start_date"].nunique()
        print(f"### {commodity} ({n_dates} forecast dates per model)\n")
        print(summary(scores) + "\n")
        print("CRPS / skill / 80% coverage / 95% coverage by horizon day:\n")
        print(by_horizon(scores) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
