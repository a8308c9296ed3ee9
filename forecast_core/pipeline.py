"""The one code path of the daily and backfill jobs: train what is due, forecast what is missing.

A run takes cadence windows (a training date and the forecast dates its model serves).
``daily`` is the one-window, one-date case of ``backfill``. Per window and model:

1. Training check: if the registry has no version for the window's training date and some
   forecast of the window is missing, fit on data strictly before the training date and
   register it. Otherwise reuse what is registered.
2. Forecasts: for every missing forecast date, load the most recent registered model with
   ``training_date <= forecast date`` that is not retired, or the pinned one when the run
   honours pins (``registry.versions.choose_model``; once per window), sample paths on data
   strictly before the date, and buffer the rows. Actuals rows are added once realized.
3. Buffered rows are written in batches of ``flush_rows``, skipping keys already present.

A model that raises fails alone (fail-open): it is recorded, reported in the summary, and
the others go on. The registry is asked once per model per run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from forecast_core.cadence import TrainingWindow
from forecast_core.config import RunConfig
from forecast_core.data.history import MarketHistory
from forecast_core.errors import ConfigError, DataError, first_line
from forecast_core.forecasts import (
    ACTUALS,
    Forecast,
    ForecastKey,
    actuals_forecast,
    forecasts_to_frame,
)
from forecast_core.models.base import Forecaster
from forecast_core.models.registry import build_model
from forecast_core.names import HORIZON_DAYS
from forecast_core.redaction import redact_credentials
from forecast_core.registry.versions import (
    ModelChoice,
    RegisteredVersion,
    choose_model,
    last_training_date,
)
from forecast_core.seeds import forecast_seed
from forecast_core.stores import ForecastStore, ModelStore

# The registry, or a function opening it: then it is opened only if something is missing.
ModelStoreProvider = ModelStore | Callable[[], ModelStore]


class Reporter(Protocol):
    """Where a run reports progress: log lines and a count of forecasts done."""

    def line(self, text: str) -> None:
        """Report one line of the run log."""

    def start(self, total_forecasts: int) -> None:
        """The run will produce ``total_forecasts`` (model, date) forecasts."""

    def advance(self, forecasts: int) -> None:
        """``forecasts`` more forecasts are done (generated, failed or skipped)."""


@dataclass(frozen=True)
class ModelFailure:
    """One model failing for one date or window."""

    model_name: str
    scope: str  # "2024-07-15" or "window 2024-07-01"
    error: str


@dataclass
class RunSummary:
    """What a run did; ``ok`` means every requested forecast exists at the end."""

    trained: list[str] = field(default_factory=list)
    reused: int = 0
    generated: int = 0
    already_present: int = 0
    actuals_written: int = 0
    rows_written: int = 0
    failed_forecasts: int = 0
    failures: list[ModelFailure] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    @contextlib.contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the wall time of the block to ``timings[phase]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] = self.timings.get(phase, 0.0) + time.perf_counter() - started

    @property
    def ok(self) -> bool:
        """True if no model failed."""
        return not self.failures

    def describe_timings(self) -> str:
        """Seconds per phase, for the end of the run log and the benchmarks."""
        return ", ".join(f"{phase} {seconds:.2f}s" for phase, seconds in self.timings.items())

    def describe(self) -> str:
        """The one-line summary printed at the end of a run."""
        return (
            f"trained {len(self.trained)}, skipped {self.reused}, generated {self.generated}, "
            f"already present {self.already_present}, failed {self.failed_forecasts} "
            f"(actuals {self.actuals_written}, rows written {self.rows_written})"
        )


class ForecastPipeline:
    """Runs the training check and the forecasts for a list of cadence windows."""

    def __init__(
        self,
        config: RunConfig,
        history: MarketHistory,
        registry: ModelStoreProvider,
        table: ForecastStore,
        reporter: Reporter,
        now: dt.datetime,
    ) -> None:
        if history.commodity != config.commodity:
            raise ConfigError(
                f"history of {history.commodity!r} given for a run of {config.commodity!r}"
            )
        # Constructor assignments, alike in shape to every other constructor's.
        self.config = config
        self.history = history
        self._registry = registry
        self.table = table
        self.reporter = reporter
        self.generated_at = now  # the generation_timestamp of every row written
        self._buffer: list[Forecast] = []
        self._buffered_rows = 0

    @functools.cached_property
    def registry(self) -> ModelStore:
        """The model registry, opened on first need (a run with nothing to do never is)."""
        return self._registry() if callable(self._registry) else self._registry

    def run(self, windows: Sequence[TrainingWindow]) -> RunSummary:
        """Train what is due and write every missing forecast of ``windows``."""
        summary = RunSummary()
        if not windows:
            self.reporter.line("Nothing to do: this shard owns no window.")
            return summary
        config = self.config
        with summary.timed("table_read"):
            present = self.table.existing_keys(
                config.commodity,
                config.model_version,
                (*config.models, ACTUALS),
                (d for window in windows for d in window.forecast_dates),
            )
        missing = {
            (name, window): [d for d in window.forecast_dates if (name, d) not in present]
            for window in windows
            for name in config.models
        }
        with summary.timed("registry"):
            versions = {
                name: self.registry.list_versions(config.commodity, name, config.model_version)
                if any(missing[(name, window)] for window in windows)
                else []
                for name in config.models
            }
        total = sum(len(dates) for dates in missing.values())
        summary.already_present = (
            sum(w.n_forecast_dates for w in windows) * len(config.models) - total
        )
        self.reporter.start(total)
        for index, window in enumerate(windows, start=1):
            self.reporter.line(
                f"Window {index}/{len(windows)}: training date "
                f"{window.training_date}, forecasts {window.first_forecast_date}.."
                f"{window.last_forecast_date}"
            )
            self.reporter.line("PHASE 1: Training check")
            ready = []
            for name in config.models:
                dates = missing[(name, window)]
                if not dates:
                    self.reporter.line(
                        f"Checking {name}... all {window.n_forecast_dates} "
                        f"forecasts already present"
                    )
                    summary.reused += 1
                elif self._ensure_trained(name, window, versions[name], summary):
                    ready.append(name)
                else:
                    summary.failed_forecasts += len(dates)
                    self.reporter.advance(len(dates))
            self.reporter.line("PHASE 2: Forecast generation")
            for name in ready:
                self._forecast(name, missing[(name, window)], versions[name], summary)
            self._add_actuals(window, present, summary)
        self._flush(summary)
        return summary

    def _ensure_trained(
        self,
        name: str,
        window: TrainingWindow,
        versions: list[RegisteredVersion],
        summary: RunSummary,
    ) -> bool:
        """Phase 1 for one model and window; False if training failed."""
        slot = window.training_date  # the cadence's training_date_for(first_forecast_date)
        cadence = self.config.cadence
        served = [v for v in versions if v.training_date <= window.first_forecast_date]
        last = last_training_date(served)
        next_date = cadence.next_training_date(last) if last else slot
        if not cadence.should_retrain(
            window.first_forecast_date, {v.training_date for v in versions}
        ):
            self.reporter.line(
                f"Checking {name}... no retraining needed (last: {last}, next: {next_date})"
            )
            summary.reused += 1
            return True
        self.reporter.line(
            f"Checking {name}... retraining needed (last: {last or 'never'}, next: {next_date})"
        )
        try:
            with summary.timed("training"):
                model = build_model(name).fit(self.history, slot)
            with summary.timed("registry"):
                registered = self.registry.register(model, self.history, self.config.model_version)
        except Exception as error:  # any model or registry error fails this model only
            self._fail(summary, name, f"window {slot}", error)
            return False
        versions.append(registered)
        summary.trained.append(registered.model_id)
        self.reporter.line(
            f"  Trained and registered {registered.model_id} ({registered.uri}, "
            f"data cutoff {registered.data_cutoff_date})"
        )
        for key, note in model.training_tags_.items():
            self.reporter.line(f"  {key}: {note}")
        return True

    def _forecast(
        self,
        name: str,
        dates: list[dt.date],
        versions: list[RegisteredVersion],
        summary: RunSummary,
    ) -> None:
        """Phase 2 for one model and window: sample every missing date.

        Dates served by the same model version are sampled in one batch (the model is
        loaded once and reuses work from date to date); a failing batch is retried date by
        date, so one bad date fails alone.
        """
        groups: dict[ModelChoice, list[dt.date]] = {}
        for forecast_date in dates:
            choice = choose_model(versions, forecast_date, self.config.use_pins)
            groups.setdefault(choice, []).append(forecast_date)
        for choice, group in groups.items():
            version = choice.version
            try:
                if version is None:
                    raise DataError(f"no {name} model can serve {group[0]}: {choice.reason}")
                if choice.reason:  # a pin or a retirement changed the choice
                    self.reporter.line(f"{name}... {choice.reason} ({group[0]}..{group[-1]})")
                with summary.timed("registry"):
                    model = self.registry.load(version)
            except Exception as error:  # fail-open: this model and these dates only
                for forecast_date in group:
                    self._fail(summary, name, str(forecast_date), error)
                summary.failed_forecasts += len(group)
                self.reporter.advance(len(group))
                continue
            self.reporter.line(
                f"{name}... Using model trained on {version.training_date} ({version.model_id})"
            )
            for forecast_date, paths in zip(
                group, self._sample(name, model, group, summary), strict=True
            ):
                if paths is None:
                    summary.failed_forecasts += 1
                    self.reporter.advance(1)
                    continue
                self._buffer_forecast(
                    Forecast(
                        commodity=self.config.commodity,
                        model_name=name,
                        model_version=self.config.model_version,
                        forecast_start_date=forecast_date,
                        data_cutoff_date=self.history.as_of(forecast_date).last_date,
                        training_date=version.training_date,
                        model_uri=version.uri,
                        paths=paths,
                    ),
                    summary,
                )
                summary.generated += 1
                self.reporter.advance(1)

    def _sample(
        self, name: str, model: Forecaster, dates: list[dt.date], summary: RunSummary
    ) -> list[np.ndarray | None]:
        """Paths of every date in one batch; None (and a recorded failure) for a failed date."""
        config = self.config
        seeds = [
            forecast_seed(config.seed, config.commodity, name, forecast_date)
            for forecast_date in dates
        ]
        with summary.timed("sampling"):
            try:
                return list(
                    model.sample_paths_batch(
                        self.history, dates, HORIZON_DAYS, config.n_paths, seeds
                    )
                )
            except Exception:  # some date failed: find it
                # A date's paths do not depend on the rest of its batch, so sampling date
                # by date gives the same paths for the others.
                paths: list[np.ndarray | None] = []
                for forecast_date, seed in zip(dates, seeds, strict=True):
                    try:
                        paths.append(
                            model.sample_paths(
                                self.history, forecast_date, HORIZON_DAYS, config.n_paths, seed
                            )
                        )
                    except Exception as error:  # fail-open: this model and date only
                        self._fail(summary, name, str(forecast_date), error)
                        paths.append(None)
                return paths

    def _add_actuals(
        self, window: TrainingWindow, present: set[ForecastKey], summary: RunSummary
    ) -> None:
        for forecast_date in window.forecast_dates:
            if (ACTUALS, forecast_date) in present:
                continue
            actuals = actuals_forecast(self.history, forecast_date)
            if actuals is not None:
                self._buffer_forecast(actuals, summary)
                summary.actuals_written += 1

    def _buffer_forecast(self, forecast: Forecast, summary: RunSummary) -> None:
        self._buffer.append(forecast)
        self._buffered_rows += forecast.paths.shape[0]
        if self._buffered_rows >= self.config.flush_rows:
            self._flush(summary)

    def _flush(self, summary: RunSummary) -> None:
        """Write the buffered forecasts, minus any another writer stored meanwhile."""
        if not self._buffer:
            return
        buffered, self._buffer, self._buffered_rows = self._buffer, [], 0
        dates_by_model: dict[str, set[dt.date]] = {}
        for forecast in buffered:
            dates_by_model.setdefault(forecast.model_name, set()).add(forecast.forecast_start_date)
        with summary.timed("table_read"):
            # A daily run and a backfill shard may compute the same key at the same time.
            # One check per model: its own dates' range prunes the files read (a batch's
            # models together span every date of the window, which the last batch's files
            # overlap: 1-2 s a check on a Delta table, 0.06 s per model).
            present = set().union(
                *(
                    self.table.existing_keys(
                        self.config.commodity, self.config.model_version, [name], dates
                    )
                    for name, dates in dates_by_model.items()
                )
            )
        fresh = [f for f in buffered if (f.model_name, f.forecast_start_date) not in present]
        if len(fresh) < len(buffered):
            self.reporter.line(
                f"Skipping {len(buffered) - len(fresh)} forecasts another writer stored meanwhile"
            )
        if not fresh:
            return
        self.reporter.line(f"Writing {len(fresh)} forecasts to {self.table.location}...")
        with summary.timed("table_write"):
            written = self.table.write(forecasts_to_frame(fresh, self.generated_at))
        summary.rows_written += written
        self.reporter.line(f"Wrote {written} rows ({len(fresh)} forecasts)")

    def _fail(self, summary: RunSummary, name: str, scope: str, error: BaseException) -> None:
        text = redact_credentials(first_line(error))
        failure = ModelFailure(name, scope, f"{type(error).__name__}: {text}")
        summary.failures.append(failure)
        self.reporter.line(f"  FAILED {name} ({scope}): {failure.error}")
