"""``forecast models``: which registered versions serve, and taking them in or out of service.

A pin is the registered model's ``pinned`` MLflow alias (daily runs use it instead of the
newest version trained on or before the date; backfills only with ``--use-pins``); a
retirement is the version tag ``retired=true`` (jobs skip the version and fall back to
the one before). No Spark, no models: MLflow's client only. Exit codes: 0 done (or
nothing to change); 1 the registry failed; 2 bad input (nothing changed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from forecast_core.errors import ConfigError, RegistryError
from jobs import options
from jobs.common import EXIT_MODEL_FAILED, exit_on_setup_errors, fail, quiet_libraries

if TYPE_CHECKING:
    from forecast_core.registry.lifecycle import ModelLifecycle
    from forecast_core.registry.versions import RegisteredVersion

_COMMODITY = options.COMMODITY_ARGUMENT
_MODEL = options.MODEL_ARGUMENT
_VERSION = click.argument("version")


@click.group()
def models() -> None:
    """List registered model versions; pin, unpin, retire and restore them.

    COMMODITY and MODEL name the registered model (coffee naive -> coffee_naive; case
    does not matter); VERSION is its version number (3) or a model id
    (Coffee_Naive_2024-07-01_v1.0).
    """


@models.command(name="list")
@options.commodity_filter()
@options.model_filter()
@options.as_json("Print the versions as JSON.")
@exit_on_setup_errors
@options.registry_options
def list_versions(
    commodity: str | None, model: str | None, as_json: bool, tracking_uri: str
) -> None:
    """Every registered version: training date, status, aliases.

    JSON: [{"name", "version", "uri", "model_id", "commodity", "model_name",
    "model_version", "training_date", "data_cutoff_date", "status" ("in service" or
    "retired"), "aliases", "run_id", "description", "tags"}].
    """
    found = _lifecycle(tracking_uri).versions(commodity, model)
    if as_json:
        click.echo(json.dumps([v.to_dict() for v in found], indent=2))
        return
    click.echo(f"Registered model versions: {len(found)}")
    for line in _describe(found):
        click.echo(line)


@models.command()
@_COMMODITY
@_MODEL
@_VERSION
@options.as_json("Print the version as JSON (the format of `list --json`).")
@exit_on_setup_errors
@options.registry_options
def show(commodity: str, model: str, version: str, as_json: bool, tracking_uri: str) -> None:
    """One version: its status, aliases, tags and description."""
    found = _lifecycle(tracking_uri).find(commodity, model, version)
    if as_json:
        click.echo(json.dumps(found.to_dict(), indent=2))
        return
    click.echo(_describe([found])[0])
    click.echo(f"  run {found.run_id}")
    for key, value in found.tags.items():
        click.echo(f"  tag {key} = {value}")
    if found.description:
        click.echo("  description:")
        for line in found.description.splitlines():
            click.echo(f"    {line}")


@models.command()
@_COMMODITY
@_MODEL
@_VERSION
@exit_on_setup_errors
@options.registry_options
def pin(commodity: str, model: str, version: str, tracking_uri: str) -> None:
    """Make daily runs use VERSION (for dates on or after its training date)."""
    _change(tracking_uri, lambda lifecycle: lifecycle.pin(commodity, model, version))


@models.command()
@_COMMODITY
@_MODEL
@exit_on_setup_errors
@options.registry_options
def unpin(commodity: str, model: str, tracking_uri: str) -> None:
    """Remove the pin: daily runs use the newest eligible version again."""
    _change(tracking_uri, lambda lifecycle: lifecycle.unpin(commodity, model))


@models.command()
@_COMMODITY
@_MODEL
@_VERSION
@click.option("--reason", required=True, help="Why, for the version's retired_reason tag.")
@exit_on_setup_errors
@options.registry_options
def retire(commodity: str, model: str, version: str, reason: str, tracking_uri: str) -> None:
    """Take VERSION out of service: jobs fall back to the version before it.

    Forecasts it already wrote stay in the table (their model_uri names it). A model with
    no version left in service fails alone in the jobs, naming the retired versions.
    """
    if not reason.strip():
        raise ConfigError("--reason is empty; expected why the version is retired")
    _change(tracking_uri, lambda lifecycle: lifecycle.retire(commodity, model, version, reason))


@models.command()
@_COMMODITY
@_MODEL
@_VERSION
@exit_on_setup_errors
@options.registry_options
def restore(commodity: str, model: str, version: str, tracking_uri: str) -> None:
    """Put a retired VERSION back in service."""
    _change(tracking_uri, lambda lifecycle: lifecycle.restore(commodity, model, version))


def _lifecycle(tracking_uri: str) -> ModelLifecycle:
    quiet_libraries()
    from forecast_core.registry.lifecycle import ModelLifecycle

    return ModelLifecycle(tracking_uri)


def _change(tracking_uri: str, change: Callable[[ModelLifecycle], str]) -> None:
    """Run one change and print what it did; a registry failure after the checks is exit 1."""
    lifecycle = _lifecycle(tracking_uri)
    try:
        click.echo(change(lifecycle))
    except RegistryError as error:
        fail(str(error), EXIT_MODEL_FAILED)


def _describe(versions: list[RegisteredVersion]) -> list[str]:
    """One line per version, in columns as wide as their longest entry (model ids vary)."""
    uri_width = max((len(v.uri) for v in versions), default=0)
    id_width = max((len(v.model_id) for v in versions), default=0)
    lines = []
    for version in versions:
        aliases = f"  @{', @'.join(version.aliases)}" if version.aliases else ""
        lines.append(
            f"  {version.uri:<{uri_width}}  {version.model_id:<{id_width}}  trained "
            f"{version.training_date}  {version.status}{aliases}"
        )
    return lines
