"""Model lifecycle on the MLflow registry: list, show, pin, unpin, retire, restore, promote.

MLflow's own tools, no new state: a pin is the registered model's ``pinned`` alias (one
per registered model, which is one per commodity and model); a retirement is the version
tag ``retired=true`` (with ``retired_reason``), because a version can be out of service
whatever aliases point at it. The jobs read both through ``ModelRegistry.list_versions``
and choose with ``versions.choose_model``.

Light on purpose: MLflow's client and the version records only (no models, no Spark),
so the ``forecast models`` commands answer in about the time MLflow takes to import. Every check
runs before the one registry write a command makes: bad input changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re

from mlflow import MlflowClient

from forecast_core.errors import ConfigError
from forecast_core.names import check_model_name
from forecast_core.registry.client import RegistryClient
from forecast_core.registry.naming import (
    CHAMPION_ALIAS,
    CHAMPION_OF_TAG,
    CHAMPION_TAG_PREFIX,
    COMMODITY_TAG,
    MODEL_ID_TAG,
    MODEL_NAME_TAG,
    PINNED_ALIAS,
    RETIRED,
    RETIRED_REASON_TAG,
    RETIRED_TAG,
    registered_model_name,
    version_uri,
)
from forecast_core.registry.versions import RegisteredVersion, resolve_model

_COMMODITY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_OURS = f"tag.{MODEL_ID_TAG} != ''"  # every version this project registered


class ModelLifecycle:
    """Reads and changes the service state of this project's registered model versions.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.

    Raises:
        RegistryError: The URI is a database this MLflow cannot open, or a server that
            does not answer.
    """

    def __init__(self, tracking_uri: str) -> None:
        self.client = RegistryClient(tracking_uri)

    # -- reading ---------------------------------------------------------------------

    def versions(
        self, commodity: str | None = None, model: str | None = None
    ) -> list[RegisteredVersion]:
        """Every version of this project's registered models (of a commodity, of a model)."""
        clauses = [_OURS]
        if commodity:
            clauses.append(f"tag.{COMMODITY_TAG} = '{_checked_commodity(commodity)}'")
        if model:
            clauses.append(f"tag.{MODEL_NAME_TAG} = '{check_model_name(model)}'")
        return self.client.search(" and ".join(clauses))

    def find(self, commodity: str, model: str, ref: str) -> RegisteredVersion:
        """The version ``ref`` (a version number or a model id) of ``{commodity}_{model}``.

        Raises:
            ConfigError: Unknown model, no such registered model or version, or a model id
                of another commodity or model.
        """
        name = self._registered_name(commodity, model)
        if ref.isdigit():
            version = self.client.version(name, ref)
            if version is None:
                numbers = ", ".join(str(v.version) for v in self.versions(commodity, model))
                raise ConfigError(
                    f"{name} has no version {ref}; expected one of: {numbers or 'none'}"
                )
            return version
        matches = self.client.search(f"tag.{MODEL_ID_TAG} = '{_quoted(ref)}'")
        if not matches:
            raise ConfigError(
                f"no registered version has model id {ref!r}; expected a version number "
                f"or a model id like 'Coffee_Naive_2024-07-01_v1.0' (`forecast models list`)"
            )
        version = min(matches, key=lambda v: v.version)
        if version.name != name:
            raise ConfigError(
                f"{ref} is {version.name} version {version.version}, not a version of {name}; "
                f"expected a {commodity} {model} model"
            )
        return version

    def champion(self, commodity: str) -> RegisteredVersion | None:
        """The commodity's champion: the one version tagged ``champion_of=<commodity>``."""
        found = self.client.search(f"tag.{CHAMPION_OF_TAG} = '{_checked_commodity(commodity)}'")
        return max(found, key=lambda v: v.version, default=None)

    # -- changing --------------------------------------------------------------------

    def pin(self, commodity: str, model: str, ref: str) -> str:
        """Point ``pinned`` at version ``ref``; what happened, in one line.

        Raises:
            ConfigError: Bad reference (``find``) or a retired version.
        """
        version = self.find(commodity, model, ref)
        if version.retired:
            raise ConfigError(
                f"{version.uri} ({version.model_id}) is retired; expected a version in "
                f"service: `forecast models restore` it first"
            )
        if PINNED_ALIAS in version.aliases:
            return f"{version.uri} ({version.model_id}) is already pinned; nothing changed"
        previous = self.client.aliases(version.name).get(PINNED_ALIAS)
        self.client.write(
            lambda mlflow: mlflow.set_registered_model_alias(
                version.name, PINNED_ALIAS, str(version.version)
            ),
            f"pin {version.uri}",
        )
        moved = f" (was version {previous})" if previous is not None else ""
        return f"pinned {version.uri} ({version.model_id}){moved}"

    def unpin(self, commodity: str, model: str) -> str:
        """Remove the ``pinned`` alias of ``{commodity}_{model}``; what happened."""
        name = self._registered_name(commodity, model)
        pinned = self.client.aliases(name).get(PINNED_ALIAS)
        if pinned is None:
            return f"{name} has no pinned version; nothing changed"
        self.client.write(
            lambda mlflow: mlflow.delete_registered_model_alias(name, PINNED_ALIAS),
            f"unpin {name}",
        )
        return f"unpinned {version_uri(name, pinned)}: daily runs use the newest eligible version"

    def retire(self, commodity: str, model: str, ref: str, reason: str) -> str:
        """Tag version ``ref`` ``retired=true``; what happened.

        Raises:
            ConfigError: Bad reference (``find``), or the version is pinned (unpin first:
                a pin on a retired version would silently stop serving).
        """
        version = self.find(commodity, model, ref)
        if version.retired:
            return f"{version.uri} ({version.model_id}) is already retired; nothing changed"
        if PINNED_ALIAS in version.aliases:
            raise ConfigError(
                f"{version.uri} ({version.model_id}) is pinned; expected an unpinned version: "
                f"`forecast models unpin {commodity} {model}` first"
            )

        def tag(mlflow: MlflowClient) -> None:
            number = str(version.version)
            mlflow.set_model_version_tag(version.name, number, RETIRED_REASON_TAG, reason)
            mlflow.set_model_version_tag(version.name, number, RETIRED_TAG, RETIRED)

        self.client.write(tag, f"retire {version.uri}")
        return f"retired {version.uri} ({version.model_id}): {self._what_serves_instead(version)}"

    def _what_serves_instead(self, retired: RegisteredVersion) -> str:
        """What serves the dates ``retired`` served, now that it no longer does."""
        in_service = [
            v
            for v in self.versions(retired.commodity, retired.model_name)
            if v.model_version == retired.model_version and not v.retired and v != retired
        ]
        before = resolve_model(in_service, retired.training_date)
        if before is not None:
            return f"jobs fall back to the version before, {before.uri} ({before.model_id})"
        after = min(
            (v for v in in_service if v.training_date > retired.training_date),
            key=lambda v: (v.training_date, v.version),
            default=None,
        )
        fails = "fails this model (exit 1; the other models still run)"
        if after is not None:
            return (
                f"no version in service was trained before it, so nothing serves forecast "
                f"dates {retired.training_date}..{after.training_date - dt.timedelta(days=1)}"
                f" (a run for them {fails}); {after.uri} still serves from "
                f"{after.training_date}"
            )
        return (
            f"it was the only {retired.model_version} version in service, so nothing serves "
            f"{retired.name} now: the next daily run {fails} until `forecast models restore` "
            f"puts a version back or the cadence's next training date registers a new one"
        )

    def restore(self, commodity: str, model: str, ref: str) -> str:
        """Put retired version ``ref`` back in service; what happened."""
        version = self.find(commodity, model, ref)
        if not version.retired:
            return f"{version.uri} ({version.model_id}) is in service; nothing changed"

        def untag(mlflow: MlflowClient) -> None:
            number = str(version.version)
            mlflow.delete_model_version_tag(version.name, number, RETIRED_TAG)
            if RETIRED_REASON_TAG in version.tags:
                mlflow.delete_model_version_tag(version.name, number, RETIRED_REASON_TAG)

        self.client.write(untag, f"restore {version.uri}")
        return f"restored {version.uri} ({version.model_id}) to service"

    def promotable(self, commodity: str, model: str, version: int) -> RegisteredVersion:
        """Version ``version`` of ``{commodity}_{model}`` if it may become champion.

        Raises:
            ConfigError: It is not registered here, or is retired.
        """
        chosen = self.find(commodity, model, str(version))
        if chosen.retired:
            raise ConfigError(
                f"{chosen.uri} ({chosen.model_id}) has the best CRPS skill but is retired; "
                f"expected a version in service: restore it or evaluate another span"
            )
        return chosen

    def promote(self, commodity: str, model: str, version: int, evidence: dict[str, str]) -> str:
        """Make version ``version`` of ``{commodity}_{model}`` the commodity's champion.

        Points the ``champion`` alias at it, tags it ``champion_of=<commodity>`` plus
        ``evidence`` (``champion_*`` tags), and takes both off the previous champion of the
        commodity, whichever model it was. One search finds the champion:
        ``tag.champion_of = '<commodity>'``.

        Raises:
            ConfigError: The version is not registered, or is retired.
        """
        chosen = self.promotable(commodity, model, version)
        previous = [
            v
            for v in self.client.search(f"tag.{CHAMPION_OF_TAG} = '{commodity}'")
            if v.uri != chosen.uri
        ]

        def point(mlflow: MlflowClient) -> None:
            for old in previous:
                for tag in [t for t in old.tags if t.startswith(CHAMPION_TAG_PREFIX)]:
                    mlflow.delete_model_version_tag(old.name, str(old.version), tag)
                if CHAMPION_ALIAS in self.client.aliases(old.name):
                    mlflow.delete_registered_model_alias(old.name, CHAMPION_ALIAS)
            number = str(chosen.version)
            for key, value in evidence.items():
                mlflow.set_model_version_tag(chosen.name, number, key, value)
            mlflow.set_model_version_tag(chosen.name, number, CHAMPION_OF_TAG, commodity)
            mlflow.set_registered_model_alias(chosen.name, CHAMPION_ALIAS, number)

        self.client.write(point, f"promote {chosen.uri}")
        replaced = ", ".join(v.uri for v in previous)
        return f"{commodity} champion: {chosen.uri} ({chosen.model_id})" + (
            f", replacing {replaced}" if replaced else ""
        )

    # -- helpers ---------------------------------------------------------------------

    def _registered_name(self, commodity: str, model: str) -> str:
        """``{commodity}_{model}`` if it is registered here.

        Raises:
            ConfigError: Unknown model name, or nothing registered under that name.
        """
        name = registered_model_name(_checked_commodity(commodity), check_model_name(model))
        if not self.client.has_registered_model(name):
            known = sorted({v.name for v in self.client.search(_OURS)})
            raise ConfigError(
                f"no registered model {name} at {self.client.safe_uri}; expected one of: "
                f"{', '.join(known) or 'none (run `forecast daily` first)'}"
            )
        return name


def _checked_commodity(commodity: str) -> str:
    """``commodity`` if it can name a registered model (lower-case letters, digits, _)."""
    if not _COMMODITY_PATTERN.match(commodity):
        raise ConfigError(
            f"commodity {commodity!r} is not valid; expected a lower-case key like 'coffee'"
        )
    return commodity


def _quoted(text: str) -> str:
    """``text`` safe inside a single-quoted MLflow filter value."""
    if "'" in text:
        raise ConfigError(f"model id {text!r} is not valid; expected no quotes")
    return text
