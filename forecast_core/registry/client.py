"""MLflow's client for one registry: searches, aliases, versions and experiments, read here only.

The one place that turns MLflow's model versions into ``RegisteredVersion`` records and
reads a registered model's aliases; an MLflow error becomes a one-line ``RegistryError``
naming the registry (without its password). The model store, the lifecycle and the
evaluation and monitor runs all go through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from forecast_core.errors import RegistryError, first_line
from forecast_core.redaction import redact_credentials
from forecast_core.registry.naming import (
    COMMODITY_TAG,
    DATA_CUTOFF_DATE_TAG,
    MODEL_ID_TAG,
    MODEL_NAME_TAG,
    MODEL_VERSION_TAG,
    RETIRED,
    RETIRED_TAG,
    TRAINING_DATE_TAG,
)
from forecast_core.registry.tracking_server import check_tracking
from forecast_core.registry.versions import RegisteredVersion

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

_SEARCH_PAGE_SIZE = 1000
T = TypeVar("T")
_MISSING = "RESOURCE_DOES_NOT_EXIST"


class RegistryClient:
    """An MLflow tracking and registry URI, checked and opened.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.
        artifact_root: Where new experiments keep artifacts; None lets the tracking
            server decide (use a local folder with the embedded SQLite store).

    Attributes:
        mlflow: MLflow's own client, for what this one does not wrap (writes, runs).
        safe_uri: The URI without credentials, for messages.

    Raises:
        RegistryError: The URI is a database this MLflow cannot open, or a server that
            does not answer.
    """

    def __init__(self, tracking_uri: str, artifact_root: str | None = None) -> None:
        check_tracking(tracking_uri)
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.safe_uri = redact_credentials(tracking_uri)
        self.mlflow = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def search(self, query: str) -> list[RegisteredVersion]:
        """This project's versions matching ``query`` (MLflow's filter), with their aliases.

        Follows pages; reads the aliases once per registered model found. A version without
        a ``training_date`` tag is not one this project registered and is left out.
        """
        found = [v for v in self._search_pages(query) if TRAINING_DATE_TAG in v.tags]
        aliases = {name: self.aliases(name) for name in sorted({v.name for v in found})}
        return sorted((_record(v, aliases[v.name]) for v in found), key=_by_name_and_number)

    def version(self, name: str, number: int | str) -> RegisteredVersion | None:
        """Version ``number`` of registered model ``name``, or None if there is none of ours."""
        try:
            found = self.mlflow.get_model_version(name, str(number))
        except MlflowException as error:
            if error.error_code == _MISSING:
                return None
            raise RegistryError(
                f"cannot read {name} version {number} at {self.safe_uri}: {first_line(error)}"
            ) from error
        if TRAINING_DATE_TAG not in found.tags:
            return None
        return _record(found, self.aliases(name))

    def has_registered_model(self, name: str) -> bool:
        """Whether registered model ``name`` exists."""
        try:
            self.mlflow.get_registered_model(name)
        except MlflowException as error:
            if error.error_code == _MISSING:
                return False
            raise RegistryError(
                f"cannot read registered model {name} at {self.safe_uri}: {first_line(error)}"
            ) from error
        return True

    def aliases(self, name: str) -> dict[str, int]:
        """The aliases of registered model ``name`` (``pinned``, ``champion``) -> version."""
        try:
            aliases = self.mlflow.get_registered_model(name).aliases
        except MlflowException as error:
            raise RegistryError(
                f"cannot read the aliases of {name} at {self.safe_uri}: {first_line(error)}"
            ) from error
        return {alias: int(number) for alias, number in aliases.items()}

    def experiment_id(self, name: str, folder: str) -> str:
        """The id of experiment ``name``, created on first use (artifacts in ``folder``).

        Raises:
            RegistryError: MLflow can neither create nor find it.
        """
        try:
            experiment = self.mlflow.get_experiment_by_name(name)
            if experiment is not None:
                return str(experiment.experiment_id)
            location = None
            if self.artifact_root:
                location = f"{self.artifact_root.rstrip('/')}/{folder}"
            try:
                return self.mlflow.create_experiment(name, artifact_location=location)
            except MlflowException:  # another job created it first
                experiment = self.mlflow.get_experiment_by_name(name)
                if experiment is None:
                    raise
                return str(experiment.experiment_id)
        except MlflowException as error:
            raise RegistryError(
                f"cannot create or find experiment {name!r} at {self.safe_uri}: {first_line(error)}"
            ) from error

    def write(self, change: Callable[[MlflowClient], T], what: str) -> T:
        """Make one change with MLflow's client; its result (a failure says ``cannot {what}``)."""
        try:
            return change(self.mlflow)
        except MlflowException as error:
            raise RegistryError(f"cannot {what} at {self.safe_uri}: {first_line(error)}") from error

    def _search_pages(self, query: str) -> list[ModelVersion]:
        found: list[ModelVersion] = []
        page_token = None
        try:
            while True:
                page = self.mlflow.search_model_versions(
                    query, max_results=_SEARCH_PAGE_SIZE, page_token=page_token
                )
                found.extend(page)
                page_token = page.token
                if not page_token:
                    return found
        except MlflowException as error:
            raise RegistryError(
                f"cannot search model versions ({query}) at {self.safe_uri}: {first_line(error)}"
            ) from error


def _record(version: ModelVersion, aliases: dict[str, int]) -> RegisteredVersion:
    """MLflow's model version as this project's record; ``aliases`` are its registered model's.

    A version without a ``data_cutoff_date`` tag is read as cut at its training date.
    """
    tags = dict(sorted(version.tags.items()))
    number = int(version.version)
    training_date = dt.date.fromisoformat(tags[TRAINING_DATE_TAG])
    cutoff = tags.get(DATA_CUTOFF_DATE_TAG)
    return RegisteredVersion(
        name=version.name,
        version=number,
        commodity=tags.get(COMMODITY_TAG, ""),
        model_name=tags.get(MODEL_NAME_TAG, ""),
        model_version=tags.get(MODEL_VERSION_TAG, ""),
        training_date=training_date,
        data_cutoff_date=dt.date.fromisoformat(cutoff) if cutoff else training_date,
        model_id=tags.get(MODEL_ID_TAG, ""),
        run_id=version.run_id or "",
        retired=tags.get(RETIRED_TAG) == RETIRED,
        aliases=tuple(sorted(alias for alias, n in aliases.items() if n == number)),
        description=version.description or "",
        tags=tags,
    )


def _by_name_and_number(version: RegisteredVersion) -> tuple[str, int]:
    return version.name, version.version
