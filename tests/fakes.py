"""In-memory stores with the contract of the real ones, and models that fail on purpose.

``FakeForecastStore`` and ``FakeModelStore`` follow ``forecast_core.stores``; the shared
contract test (``tests/test_store_contract.py``) runs the same assertions against them and
against the Spark table and the MLflow registry, so they cannot drift.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from forecast_core.data.history import MarketHistory
from forecast_core.errors import RegistryError
from forecast_core.forecasts import ACTUALS, ForecastKey
from forecast_core.models.base import Forecaster
from forecast_core.models.naive import NaiveForecaster
from forecast_core.registry.naming import PINNED_ALIAS, registered_model_name
from forecast_core.registry.versions import RegisteredVersion, model_id
from forecast_core.tables.schemas import DISTRIBUTIONS_KEY

TableKey = tuple[str, str, str, dt.date]  # commodity, model_name, model_version, date


# Each fake's method signatures repeat forecast_core.stores' protocols on purpose.
class FakeForecastStore:
    """The distributions table as a dict: key -> the rows of that forecast."""

    def __init__(self, location: str = "memory://distributions") -> None:
        self.location = location
        self.forecasts: dict[TableKey, pd.DataFrame] = {}
        self.writes: list[int] = []  # rows of each write, in order

    def existing_keys(
        self,
        commodity: str,
        model_version: str,
        model_names: Iterable[str],
        dates: Iterable[dt.date],
    ) -> set[ForecastKey]:
        names, wanted = set(model_names), set(dates)
        return {
            (name, day)
            for (held_commodity, name, version, day) in self.forecasts
            if held_commodity == commodity
            and name in names
            and version in (model_version, ACTUALS)
            and day in wanted
        }

    def write(self, rows: pd.DataFrame) -> int:
        """Replace the forecasts whose keys ``rows`` holds, like a partition overwrite."""
        for key, forecast in rows.groupby(list(DISTRIBUTIONS_KEY), sort=False):
            commodity, name, version, day = key
            self.forecasts[(commodity, name, version, _as_date(day))] = forecast
        self.writes.append(len(rows))
        return len(rows)


class FakeModelStore:
    """The model registry as lists of versions and the fitted models they hold.

    Args:
        failing: Model names whose registration raises ``RegistryError`` (a registry
            that fails for one model only).
    """

    def __init__(self, failing: Iterable[str] = ()) -> None:
        self.failing = set(failing)
        self.versions: dict[str, list[RegisteredVersion]] = {}  # registered name -> versions
        self.models: dict[str, Forecaster] = {}  # uri -> fitted model
        self.list_calls = 0

    def list_versions(
        self, commodity: str, model_name: str, model_version: str
    ) -> list[RegisteredVersion]:
        self.list_calls += 1
        found = [
            v
            for v in self.versions.get(registered_model_name(commodity, model_name), [])
            if v.model_version == model_version
        ]
        return sorted(found, key=lambda v: (v.training_date, v.version))

    def register(
        self, forecaster: Forecaster, history: MarketHistory, model_version: str
    ) -> RegisteredVersion:
        """Keep a copy of ``forecaster``; a second one for a training date yields to the first."""
        training_date, cutoff = forecaster.training_date_, forecaster.data_cutoff_
        if training_date is None or cutoff is None:
            raise RegistryError(f"model {forecaster.name!r} must be fitted before registering")
        if forecaster.name in self.failing:
            raise RegistryError(f"cannot register {forecaster.name}: the fake registry refuses")
        commodity = history.commodity
        name = registered_model_name(commodity, forecaster.name)
        held = self.versions.setdefault(name, [])
        for version in held:
            if version.model_version == model_version and version.training_date == training_date:
                return version
        info = RegisteredVersion(
            name=name,
            version=len(held) + 1,
            commodity=commodity,
            model_name=forecaster.name,
            model_version=model_version,
            training_date=training_date,
            data_cutoff_date=cutoff,
            model_id=model_id(commodity, forecaster.display_name, training_date, model_version),
            run_id=f"run-{name}-{len(held) + 1}",
        )
        held.append(info)
        self.models[info.uri] = copy.deepcopy(forecaster)
        return info

    def retire(self, uri: str, retired: bool = True) -> None:
        """What ``forecast models retire`` (``restore``) does: the version's retired tag."""
        self._replace(lambda v: dataclasses.replace(v, retired=retired) if v.uri == uri else v)

    def pin(self, name: str, uri: str | None) -> None:
        """What ``forecast models pin`` (``unpin``: None) does: move ``name``'s one alias."""
        self._replace(
            lambda v: (
                dataclasses.replace(v, aliases=(PINNED_ALIAS,) if v.uri == uri else ())
                if v.name == name
                else v
            )
        )

    def _replace(self, change: Callable[[RegisteredVersion], RegisteredVersion]) -> None:
        self.versions = {name: [change(v) for v in held] for name, held in self.versions.items()}

    def load(self, version: RegisteredVersion) -> Forecaster:
        try:
            return copy.deepcopy(self.models[version.uri])
        except KeyError:
            raise RegistryError(f"cannot load {version.model_id} from {version.uri}") from None


class FailingOnDates(NaiveForecaster):
    """The naive model, except that sampling raises for ``failing_dates``."""

    def __init__(self, failing_dates: Iterable[dt.date] = (), **params: object) -> None:
        super().__init__(**params)
        self.failing_dates = set(failing_dates)

    def _sample_steps(
        self, known: MarketHistory, n_steps: int, n_paths: int, rng: np.random.Generator
    ) -> np.ndarray:
        # known holds the rows before the forecast date: its last day tells the date apart.
        for day in self.failing_dates:
            if known.known_before == day:
                raise ValueError(f"sampling {day} fails on purpose\nsecond line")
        return super()._sample_steps(known, n_steps, n_paths, rng)


def _as_date(value: object) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    assert isinstance(value, dt.date)
    return value
