"""What the adaptive calibration costs beside the fixed one, in process, side by side.

    python benchmarks/adaptive_calibration.py [--commodity cocoa] [--training-date 2024-01-01]
                                              [--models naive,sarimax,xgboost] [--repeats 3]

For each base model, ``<model>_cal`` and ``<model>_acal`` are fitted on the bundled data for
one semiannual window and timed, alternately, ``--repeats`` times:

* ``fit``: training (the base model, the backtest, the factors; the tracker's start);
* ``backfill``: one batch of every calendar day of the window (182 dates), as a backfill
  shard samples it, at 500 and 2,000 paths, and the seconds per forecast;
* ``daily``: one date alone, as a daily run samples it: the first day of the window (no
  realized forecast yet) and its last day (the tracker carried over a whole window: the
  worst case, ~125 forecasts of ``fit_paths`` paths drawn and scored).

The figures are medians over the repeats. The benchmark prints, it does not judge.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable

from forecast_core.data.loading import load_dataset
from forecast_core.models import build_model

WINDOW_DAYS = 182


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commodity", default="cocoa")
    parser.add_argument("--training-date", type=dt.date.fromisoformat, default=dt.date(2024, 1, 1))
    parser.add_argument("--models", default="naive,sarimax,xgboost")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    history = load_dataset().history(args.commodity)
    training_date: dt.date = args.training_date
    dates = [training_date + dt.timedelta(days=offset) for offset in range(WINDOW_DAYS)]
    seeds = list(range(len(dates)))
    print(
        f"{args.commodity}, window {dates[0]}..{dates[-1]} ({len(dates)} dates), "
        f"median of {args.repeats}"
    )
    print(
        "| model | fit s | backfill 500 paths s (per forecast ms) | backfill 2,000 paths s "
        "(per forecast ms) | daily, first day s | daily, last day s |"
    )
    print("|---|---|---|---|---|---|")
    for base in args.models.split(","):
        figures: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.repeats):
            for name in (f"{base}_cal", f"{base}_acal"):
                runs = figures.setdefault(name, {})
                model = build_model(name)
                runs.setdefault("fit", []).append(
                    _seconds(lambda model=model: model.fit(history, training_date))
                )
                for n_paths in (500, 2000):
                    runs.setdefault(f"backfill_{n_paths}", []).append(
                        _seconds(
                            lambda model=model, n_paths=n_paths: model.sample_paths_batch(
                                history, dates, 14, n_paths, seeds
                            )
                        )
                    )
                for label, index in (("first", 0), ("last", -1)):
                    runs.setdefault(f"daily_{label}", []).append(
                        _seconds(
                            lambda model=model, index=index: model.sample_paths(
                                history, dates[index], 14, 2000, seeds[index]
                            )
                        )
                    )
        for name, runs in figures.items():
            median = {key: statistics.median(values) for key, values in runs.items()}
            print(
                f"| `{name}` | {median['fit']:.2f} "
                f"| {median['backfill_500']:.2f} "
                f"({1000 * median['backfill_500'] / len(dates):.1f}) "
                f"| {median['backfill_2000']:.2f} "
                f"({1000 * median['backfill_2000'] / len(dates):.1f}) "
                f"| {median['daily_first']:.3f} | {median['daily_last']:.3f} |"
            )


if __name__ == "__main__":
    main()
