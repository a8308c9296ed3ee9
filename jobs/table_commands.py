"""``forecast table``: maintenance and history of the distributions table (Delta)."""

from __future__ import annotations

import json

import click

from forecast_core.errors import TableError
from jobs import options
from jobs.common import (
    EXIT_MODEL_FAILED,
    check_object_store,
    exit_on_setup_errors,
    fail,
    quiet_libraries,
)

# Delta's own floor for VACUUM: a reader that started a week ago still finds its files.
MIN_RETAIN_HOURS = 168


@click.group()
def table() -> None:
    """Maintain the distributions table and read its history."""


@table.command()
@click.option(
    "--retain-hours",
    type=click.IntRange(min=MIN_RETAIN_HOURS),
    default=MIN_RETAIN_HOURS,
    show_default=True,
    envvar="FORECAST_RETAIN_HOURS",
    show_envvar=True,
    help="Delete only files unreferenced for this long (at least 7 days, so running "
    "readers and time travel within it keep working).",
)
@options.store_options
@exit_on_setup_errors
def optimize(retain_hours: int, store: options.StoreSettings) -> None:
    """Compact each partition's files into one, then vacuum unreferenced files.

    The table is partitioned by forecast, so a partition holds several files only when a
    write split a forecast (a table of the older commodity-and-model layout is also
    Z-ordered by forecast date). Safe while jobs run: compaction is one more Delta commit
    (a concurrent writer retries), and vacuum keeps every file a reader of the last
    --retain-hours may need.
    """
    quiet_libraries()
    opened = store.open()
    location = opened.config.table_location
    check_object_store(location)
    table = opened.distributions()
    table.check()
    try:
        result = table.optimize(retain_hours)
    except TableError as error:
        fail(str(error), EXIT_MODEL_FAILED)
    click.echo(
        f"Optimized {location}: {result['files_removed']} files compacted into "
        f"{result['files_added']}; files unreferenced for over {retain_hours} h vacuumed"
    )


@table.command()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@options.as_json("Print the commits as JSON.")
@options.store_options
@exit_on_setup_errors
def history(limit: int, as_json: bool, store: options.StoreSettings) -> None:
    """The table's commits, newest first: version, time, operation, rows, and the run.

    Read from the Delta log without Spark. JSON: [{"version", "timestamp", "operation",
    "predicate", "rows_written", "rows_removed", "files_added", "user_metadata"}].
    """
    stores = store.open()
    commits = stores.distributions().history(limit)
    if as_json:
        click.echo(json.dumps(commits, indent=2))
        return
    click.echo(f"Table {stores.config.table_location}: {len(commits)} commits shown")
    for commit in commits:
        click.echo(
            f"  v{commit['version']} {commit['timestamp']} {commit['operation']}: "
            f"rows +{commit['rows_written'] or 0} -{commit['rows_removed'] or 0}  "
            f"{commit['user_metadata'] or ''}"
        )
