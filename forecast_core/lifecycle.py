"""Model lifecycle on the MLflow registry: list, show, pin, unpin, retire, restore.

MLflow's own tools, no new state: a pin is the registered model's ``pinned`` alias (one
per registered model, which is one per commodity and model); a retirement is the version
tag ``retired=true`` (with ``retired_reason``), because a version can be out of service
whatever aliases point at it. The jobs read both through ``ModelRegistry.list_versions``
and choose with ``model_versions.choose_model``.

Light on purpose: only ``MlflowClient`` (no models, numpy, pandas or Spark), so the
``forecast models`` commands answer in about the time MLflow takes to import. Every check
runs before the one registry write a command makes: bad input changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from forecast_core.errors import ConfigError, RegistryError, first_line
from forecast_core.names import (
    CHAMPION_ALIAS,
    CHAMPION_OF_TAG,
    PINNED_ALIAS,
    RETIRED_REASON_TAG,
    RETIRED_TAG,
    check_model_name,
)
from forecast_core.redaction import redact_credentials
from forecast_core.tracking_server import check_tracking

_SEARCH_PAGE_SIZE = 1000
_COMMODITY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class VersionStatus:
    """One registered version as ``forecast models`` shows it."""

    name: str
    version: int
    model_id: str
    commodity: str
    model_name: str
    model_version: str
    training_date: str
    data_cutoff_date: str
    retired: bool
    aliases: tuple[str, ...]
    run_id: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        """The URI that loads this version (``models:/coffee_naive/3``)."""
        return f"models:/{self.name}/{self.version}"

    @property
    def status(self) -> str:
        """``retired`` or ``in service``."""
        return "retired" if self.retired else "in service"

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form of ``forecast models list/show --json``."""
        return {
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "model_id": self.model_id,
            "commodity": self.commodity,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "training_date": self.training_date,
            "data_cutoff_date": self.data_cutoff_date,
            "status": self.status,
            "aliases": list(self.aliases),
            "run_id": self.run_id,
            "description": self.description,
            "tags": self.tags,
        }


