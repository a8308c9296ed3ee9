"""What the pipeline needs of its stores, and nothing more.

``ForecastPipeline`` talks to the forecast table and the model registry only through these
protocols. The real adapters are ``tables.distributions.DistributionsTable`` (Spark) and
``registry.store.ModelRegistry`` (MLflow); the tests' in-memory fakes (``tests/fakes.py``)
follow the same contract, checked against the real ones by ``tests/test_store_contract.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from forecast_core.forecasts import ForecastKey

if TYPE_CHECKING:  # types only: the pipeline's imports stay free of MLflow and Spark
    import pandas as pd

    from forecast_core.data.history import MarketHistory
    from forecast_core.models.base import Forecaster
    from forecast_core.registry.versions import RegisteredVersion


# The signatures below repeat those of the real adapters and the fakes on purpose: a
# protocol states what its implementations share.
class ForecastStore(Protocol):
    """The distributions table: which forecasts exist, and writing new ones."""

    @property
    def location(self) -> str:
        """Where the table is (path, URI or catalog name), for messages."""
        ...

    def existing_keys(
        self,
        commodity: str,
        model_version: str,
        model_names: Iterable[str],
        dates: Iterable[dt.date],
    ) -> set[ForecastKey]:
        """The (model_name, forecast_start_date) keys already written, among ``dates``.

        Actuals rows count under their own version, ``actuals``.
        """
        ...

    def write(self, rows: pd.DataFrame) -> int:
        """Write ``rows``, replacing the keys it holds; the rows written."""
        ...


class ModelStore(Protocol):
    """The model registry: versions of a model, registering a fitted one, loading one."""

    def list_versions(
        self, commodity: str, model_name: str, model_version: str
    ) -> list[RegisteredVersion]:
        """Every registered version of (commodity, model, model_version), oldest first.

        Each carries its service state: ``retired`` (the version tag) and ``aliases`` (the
        registered model's aliases naming it, such as ``pinned``).
        """
        ...

    def register(
        self, forecaster: Forecaster, history: MarketHistory, model_version: str
    ) -> RegisteredVersion:
        """Register the fitted ``forecaster``; the version that serves its training date."""
        ...

    def load(self, version: RegisteredVersion) -> Forecaster:
        """The fitted model of ``version``."""
        ...
