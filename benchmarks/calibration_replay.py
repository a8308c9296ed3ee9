"""Offline comparison of online interval calibrations, replayed on a calibrated model's forecasts.

    python benchmarks/calibration_replay.py --commodity cocoa --model naive \\
        --start 2000-01-01 --end 2017-12-31 [--prices FILE] [--cache DIR] [--methods LIST]

How the rate and the form of the adaptive calibration (``forecast_core/models/adaptive.py``,
docs/calibration.md) were chosen. For every semiannual window of [start, end] the script
fits what ``<model>_cal`` fits (the base model, its backtest, the factors s_kj), then draws
the base model's forecast after every close of the window as ``<model>_acal`` scores it
(``fit_paths`` paths, seeded by the date), with its outcomes. Each method then replays the
window: its state on the training date from the backtest, then carried over the window's
forecasts, every outcome used only from the close it is realized on. Printed per method:
the coverage of the horizon day furthest from nominal (80% and 95%, over every calendar
forecast date as the evaluation scores them), mean CRPS against ``*_cal`` (fair estimator,
on the same paths), and the 95% coverage of the worst year and the mean distance of the
yearly coverages from 0.95.

Methods (``--methods``, comma-separated; default all):

* ``cal``: the fixed factors (``*_cal``);
* ``qt_shared_<rate>``: quantile tracking of one log factor per level, common to the steps
  (``adaptive.track``, what ``*_acal`` runs);
* ``qt_step_<rate>``: the same with one log factor per level and step;
* ``qt_decay_<rate>``: per level and step, with the rate decaying as t^-0.51 (Angelopoulos,
  Barber & Bates 2024);
* ``agaci``: shared trackers at rates 0.0025..0.16 aggregated by ML-Poly on the pinball loss
  (Zaffran et al. 2022, with the parameter-free aggregation rule of Gaillard et al. 2014);
* ``aci_<gamma>``: adaptive conformal inference (Gibbs & Candes 2021) on the miss rate,
  the interval being that quantile of the last 250 realized scores of the step.

``--prices`` reads a CSV with ``time`` or ``date`` and ``open, high, low, close`` columns
(extra columns and ``#`` comment lines are ignored), without weather; the default is the
bundled sample with its weather. The collected forecasts are cached in ``--cache`` (one
``.npz`` per commodity, model, source and span). Not part of the pipeline; it prints.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast_core.cadence import Cadence
from forecast_core.data import MarketHistory
from forecast_core.data.history import trading_steps
from forecast_core.data.loading import load_dataset
from forecast_core.models import get_model_class
from forecast_core.models.adaptive import MAX_LOG_FACTOR, coverage_scores, track
from forecast_core.models.backtest import HORIZON_STEPS, rolling_origin
from forecast_core.models.calibration import (
    FIT_PARAMS,
    LEVELS,
    backtest_plan,
    fit_level_scales,
    volatility_ratio,
)

ALPHA = 1.0 - LEVELS
HORIZON_DAYS = 14
AGGREGATED_RATES = (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16)
ACI_WINDOW = 250


# -- collecting the forecasts ----------------------------------------------------------


def history_of(commodity: str, prices: Path | None) -> MarketHistory:
    """The commodity's history from ``prices`` (no weather) or the bundled sample."""
    if prices is None:
        return load_dataset().history(commodity)
    frame = pd.read_csv(prices, comment="#").rename(columns={"time": "date"})
    frame["date"] = pd.to_datetime(frame["date"])
    frame = frame[["date", "open", "high", "low", "close"]].dropna().reset_index(drop=True)
    return MarketHistory(commodity, frame)


