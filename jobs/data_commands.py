"""``forecast data``: load new prices and weather into the Delta input tables."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import click

from forecast_core.errors import ConfigError
from jobs import options
from jobs.common import (
    EXIT_MODEL_FAILED,
    check_object_store,
    exit_on_setup_errors,
    fail,
    utc_today,
)


@click.group()
def data() -> None:
    """Feed the Delta tables of prices and weather that FORECAST_DATA can name."""


def _load_options(command: Callable[..., None]) -> Callable[..., None]:
    return options.with_options(command, options.LOAD_OPTIONS)


@data.command()
@_load_options
@exit_on_setup_errors
def load(prices: Path | None, weather: Path | None, data: str) -> None:
    """Validate new rows and merge them into the prices and weather tables of --data.

    Idempotent by key: (commodity, date) for prices, (region, date) for weather. A key
    already held with other values is updated (the old values stay in the table's
    history), a new key is inserted, a row equal to the one held changes nothing (the
    same file loaded twice commits nothing). A row dated after today (UTC), one key on
    two different rows of a file, or a bad schema is refused before any table changes.
    """
    from deltalake.exceptions import DeltaError

    from forecast_core.tables import inputs

    files = {name: path for name, path in (("prices", prices), ("weather", weather)) if path}
    if not files:
        raise ConfigError("no file to load; expected --prices FILE and/or --weather FILE")
    _check_target(data)
    check_object_store(data, engine="delta-rs")
    try:
        results = inputs.load_files(
            data, files, utc_today(), {"command": "data load", "host": socket.gethostname()}
        )
    except (DeltaError, OSError) as error:
        fail(f"load into {data} stopped: {error}", EXIT_MODEL_FAILED)
    for result in results:
        where = inputs.table_location(data, result.table)
        if result.inserted or result.updated:
            click.echo(
                f"{where}: {result.inserted} rows inserted, {result.updated} updated; "
                f"version {result.version}"
            )
        else:
            click.echo(f"{where}: unchanged (every row already held); version {result.version}")


def _check_target(target: str) -> None:
    """Refuse a --data that is a file, or a folder of data files, not of Delta tables."""
    from forecast_core.tables import inputs

    if inputs.is_table_root(target):
        return
    path = Path(target)
    if path.is_file() or (path.is_dir() and any(path.glob("prices.*"))):
        raise ConfigError(
            f"--data {target!r} holds data files, not Delta tables; expected a new or empty "
            f"folder, a folder of prices/ and weather/ Delta tables, or a URI"
        )