class ModelLifecycle:
    """Reads and changes the service state of this project's registered model versions.

    Args:
        tracking_uri: MLflow tracking (and registry) URI.

    Raises:
        RegistryError: The URI is a database this MLflow cannot open, or a server that
            does not answer.
    """

    def __init__(self, tracking_uri: str) -> None:
        check_tracking(tracking_uri)
        self.safe_uri = redact_credentials(tracking_uri)
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    # -- reading ---------------------------------------------------------------------

    def versions(
        self, commodity: str | None = None, model: str | None = None
    ) -> list[VersionStatus]:
        """Every version of this project's registered models (of a commodity, of a model)."""
        clauses = ["tag.model_id != ''"]
        if commodity:
            clauses.append(f"tag.commodity = '{_checked_commodity(commodity)}'")
        if model:
            clauses.append(f"tag.model_name = '{check_model_name(model)}'")
        found = self._search(" and ".join(clauses))
        aliases = {name: self._aliases(name) for name in {v.name for v in found}}
        statuses = [_status(v, aliases[v.name]) for v in found]
        return sorted(statuses, key=lambda s: (s.name, s.version))

    def find(self, commodity: str, model: str, ref: str) -> VersionStatus:
        """The version ``ref`` (a version number or a model id) of ``{commodity}_{model}``.

        Raises:
            ConfigError: Unknown model, no such registered model or version, or a model id
                of another commodity or model.
        """
        name = self._registered_name(commodity, model)
        if ref.isdigit():
            try:
                version = self.client.get_model_version(name, ref)
            except MlflowException as error:
                if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise RegistryError(
                        f"cannot read {name} version {ref} at {self.safe_uri}: {first_line(error)}"
                    ) from error
                numbers = ", ".join(str(v.version) for v in self.versions(commodity, model))
                raise ConfigError(
                    f"{name} has no version {ref}; expected one of: {numbers or 'none'}"
                ) from None
            return _status(version, self._aliases(name))
        matches = self._search(f"tag.model_id = '{_quoted(ref)}'")
        if not matches:
            raise ConfigError(
                f"no registered version has model id {ref!r}; expected a version number "
                f"or a model id like 'Coffee_Naive_2024-07-01_v1.0' (`forecast models list`)"
            )
        version = min(matches, key=lambda v: int(v.version))
        if version.name != name:
            raise ConfigError(
                f"{ref} is {version.name} version {version.version}, not a version of {name}; "
                f"expected a {commodity} {model} model"
            )
        return _status(version, self._aliases(name))

    def champion(self, commodity: str) -> VersionStatus | None:
        """The commodity's champion: the one version tagged ``champion_of=<commodity>``."""
        found = self._search(f"tag.{CHAMPION_OF_TAG} = '{_checked_commodity(commodity)}'")
        if not found:
            return None
        version = max(found, key=lambda v: int(v.version))
        return _status(version, self._aliases(version.name))

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
        previous = self._aliases(version.name).get(PINNED_ALIAS)
        self._write(
            lambda: self.client.set_registered_model_alias(
                version.name, PINNED_ALIAS, str(version.version)
            ),
            f"pin {version.uri}",
        )
        moved = f" (was version {previous})" if previous is not None else ""
        return f"pinned {version.uri} ({version.model_id}){moved}"

    def unpin(self, commodity: str, model: str) -> str:
        """Remove the ``pinned`` alias of ``{commodity}_{model}``; what happened."""
        name = self._registered_name(commodity, model)
        pinned = self._aliases(name).get(PINNED_ALIAS)
        if pinned is None:
            return f"{name} has no pinned version; nothing changed"
        self._write(
            lambda: self.client.delete_registered_model_alias(name, PINNED_ALIAS),
            f"unpin {name}",
        )
        return f"unpinned models:/{name}/{pinned}: daily runs use the newest eligible version"

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

        def tag() -> None:
            self.client.set_model_version_tag(
                version.name, str(version.version), RETIRED_REASON_TAG, reason
            )
            self.client.set_model_version_tag(
                version.name, str(version.version), RETIRED_TAG, "true"
            )

        self._write(tag, f"retire {version.uri}")
        return f"retired {version.uri} ({version.model_id}): jobs fall back to the version before"

    def restore(self, commodity: str, model: str, ref: str) -> str:
        """Put retired version ``ref`` back in service; what happened."""
        version = self.find(commodity, model, ref)
        if not version.retired:
            return f"{version.uri} ({version.model_id}) is in service; nothing changed"

        def untag() -> None:
            self.client.delete_model_version_tag(version.name, str(version.version), RETIRED_TAG)
            if RETIRED_REASON_TAG in version.tags:
                self.client.delete_model_version_tag(
                    version.name, str(version.version), RETIRED_REASON_TAG
                )

        self._write(untag, f"restore {version.uri}")
        return f"restored {version.uri} ({version.model_id}) to service"

    def promotable(self, commodity: str, model: str, version: int) -> VersionStatus:
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
            for v in self._search(f"tag.{CHAMPION_OF_TAG} = '{commodity}'")
            if v.name != chosen.name or int(v.version) != chosen.version
        ]

        def point() -> None:
            for old in previous:
                for tag in [t for t in old.tags if t.startswith("champion")]:
                    self.client.delete_model_version_tag(old.name, old.version, tag)
                if CHAMPION_ALIAS in self.client.get_registered_model(old.name).aliases:
                    self.client.delete_registered_model_alias(old.name, CHAMPION_ALIAS)
            for key, value in evidence.items():
                self.client.set_model_version_tag(chosen.name, str(chosen.version), key, value)
            self.client.set_model_version_tag(
                chosen.name, str(chosen.version), CHAMPION_OF_TAG, commodity
            )
            self.client.set_registered_model_alias(chosen.name, CHAMPION_ALIAS, str(chosen.version))

        self._write(point, f"promote {chosen.uri}")
        replaced = ", ".join(f"models:/{v.name}/{v.version}" for v in previous)
        return f"{commodity} champion: {chosen.uri} ({chosen.model_id})" + (
            f", replacing {replaced}" if replaced else ""
        )

    # -- helpers ---------------------------------------------------------------------

    def _registered_name(self, commodity: str, model: str) -> str:
        """``{commodity}_{model}`` if it is registered here.

        Raises:
            ConfigError: Unknown model name, or nothing registered under that name.
        """
        name = f"{_checked_commodity(commodity)}_{check_model_name(model)}"
        try:
            self.client.get_registered_model(name)
        except MlflowException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise RegistryError(
                    f"cannot read registered model {name} at {self.safe_uri}: {first_line(error)}"
                ) from error
            known = sorted({v.name for v in self._search("tag.model_id != ''")})
            raise ConfigError(
                f"no registered model {name} at {self.safe_uri}; expected one of: "
                f"{', '.join(known) or 'none (run `forecast daily` first)'}"
            ) from None
        return name

    def _aliases(self, name: str) -> dict[str, int]:
        try:
            aliases = self.client.get_registered_model(name).aliases
        except MlflowException as error:
            raise RegistryError(
                f"cannot read the aliases of {name} at {self.safe_uri}: {first_line(error)}"
            ) from error
        return {alias: int(number) for alias, number in aliases.items()}

    def _search(self, query: str) -> list[Any]:
        return search_versions(self.client, query, self.safe_uri)

    def _write(self, change: Any, what: str) -> None:
        try:
            change()
        except MlflowException as error:
            raise RegistryError(f"cannot {what} at {self.safe_uri}: {first_line(error)}") from error


def search_versions(client: MlflowClient, query: str, safe_uri: str) -> list[Any]:
    """All model versions matching ``query``, following pages.

    Raises:
        RegistryError: MLflow refused the search (``safe_uri`` names the registry).
    """
    found: list[Any] = []
    page_token = None
    try:
        while True:
            page = client.search_model_versions(
                query, max_results=_SEARCH_PAGE_SIZE, page_token=page_token
            )
            found.extend(page)
            page_token = page.token
            if not page_token:
                return found
    except MlflowException as error:
        raise RegistryError(
            f"cannot search model versions ({query}) at {safe_uri}: {first_line(error)}"
        ) from error


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


def _status(version: Any, aliases: dict[str, int]) -> VersionStatus:
    tags = dict(sorted(version.tags.items()))
    number = int(version.version)
    return VersionStatus(
        name=version.name,
        version=number,
        model_id=tags.get("model_id", ""),
        commodity=tags.get("commodity", ""),
        model_name=tags.get("model_name", ""),
        model_version=tags.get("model_version", ""),
        training_date=tags.get("training_date", ""),
        data_cutoff_date=tags.get("data_cutoff_date", ""),
        retired=tags.get(RETIRED_TAG) == "true",
        aliases=tuple(sorted(a for a, n in aliases.items() if n == number)),
        run_id=version.run_id or "",
        description=version.description or "",
        tags=tags,
    )