def collect(history: MarketHistory, model: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Per window: the factors, the backtest's scores and every daily forecast's paths."""
    base_class = get_model_class(model)
    plan = backtest_plan(FIT_PARAMS)
    closes = history.closes
    dates = history.observations["date"].dt.date.to_numpy()
    windows = Cadence("semiannually").windows(start, end)
    parts: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    for index, window in enumerate(windows):
        known = history.as_of(window.training_date)
        base = base_class().fit(history, window.training_date)
        backtest = rolling_origin(base_class, known, plan)
        ratios = np.array(
            [
                volatility_ratio(known.as_of(origin), paths)
                for origin, paths in zip(backtest.origins, backtest.paths, strict=True)
            ]
        )
        scales = fit_level_scales(backtest, ratios)
        rows = np.array([len(known.as_of(origin)) - 1 for origin in backtest.origins])
        gaps = np.diff(rows).astype(np.float64)
        parts["scales"].append(scales[np.newaxis])
        parts["bt_window"].append(np.full(rows.size, index))
        parts["bt_row"].append(rows)
        parts["bt_weight"].append(np.append(gaps, gaps.mean()))
        parts["bt_score"].append(
            coverage_scores(backtest.paths, ratios, np.log(backtest.outcomes), scales)
        )
        first = len(history.as_of(window.first_forecast_date)) - 1
        last = len(history.as_of(window.last_forecast_date)) - 1
        cutoffs = np.arange(first, last + 1)
        origins = [dates[row] + dt.timedelta(days=1) for row in cutoffs]
        knowns = [history.as_of(origin) for origin in origins]
        paths = np.asarray(
            base._sample_steps_batch(
                knowns,
                [HORIZON_STEPS] * len(knowns),
                plan.n_paths,
                [np.random.default_rng([plan.seed, origin.toordinal()]) for origin in origins],
            )
        )
        ratio = np.array([volatility_ratio(k, p) for k, p in zip(knowns, paths, strict=True)])
        outcomes = np.full((cutoffs.size, HORIZON_STEPS), np.nan)
        for position, row in enumerate(cutoffs):
            after = np.log(closes[row + 1 : row + 1 + HORIZON_STEPS])
            outcomes[position, : after.size] = after
        log_paths = np.log(paths)
        medians = np.median(log_paths, axis=1)
        parts["window"].append(np.full(cutoffs.size, index))
        parts["row"].append(cutoffs)
        parts["score"].append(coverage_scores(paths, ratio, outcomes, scales))
        parts["median"].append(medians)
        parts["outcome"].append(outcomes)
        # The volatility-targeted deviations, sorted: every method's paths are a map of them.
        parts["deviations"].append(
            np.sort(
                (log_paths - medians[:, np.newaxis, :]) * ratio[:, np.newaxis, np.newaxis], 1
            ).astype(np.float32)
        )
        print(f"  {window.training_date}: {len(backtest)} backtest origins, {cutoffs.size} days")
    data = {key: np.concatenate(value) for key, value in parts.items()}
    data["training_dates"] = np.array([w.training_date.toordinal() for w in windows])
    data["row_dates"] = np.array([d.toordinal() for d in dates])
    data["span"] = np.array([start.toordinal(), end.toordinal()])
    return data


# -- the methods: the log factor each daily forecast used, (forecasts, levels, steps) ----


def replay_shared(data: dict[str, Any], rate: float) -> np.ndarray:
    """``adaptive.track``, as ``*_acal`` runs it: warm on the backtest, then day by day."""
    theta = np.zeros((data["row"].size, LEVELS.size, HORIZON_STEPS))
    for window in range(len(data["scales"])):
        backtest = data["bt_window"] == window
        _, start = track(
            np.zeros(LEVELS.size),
            data["bt_row"][backtest],
            data["bt_score"][backtest],
            data["bt_weight"][backtest],
            rate,
        )
        days = np.flatnonzero(data["window"] == window)
        used, _ = track(start, data["row"][days], data["score"][days], np.ones(days.size), rate)
        theta[days] = used[:, :, np.newaxis]
    return theta


class StepTracker:
    """Quantile tracking per level and step; ``decay`` makes the rate fall as t^-decay."""

    def __init__(self, rate: float, decay: float | None = None) -> None:
        self.rate, self.decay = rate, decay
        self.theta = np.zeros((LEVELS.size, HORIZON_STEPS))
        self.days = 0.0

    def state(self) -> np.ndarray:
        return self.theta.copy()

    def feed(self, step: int, score: np.ndarray, used: np.ndarray, weight: float) -> None:
        rate = self.rate * weight
        if self.decay is not None:
            self.days += weight / HORIZON_STEPS
            rate *= (1.0 + self.days / 50.0) ** -self.decay
        miss = score > used[:, step]
        self.theta[:, step] = np.clip(
            self.theta[:, step] + rate * (miss - ALPHA), -MAX_LOG_FACTOR, MAX_LOG_FACTOR
        )


class RollingACI:
    """ACI on the miss rate; the interval: that quantile of the step's last realized scores."""

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma
        self.alpha = np.tile(ALPHA[:, np.newaxis], (1, HORIZON_STEPS))
        self.recent: list[collections.deque[np.ndarray]] = [
            collections.deque(maxlen=ACI_WINDOW) for _ in range(HORIZON_STEPS)
        ]

    def state(self) -> np.ndarray:
        theta = np.zeros((LEVELS.size, HORIZON_STEPS))
        for step, recent in enumerate(self.recent):
            if len(recent) < 20:
                continue
            values = np.array(recent)
            for k in range(LEVELS.size):
                level = float(np.clip(1.0 - self.alpha[k, step], 0.0, 1.0))
                theta[k, step] = np.quantile(values[:, k], level)
        # An infinite interval cannot be drawn as paths: the calibration grid's ends.
        return np.clip(theta, -MAX_LOG_FACTOR, MAX_LOG_FACTOR)

    def feed(self, step: int, score: np.ndarray, used: np.ndarray, weight: float) -> None:
        miss = score > used[:, step]
        self.alpha[:, step] += self.gamma * weight * (ALPHA - miss)
        for _ in range(round(weight)):
            self.recent[step].append(score)


class Aggregated:
    """Shared trackers over a grid of rates, weighted by ML-Poly on the pinball loss."""

    def __init__(self) -> None:
        self.thetas = np.zeros((len(AGGREGATED_RATES), LEVELS.size))
        self.regret = np.zeros_like(self.thetas)
        self.squares = np.zeros_like(self.thetas)
        self.experts: dict[int, np.ndarray] = {}

    def state(self) -> np.ndarray:
        positive = np.maximum(self.regret, 0.0) / (1.0 + self.squares)
        total = positive.sum(axis=0)
        weights = np.where(
            total > 0, positive / np.where(total > 0, total, 1.0), 1.0 / len(AGGREGATED_RATES)
        )
        mixed = (weights * self.thetas).sum(axis=0)
        self.last_experts = self.thetas.copy()
        return np.repeat(mixed[:, np.newaxis], HORIZON_STEPS, axis=1)

    def feed(self, step: int, score: np.ndarray, used: np.ndarray, weight: float) -> None:
        experts = self.experts_used
        miss = score > experts
        rates = np.array(AGGREGATED_RATES)[:, np.newaxis] * weight / HORIZON_STEPS
        self.thetas = np.clip(self.thetas + rates * (miss - ALPHA), -MAX_LOG_FACTOR, MAX_LOG_FACTOR)
        gradient = ALPHA - (score > used[:, step])  # of the pinball loss at the mixture
        difference = gradient * (used[:, step] - experts)  # linearised loss: mixture - expert
        self.regret += weight * difference
        self.squares += weight * difference**2


def replay_sequential(data: dict[str, Any], make: Callable[[], Any]) -> np.ndarray:
    """A stateful method over each window's backtest then its days, outcomes when realized."""
    theta = np.zeros((data["row"].size, LEVELS.size, HORIZON_STEPS))
    for window in range(len(data["scales"])):
        method = make()
        forecasts: dict[int, list[tuple[str, int]]] = collections.defaultdict(list)
        for index in np.flatnonzero(data["bt_window"] == window):
            forecasts[int(data["bt_row"][index])].append(("bt", int(index)))
        for index in np.flatnonzero(data["window"] == window):
            forecasts[int(data["row"][index])].append(("day", int(index)))
        used: dict[tuple[str, int], np.ndarray] = {}
        experts: dict[tuple[str, int], np.ndarray] = {}
        rows = sorted(forecasts)
        for row in range(rows[0], rows[-1] + 1):
            for step in range(HORIZON_STEPS):
                for key in forecasts.get(row - step - 1, []):
                    kind, index = key
                    score = data["bt_score" if kind == "bt" else "score"][index, :, step]
                    if np.isnan(score).any():
                        continue
                    weight = float(data["bt_weight"][index]) if kind == "bt" else 1.0
                    if isinstance(method, Aggregated):
                        method.experts_used = experts[key]
                    method.feed(step, score, used[key], weight)
            for key in forecasts.get(row, []):
                used[key] = method.state()
                if isinstance(method, Aggregated):
                    experts[key] = method.last_experts
                if key[0] == "day":
                    theta[key[1]] = used[key]
    return theta


def replay(data: dict[str, Any], method: str) -> np.ndarray:
    """The log factors each daily forecast used under ``method``."""
    kind, _, rate = method.rpartition("_")
    if method == "cal":
        return np.zeros((data["row"].size, LEVELS.size, HORIZON_STEPS))
    if method == "agaci":
        return replay_sequential(data, Aggregated)
    if kind == "qt_shared":
        return replay_shared(data, float(rate))
    if kind == "qt_step":
        return replay_sequential(data, lambda: StepTracker(float(rate)))
    if kind == "qt_decay":
        return replay_sequential(data, lambda: StepTracker(float(rate), decay=0.51))
    if kind == "aci":
        return replay_sequential(data, lambda: RollingACI(float(rate)))
    raise SystemExit(f"unknown method {method!r}")


# -- scoring as the evaluation does ------------------------------------------------------


def calendar_cells(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per calendar forecast date: its daily forecast, each horizon day's step, its year."""
    first, last = (int(value) for value in data["span"])
    position = {
        (int(window), int(row)): index
        for index, (window, row) in enumerate(zip(data["window"], data["row"], strict=True))
    }
    forecasts, steps, years = [], [], []
    for ordinal in range(first, last + 1):
        window = int(np.searchsorted(data["training_dates"], ordinal, side="right")) - 1
        row = int(np.searchsorted(data["row_dates"], ordinal, side="left")) - 1
        cutoff = dt.date.fromordinal(int(data["row_dates"][row]))
        day = dt.date.fromordinal(ordinal)
        forecasts.append(position[(window, row)])
        # Holidays count as steps: a stale cutoff can need more than HORIZON_STEPS.
        steps.append(np.minimum(trading_steps(cutoff, day, HORIZON_DAYS), HORIZON_STEPS))
        years.append(day.year)
    return np.array(forecasts), np.array(steps), np.array(years)


def crps_by_step(data: dict[str, Any], theta: np.ndarray) -> np.ndarray:
    """Fair CRPS (price units) of every daily forecast and step under factors s exp(theta)."""
    result = np.full(theta.shape[::2], np.nan)
    factors = data["scales"][data["window"]] * np.exp(theta)
    for first in range(0, theta.shape[0], 250):
        chunk = slice(first, first + 250)
        moved = np.stack(
            [
                _mapped(data["deviations"][index], factors[index])
                for index in range(*chunk.indices(theta.shape[0]))
            ]
        )
        prices = np.exp(data["median"][chunk][:, np.newaxis, :] + moved)
        outcomes = np.exp(data["outcome"][chunk])
        n_paths = prices.shape[1]
        rank = np.arange(1, n_paths + 1)[np.newaxis, :, np.newaxis]
        spread = (2.0 * rank - n_paths - 1) * prices  # prices are sorted: the map is monotone
        pairs = 2.0 / (n_paths * (n_paths - 1)) * spread.sum(axis=1)
        result[chunk] = np.abs(prices - outcomes[:, np.newaxis, :]).mean(axis=1) - pairs / 2
    return result


def _mapped(deviations: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """``calibration.rescale_paths``'s map of sorted deviations (n_paths, steps)."""
    from forecast_core.models.calibration import level_anchors

    moved = np.empty(deviations.shape)
    for step in range(deviations.shape[1]):
        column = deviations[:, step].astype(np.float64)
        anchors, targets, outer = level_anchors(column, factors[:, step])
        beyond = (column < anchors[0]) | (column > anchors[-1])
        moved[:, step] = np.where(beyond, column * outer, np.interp(column, anchors, targets))
    return moved


def summary(data: dict[str, Any], theta: np.ndarray, cells: tuple) -> dict[str, Any]:
    """Worst-day coverage, mean CRPS and yearly 95% coverage of one method."""
    forecasts, steps, years = cells
    inside = data["score"] <= theta[:, :, :]  # (forecasts, levels, steps); NaN: False
    realized = ~np.isnan(data["score"][:, 0, :])
    crps = crps_by_step(data, theta)
    flags = np.full((forecasts.size, HORIZON_DAYS, LEVELS.size), np.nan)
    costs = []
    for day in range(HORIZON_DAYS):
        moving = np.flatnonzero(steps[:, day] > 0)
        forecast, step = forecasts[moving], steps[moving, day] - 1
        scored = realized[forecast, step]
        flags[moving[scored], day] = inside[forecast[scored], :, step[scored]]
        costs.append(crps[forecast[scored], step[scored]])
    by_day = np.nanmean(flags, axis=0)  # (days, levels)
    yearly = {int(y): float(np.nanmean(flags[years == y, :, 2])) for y in np.unique(years)}
    return {
        "worst_80": by_day[np.argmax(np.abs(by_day[:, 1] - 0.8)), 1],
        "worst_95": by_day[np.argmax(np.abs(by_day[:, 2] - 0.95)), 2],
        "crps": float(np.concatenate(costs).mean()),
        "years": yearly,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commodity", default="cocoa")
    parser.add_argument("--model", default="naive")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2018, 1, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2024, 12, 31))
    parser.add_argument("--prices", type=Path)
    parser.add_argument("--cache", type=Path, default=Path(".forecast/calibration_replay"))
    parser.add_argument(
        "--methods",
        default="cal,qt_shared_0.01,qt_shared_0.02,qt_shared_0.04,qt_shared_0.08,"
        "qt_step_0.01,qt_step_0.02,qt_step_0.04,qt_decay_0.1,agaci,aci_0.005",
    )
    args = parser.parse_args()
    source = args.prices.stem if args.prices else "sample"
    cached = args.cache / f"{args.commodity}_{args.model}_{source}_{args.start}_{args.end}.npz"
    if cached.exists():
        data = dict(np.load(cached))
    else:
        print(f"collecting {args.commodity} {args.model} {args.start}..{args.end} ({source})")
        history = history_of(args.commodity, args.prices)
        data = collect(history, args.model, args.start, args.end)
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, **data)
    cells = calendar_cells(data)
    print(
        "| method | worst day 80% | worst day 95% | CRPS vs cal | worst year 95% | "
        "mean abs. year 95% - 0.95 |"
    )
    print("|---|---|---|---|---|---|")
    reference = None
    for method in args.methods.split(","):
        figures = summary(data, replay(data, method), cells)
        reference = figures["crps"] if reference is None else reference
        years = figures["years"]
        worst_year = min(years, key=years.__getitem__)
        spread = np.mean([abs(value - 0.95) for value in years.values()])
        print(
            f"| {method} | {figures['worst_80']:.3f} | {figures['worst_95']:.3f} "
            f"| {figures['crps'] / reference - 1:+.2%} | {years[worst_year]:.3f} ({worst_year}) "
            f"| {spread:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
