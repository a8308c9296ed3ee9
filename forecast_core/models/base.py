"""The one contract every forecasting model follows.

The public ``fit`` and ``sample_paths`` live here: they slice the history as known on
the training or forecast date, validate, record state and call the model's private
``_fit`` / ``_sample_steps``. A model never sees a row on or after those dates, and it
never refits when sampling: ``_sample_steps`` updates its state to the newest rows.
``to_state`` and ``from_state`` give a fitted model as plain data and rebuild it
(``state``): each model saves and restores what its ``_fit`` set.

Paths are price levels of shape (n_paths, horizon) over calendar days, day 1 being the
forecast date; see ``forecast_core.data.history.trading_steps`` for the calendar rule.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np

from forecast_core.data.history import MarketHistory, trading_steps
from forecast_core.errors import ConfigError, DataError, ModelError, NotFittedError
from forecast_core.models.state import FittedState, ModelState
from forecast_core.names import DEFAULT_N_PATHS, HORIZON_DAYS

DEFAULT_HORIZON = HORIZON_DAYS
Seed = int | np.random.SeedSequence


class Forecaster(abc.ABC):
    """Base class of all models: validates, slices history as of a date, samples paths.

    Subclasses set the class attributes and implement ``_fit``, ``_sample_steps`` (or
    ``_sample_steps_batch``), and ``_fitted_state``/``_restore_fitted`` to be registered;
    they add one line to ``forecast_core.names.MODELS``.

    Class attributes:
        name: Stable registry key (``random_walk``).
        display_name: Name in model ids (``RandomWalk`` in ``Coffee_RandomWalk_2025-01-01_v1.0``).
        min_history: Trading days needed before the training date.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    min_history: ClassVar[int] = 30

    def __init__(self, **params: Any) -> None:
        model = type(self)
        if (
            model._sample_steps is Forecaster._sample_steps
            and model._sample_steps_batch is Forecaster._sample_steps_batch
        ):
            raise TypeError(
                f"model {model.__name__} implements neither _sample_steps nor _sample_steps_batch"
            )
        defaults = self.default_params()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise ConfigError(
                f"unknown parameter(s) {', '.join(map(repr, unknown))} for model {self.name!r}; "
                f"expected some of: {', '.join(sorted(defaults))}"
            )
        self.params: dict[str, Any] = {**defaults, **params}
        self.training_date_: dt.date | None = None
        self.data_cutoff_: dt.date | None = None
        self.training_metrics_: dict[str, float] = {}
        self.training_tags_: dict[str, str] = {}

    @classmethod
    @abc.abstractmethod
    def default_params(cls) -> dict[str, Any]:
        """The model's parameters and their defaults (sensible for daily commodity prices)."""

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Small parameters that keep tests fast while exercising the whole model."""
        return {}

    # -- public contract -------------------------------------------------------------

    def fit(self, history: MarketHistory, training_date: dt.date) -> Self:
        """Fit on the rows of ``history`` strictly before ``training_date``.

        Args:
            history: Any history of the commodity; rows on or after ``training_date`` are
                cut off here, so passing the full history is safe.
            training_date: The cadence date the model is trained for.

        Returns:
            ``self``, with ``training_date_``, ``data_cutoff_`` (last row used),
            ``training_metrics_`` (in-sample metrics) and ``training_tags_`` (notes for the
            run log and the version's MLflow run, such as a calibration fallback) set.

        Raises:
            DataError: Fewer than ``min_history`` trading days before ``training_date``.
        """
        known = history.as_of(training_date)
        if len(known) < self.min_history:
            first = f" (data starts {history.first_date})" if len(history) else ""
            raise DataError(
                f"model {self.name!r} needs at least {self.min_history} trading days of "
                f"{history.commodity} before {training_date}; found {len(known)}{first}"
            )
        self.training_metrics_ = {}
        self.training_tags_ = {}
        self._fit(known)
        self.training_date_ = training_date
        self.data_cutoff_ = known.last_date
        return self

    def sample_paths(
        self,
        history: MarketHistory,
        forecast_date: dt.date,
        horizon: int = DEFAULT_HORIZON,
        n_paths: int = DEFAULT_N_PATHS,
        seed: Seed = 0,
    ) -> np.ndarray:
        """Sample price paths for the ``horizon`` calendar days starting on ``forecast_date``.

        Uses every row of ``history`` before ``forecast_date`` without refitting: the
        fitted state is updated with the rows after the training data cutoff. This is
        ``sample_paths_batch`` for one date, so both give bit-identical paths.

        Args:
            history: Any history of the commodity; rows on or after ``forecast_date`` are
                cut off here.
            forecast_date: Day 1 of the forecast; the data cutoff is the last trading day
                before it.
            horizon: Calendar days forecast.
            n_paths: Monte Carlo paths.
            seed: Seed of the only random generator used; the same seed gives
                bit-identical paths.

        Returns:
            A float64 array of shape (n_paths, horizon) of price levels.

        Raises:
            NotFittedError: The model has not been fitted.
            ModelError: ``forecast_date`` is before the training date.
        """
        return self.sample_paths_batch(history, [forecast_date], horizon, n_paths, [seed])[0]

    def sample_paths_batch(
        self,
        history: MarketHistory,
        forecast_dates: Sequence[dt.date],
        horizon: int = DEFAULT_HORIZON,
        n_paths: int = DEFAULT_N_PATHS,
        seeds: Sequence[Seed] | None = None,
    ) -> list[np.ndarray]:
        """``sample_paths`` for many dates at once, reusing work across them.

        Each date's paths are bit-identical to ``sample_paths`` for that date and its
        seed: every date is cut off at its own forecast date and draws from its own
        generator. Models override ``_sample_steps_batch`` to share the work that does
        not depend on the date (a state filtered forward date by date, one prediction
        call for all dates).

        Args:
            history: Any history of the commodity; each date sees only its earlier rows.
            forecast_dates: Day 1 of each forecast, in any order.
            horizon: Calendar days forecast.
            n_paths: Monte Carlo paths per date.
            seeds: One seed per date (default 0 for all).

        Returns:
            One float64 array of shape (n_paths, horizon) per date, in the given order.

        Raises:
            NotFittedError: The model has not been fitted.
            ModelError: A forecast date is before the training date, or the model produced
                wrong shapes or non-finite prices (for any date of the batch).
        """
        if self.training_date_ is None:
            raise NotFittedError(f"model {self.name!r} must be fitted before sampling paths")
        if horizon < 1 or n_paths < 1:
            raise ConfigError(f"horizon {horizon} and n_paths {n_paths} must both be >= 1")
        seeds = [0] * len(forecast_dates) if seeds is None else list(seeds)
        if len(seeds) != len(forecast_dates):
            raise ConfigError(
                f"{len(seeds)} seeds given for {len(forecast_dates)} forecast "
                f"dates; expected one seed per date"
            )
        for forecast_date in forecast_dates:
            if forecast_date < self.training_date_:
                raise ModelError(
                    f"model {self.name!r} trained on {self.training_date_} cannot forecast "
                    f"{forecast_date}; expected a forecast date on or after its training date"
                )
        # Models may carry state from one date to the next: hand them the dates in order.
        order = sorted(range(len(forecast_dates)), key=forecast_dates.__getitem__)
        knowns = {i: history.as_of(forecast_dates[i]) for i in order}
        steps = {i: trading_steps(knowns[i].last_date, forecast_dates[i], horizon) for i in order}
        # A horizon without a trading step (a one-day weekend forecast) repeats the last close.
        moving = [i for i in order if steps[i][-1] > 0]
        simulated = self._sample_steps_batch(
            [knowns[i] for i in moving],
            [int(steps[i][-1]) for i in moving],
            n_paths,
            [np.random.default_rng(seeds[i]) for i in moving],
        )
        if len(simulated) != len(moving):
            raise ModelError(
                f"model {self.name!r} returned {len(simulated)} path arrays for "
                f"{len(moving)} forecast dates"
            )
        by_date = dict(zip(moving, simulated, strict=True))
        return [
            self._calendar_paths(knowns[i], forecast_dates[i], steps[i], by_date.get(i), n_paths)
            for i in range(len(forecast_dates))
        ]

    def _calendar_paths(
        self,
        known: MarketHistory,
        forecast_date: dt.date,
        steps: np.ndarray,
        step_paths: np.ndarray | None,
        n_paths: int,
    ) -> np.ndarray:
        """Check one date's simulated trading steps and lay them on the calendar horizon."""
        start = np.full((n_paths, 1), known.last_close)
        if step_paths is None:
            return np.repeat(start, steps.size, axis=1)
        expected = (n_paths, int(steps[-1]))
        if step_paths.shape != expected:
            raise ModelError(
                f"model {self.name!r} returned paths of shape {step_paths.shape} "
                f"for {forecast_date}; expected {expected}"
            )
        if not np.all(np.isfinite(step_paths)):
            raise ModelError(f"model {self.name!r} produced non-finite prices for {forecast_date}")
        return np.concatenate([start, step_paths], axis=1)[:, steps]

    def to_state(self) -> ModelState:
        """The fitted model as plain data (``state.ModelState``), rebuilt by ``from_state``.

        Raises:
            NotFittedError: The model has not been fitted.
        """
        if self.training_date_ is None or self.data_cutoff_ is None:
            raise NotFittedError(f"model {self.name!r} must be fitted before saving its state")
        return ModelState(
            model=self.name,
            params=dict(self.params),
            training_date=self.training_date_,
            data_cutoff=self.data_cutoff_,
            metrics=dict(self.training_metrics_),
            tags=dict(self.training_tags_),
            fitted=self._fitted_state(),
        )

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        """The fitted model ``state`` describes, built through the constructor.

        Same seed, same paths as the model that gave the state.

        Raises:
            ModelError: ``state`` is another model's.
        """
        if state.model != cls.name:
            raise ModelError(
                f"a state of model {state.model!r} cannot rebuild model {cls.name!r}; "
                f"expected a state of {cls.name!r}"
            )
        defaults = cls.default_params()
        # JSON has no tuples: a parameter whose default is one (sarimax's order) is one again.
        params = {
            key: tuple(value)
            if isinstance(defaults.get(key), tuple) and isinstance(value, list)
            else value
            for key, value in state.params.items()
        }
        model = cls(**params)
        model.training_date_ = state.training_date
        model.data_cutoff_ = state.data_cutoff
        model.training_metrics_ = dict(state.metrics)
        model.training_tags_ = dict(state.tags)
        model._restore_fitted(state.fitted)
        return model

    # -- what a model implements ------------------------------------------------------

    def _fitted_state(self) -> FittedState:
        """What ``_fit`` set, as plain data (``to_state`` adds the rest)."""
        raise ModelError(f"model {self.name!r} cannot save its fitted state")

    def _restore_fitted(self, fitted: FittedState) -> None:
        """Set what ``_fit`` sets from ``_fitted_state``'s output."""
        raise ModelError(f"model {self.name!r} cannot restore a fitted state")

    @abc.abstractmethod
    def _fit(self, known: MarketHistory) -> None:
        """Estimate the model from ``known`` (all rows before the training date)."""

    def _sample_steps(
        self, known: MarketHistory, n_steps: int, n_paths: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Simulate ``n_steps`` trading steps after ``known.last_date``.

        ``known`` holds every row before the forecast date (it extends the training data);
        update the fitted state with ``known.rows_after(self.data_cutoff_)``, never refit.
        A model implements this or ``_sample_steps_batch``; the default is a batch of one.

        Returns:
            Price levels of shape (n_paths, n_steps); column j is the price after j+1 steps.
        """
        return self._sample_steps_batch([known], [n_steps], n_paths, [rng])[0]

    def _sample_steps_batch(
        self,
        knowns: Sequence[MarketHistory],
        n_steps: Sequence[int],
        n_paths: int,
        rngs: Sequence[np.random.Generator],
    ) -> list[np.ndarray]:
        """``_sample_steps`` for several forecast dates, given in ascending date order.

        The default calls ``_sample_steps`` per date. Override it to reuse work across
        dates; each date must still draw only from its own generator, in the same order as
        a batch of one, so its paths do not depend on the other dates of the batch.
        """
        return [
            self._sample_steps(known, steps, n_paths, rng)
            for known, steps, rng in zip(knowns, n_steps, rngs, strict=True)
        ]

    # -- helpers shared by models --------------------------------------------------------

    @staticmethod
    def future_weather(known: MarketHistory, n_steps: int) -> np.ndarray:
        """Weather features for the simulated steps: what is knowable on the forecast date.

        Realized future weather is never used. Persistence: the newest observed value of
        each feature is held over the horizon (the features are 7- and 30-day trailing
        aggregates, so persistence is their natural short-range forecast).

        Returns:
            A (n_steps, n_features) float64 array.
        """
        matrix = known.weather_matrix()
        if matrix.shape[0] == 0:
            raise DataError(f"no {known.commodity} weather before {known.known_before}")
        return np.repeat(matrix[-1:], n_steps, axis=0)

    def __repr__(self) -> str:
        fitted = f", trained {self.training_date_}" if self.training_date_ else ""
        return f"{type(self).__name__}({self.params}{fitted})"


def log_returns(closes: np.ndarray) -> np.ndarray:
    """Daily log returns of a price series (length n - 1)."""
    return np.diff(np.log(closes))
