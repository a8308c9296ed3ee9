"""Every option of the ``forecast`` command, defined once: name, type, default, env, help.

Defaults and choices come from ``forecast_core.names`` and ``forecast_core.config``, so
the CLI, the config and the docs agree. A command lists the options it takes; adding an
option is one definition here and one line in each command's list.

Every setting has an environment variable (``show_envvar``: ``--help`` shows it), named
here once. The options that say what one invocation does have none, so that a variable
left in a shell or a ConfigMap never changes them unseen: dates and ranges, filters of
what is shown, output files, ``--json`` and other flags, sizes of one backfill Job
(``tests/jobs/test_options.py`` holds the list). Names (commodities, models) are read
with one rule in every command: blanks dropped, lower case (``Coffee`` is ``coffee``),
checked as they are parsed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from forecast_core.config import (
    DEFAULT_FLUSH_ROWS,
    DEFAULT_HOME,
    DEFAULT_MAX_STALENESS_DAYS,
    StoreConfig,
)
from forecast_core.connect import check_reachable, parse_heap_size, parse_remote
from forecast_core.errors import ConfigError
from forecast_core.jars import check_s3_jars, default_jars_dir, jar_paths
from forecast_core.names import (
    ALL_COMMODITIES,
    DEFAULT_COMMODITY,
    DEFAULT_COVERAGE_80_BAND,
    DEFAULT_FREQUENCY,
    DEFAULT_MAX_PRICE_AGE_DAYS,
    DEFAULT_MIN_CRPS_SKILL,
    DEFAULT_MODEL_VERSION,
    DEFAULT_MODELS,
    DEFAULT_MONITOR_LOOKBACK_DAYS,
    DEFAULT_N_PATHS,
    DEFAULT_SPARK_MASTER,
    DEFAULT_TABLE_FORMAT,
    FREQUENCIES,
    MODELS,
    TABLE_FORMATS,
    parse_commodities,
    parse_commodity,
    parse_model_name,
    parse_model_names,
)
from forecast_core.s3 import S3Settings, is_s3
from jobs.common import EXIT_USAGE
from jobs.context import CommandStores

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

# The environment variables of the run settings (daily, backfill; the commodities and
# models of monitor, evaluate, report, plan and k8s backfill-job too).
COMMODITY_ENV = "FORECAST_COMMODITY"
MODELS_ENV = "FORECAST_MODELS"
TRAIN_FREQUENCY_ENV = "FORECAST_TRAIN_FREQUENCY"
MODEL_VERSION_ENV = "FORECAST_MODEL_VERSION"
N_PATHS_ENV = "FORECAST_N_PATHS"
SEED_ENV = "FORECAST_SEED"
MAX_STALENESS_DAYS_ENV = "FORECAST_MAX_STALENESS_DAYS"


class BadOptionValue(click.ClickException):
    """A value refused while the options are parsed: one line ``Error: ...``, exit 2.

    The same line and exit code as the ``ConfigError`` a command raises itself
    (``common.exit_on_setup_errors``), rather than click's usage block.
    """

    exit_code = EXIT_USAGE


def _parsed(parse: Callable[[str], str]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that gives ``parse(value)`` (None stays None); ConfigError -> exit 2."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            return parse(value)
        except ConfigError as error:
            raise BadOptionValue(str(error)) from None

    return callback


def _canonical_commodities(text: str) -> str:
    return ",".join(parse_commodities(text))


def _canonical_models(text: str) -> str:
    return ",".join(parse_model_names(text.split(",")))


def _checked_remote(text: str) -> str:
    parse_remote(text)
    return text


COMMODITY_ARGUMENT: Decorator = click.argument("commodity", callback=_parsed(parse_commodity))
"""COMMODITY of ``forecast models ...``: one key, lower-cased."""
MODEL_ARGUMENT: Decorator = click.argument("model", callback=_parsed(parse_model_name))
"""MODEL of ``forecast models ...``: a registered model name, lower-cased."""


class DateType(click.DateTime):
    """A ``YYYY-MM-DD`` option that gives a ``datetime.date`` (not a datetime)."""

    def __init__(self) -> None:
        super().__init__(formats=["%Y-%m-%d"])

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        return super().convert(value, param, ctx).date()


DATE = DateType()


def with_options(command: Callable[..., Any], options: list[Decorator]) -> Callable[..., Any]:
    """``command`` with click ``options``, listed in the order ``--help`` shows them."""
    for option in reversed(options):
        command = option(command)
    return command


def check_date_range(start: dt.date, end: dt.date) -> None:
    """Refuse ``--start`` after ``--end``.

    Raises:
        ConfigError: ``start`` is after ``end``.
    """
    if start > end:
        raise ConfigError(f"--start {start} is after --end {end}; expected start <= end")


# -- what to forecast ------------------------------------------------------------------


def commodity_filter(help: str = "Only this commodity (a key; case does not matter).") -> Decorator:
    """``--commodity`` that filters what a command shows (one key, lower-cased; no env var)."""
    return click.option("--commodity", default=None, help=help, callback=_parsed(parse_commodity))


def model_filter(help: str = "Only this model (naive, xgboost, ...).") -> Decorator:
    """``--model`` that filters what a command shows (a model name, lower-cased; no env var)."""
    return click.option("--model", default=None, help=help, callback=_parsed(parse_model_name))


def commodities(
    help: str = "Commodities: a key, a comma-separated list (coffee,sugar,cocoa) or "
    f"'{ALL_COMMODITIES}' (every commodity in the data).",
) -> Decorator:
    """``--commodity`` of the commands that run per commodity (one or more, or ``all``).

    The command receives the keys lower-cased and comma-joined (``Coffee, sugar`` gives
    ``coffee,sugar``).
    """
    return click.option(
        "--commodity",
        default=DEFAULT_COMMODITY,
        show_default=True,
        envvar=COMMODITY_ENV,
        show_envvar=True,
        callback=_parsed(_canonical_commodities),
        help=help,
    )


def models() -> Decorator:
    """``--models``: comma-separated registered model names (lower-cased, checked)."""
    return click.option(
        "--models",
        default=",".join(DEFAULT_MODELS),
        show_default=True,
        envvar=MODELS_ENV,
        show_envvar=True,
        callback=_parsed(_canonical_models),
        help=f"Comma-separated models: {', '.join(sorted(MODELS))}.",
    )


def train_frequency() -> Decorator:
    """``--train-frequency``: the retraining cadence."""
    return click.option(
        "--train-frequency",
        default=DEFAULT_FREQUENCY,
        show_default=True,
        envvar=TRAIN_FREQUENCY_ENV,
        show_envvar=True,
        help=f"Retraining cadence: {', '.join(FREQUENCIES)}.",
    )


def model_version(
    help: str = "Version label of the models (part of every key and model id): letters, "
    "digits, dots, dashes, underscores.",
) -> Decorator:
    """``--model-version``."""
    return click.option(
        "--model-version",
        default=DEFAULT_MODEL_VERSION,
        show_default=True,
        envvar=MODEL_VERSION_ENV,
        show_envvar=True,
        help=help,
    )


def start() -> Decorator:
    """``--start``: the first forecast date of a range."""
    return click.option(
        "--start", type=DATE, required=True, help="First forecast date (YYYY-MM-DD)."
    )


def end() -> Decorator:
    """``--end``: the last forecast date of a range."""
    return click.option("--end", type=DATE, required=True, help="Last forecast date (YYYY-MM-DD).")


def use_pins(default: bool) -> Decorator:
    """``--use-pins/--ignore-pins``: whether pinned versions (``forecast models pin``) serve."""
    return click.option(
        "--use-pins/--ignore-pins",
        default=default,
        show_default=True,
        help="Use each model's pinned version (`forecast models pin`) instead of the newest "
        "one trained on or before the date; a pin never serves dates before its training date.",
    )


def shard_count(default: int | None, help: str, envvar: str | None = None) -> Decorator:
    """``--shard-count``: how many shards a backfill's range is split into (at least 1).

    Its default and help differ by command (a backfill pod reads it from the Indexed
    Job's environment; ``plan`` and ``k8s backfill-job`` size one), its meaning does not.
    """
    return click.option(
        "--shard-count",
        type=click.IntRange(min=1),
        default=default,
        show_default=default is not None,
        envvar=envvar,
        show_envvar=envvar is not None,
        help=help,
    )


def as_json(help: str) -> Decorator:
    """``--json``: machine-readable output."""
    return click.option("--json", "as_json", is_flag=True, help=help)


RUN_OPTIONS: list[Decorator] = [
    commodities(),
    models(),
    train_frequency(),
    model_version(),
    click.option(
        "--n-paths",
        default=DEFAULT_N_PATHS,
        show_default=True,
        type=int,
        envvar=N_PATHS_ENV,
        show_envvar=True,
        help="Monte Carlo paths per forecast.",
    ),
    click.option(
        "--seed",
        default=0,
        show_default=True,
        type=int,
        envvar=SEED_ENV,
        show_envvar=True,
        help="Base random seed; paths are reproducible per (model, date).",
    ),
    click.option(
        "--max-staleness-days",
        default=DEFAULT_MAX_STALENESS_DAYS,
        show_default=True,
        type=int,
        envvar=MAX_STALENESS_DAYS_ENV,
        show_envvar=True,
        help="How many days the forecast date may be past the newest price.",
    ),
    click.option(
        "--flush-rows",
        default=DEFAULT_FLUSH_ROWS,
        show_default=True,
        type=click.IntRange(min=1),
        envvar="FORECAST_FLUSH_ROWS",
        show_envvar=True,
        help="Table rows buffered before one batched write.",
    ),
]
"""What ``daily`` and ``backfill`` run (with ``STORE_OPTIONS`` and ``DATA_OPTION``)."""


# -- where things are ------------------------------------------------------------------


@dataclass(frozen=True)
class StoreSettings:
    """The store options as given (one field per entry of ``STORE_OPTIONS``)."""

    home: Path
    tracking_uri: str | None
    table_location: str | None
    table_format: str
    spark_master: str
    spark_remote: str | None
    spark_jars: Path

    def config(self) -> StoreConfig:
        """The validated store settings (defaults under ``home``).

        Raises:
            ConfigError: A setting is not valid (an unknown table format, a jar folder
                without the Delta jars, or without the S3 jars for an ``s3a://`` table,
                a Spark Connect address not of the form ``sc://HOST:PORT``).
        """
        jars: tuple[str, ...] = ()
        if self.spark_remote is None:  # a Connect server brings its own jars
            jars = jar_paths(self.spark_jars, self.table_format)
            if is_s3(self.table_location):
                check_s3_jars(
                    self.spark_jars, dynamodb=S3Settings.from_env().dynamodb_table is not None
                )
        return StoreConfig.embedded(
            self.home,
            tracking_uri=self.tracking_uri,
            table_location=self.table_location,
            table_format=self.table_format,
            spark_master=self.spark_master,
            spark_remote=self.spark_remote,
            spark_jars=jars,
        )

    def open(self) -> CommandStores:
        """The command's stores (``config``'s checks first), each opened on first need.

        Also put on click's ``ctx.obj``. Raises as ``config``, and:

        Raises:
            ConfigError: The Spark Connect server of ``spark_remote`` does not accept a
                connection (checked here, before the command writes anything).
        """
        config = self.config()
        if config.spark_remote is not None:
            check_reachable(config.spark_remote)
        return CommandStores(config).register()


def store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with ``STORE_OPTIONS``, which it receives as one ``store: StoreSettings``."""
    names = [field.name for field in dataclasses.fields(StoreSettings)]

    @functools.wraps(command)
    def collected(*args: Any, **kwargs: Any) -> Any:
        store = StoreSettings(**{name: kwargs.pop(name) for name in names})
        return command(*args, store=store, **kwargs)

    return with_options(collected, STORE_OPTIONS)


HOME_OPTION: Decorator = click.option(
    "--home",
    envvar="FORECAST_HOME",
    show_envvar=True,
    default=DEFAULT_HOME,
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder of the embedded MLflow store and table.",
)
TRACKING_URI_OPTION: Decorator = click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    show_envvar=True,
    default=None,
    help="MLflow tracking URI; default: SQLite under --home.",
)

TABLE_FORMAT_OPTION: Decorator = click.option(
    "--table-format",
    envvar="FORECAST_TABLE_FORMAT",
    show_envvar=True,
    default=DEFAULT_TABLE_FORMAT,
    show_default=True,
    type=click.Choice(TABLE_FORMATS),
    help="Table format (delta needs the jars of --spark-jars).",
)
SPARK_MASTER_OPTION: Decorator = click.option(
    "--spark-master",
    envvar="FORECAST_SPARK_MASTER",
    show_envvar=True,
    default=DEFAULT_SPARK_MASTER,
    show_default=True,
    help="Spark master URL.",
)
SPARK_REMOTE_OPTION: Decorator = click.option(
    "--spark-remote",
    envvar="FORECAST_SPARK_REMOTE",
    show_envvar=True,
    default=None,
    metavar="sc://HOST:PORT",
    callback=_parsed(_checked_remote),
    help="Spark Connect server (`forecast connect-server`) to run Spark on, instead of a "
    "JVM in this process; --spark-master and --spark-jars are then the server's business.",
)
CONNECT_DRIVER_MEMORY_OPTION: Decorator = click.option(
    "--driver-memory",
    envvar="FORECAST_CONNECT_DRIVER_MEMORY",
    show_envvar=True,
    default="4g",
    show_default=True,
    metavar="SIZE",
    callback=_parsed(parse_heap_size),
    help="JVM heap of the server (spark-submit's --driver-memory). Each write's rows are held "
    "there while Spark writes them: a backfill's batch of --flush-rows 1,000,000 needs about "
    "4g; spark-submit's own 1g ran out at 480,000 rows.",
)
SPARK_JARS_OPTION: Decorator = click.option(
    "--spark-jars",
    envvar="FORECAST_SPARK_JARS",
    show_envvar=True,
    default=default_jars_dir(),
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder of the Spark jars (Delta Lake), filled by scripts/fetch_jars.py.",
)

STORE_OPTIONS: list[Decorator] = [
    HOME_OPTION,
    TRACKING_URI_OPTION,
    click.option(
        "--table",
        "table_location",
        envvar="FORECAST_TABLE",
        show_envvar=True,
        default=None,
        help="Distributions table path/URI or catalog name; default: under --home.",
    ),
    TABLE_FORMAT_OPTION,
    SPARK_MASTER_OPTION,
    SPARK_REMOTE_OPTION,
    SPARK_JARS_OPTION,
]
"""Where models and tables live, and the Spark session (``StoreSettings`` holds them)."""


def registry_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with ``--home`` and ``--tracking-uri``, received as one ``tracking_uri``.

    For commands that need the registry only (no table, no Spark). The embedded SQLite
    store must exist already: reading a registry never creates one.

    Raises:
        ConfigError: (when the command runs) The embedded store under ``--home`` does not
            exist.
    """

    @functools.wraps(command)
    def resolved(*args: Any, home: Path, tracking_uri: str | None, **kwargs: Any) -> Any:
        if tracking_uri is None and not (home / "mlflow.db").is_file():
            raise ConfigError(
                f"no MLflow store at {home.resolve() / 'mlflow.db'}; expected a --home that "
                f"a run has used, or --tracking-uri / MLFLOW_TRACKING_URI"
            )
        uri = StoreConfig.embedded(home, tracking_uri=tracking_uri).tracking_uri
        return command(*args, tracking_uri=uri, **kwargs)

    return with_options(resolved, [HOME_OPTION, TRACKING_URI_OPTION])


def data(help: str, required: bool = False) -> Decorator:
    """``--data`` (``FORECAST_DATA``): a string, as a URI must keep its ``//``."""
    return click.option(
        "--data",
        envvar="FORECAST_DATA",
        show_envvar=True,
        required=required,
        metavar="PATH|URI",
        help=help,
    )


DATA_OPTION: Decorator = data(
    "Data folder or prices file (CSV/Parquet), or the root of the prices and weather "
    "Delta tables (a folder or URI, e.g. s3a://bucket/inputs); default: bundled sample."
)
"""The user's data, or the bundled sample."""


def _rows_file(table: str, help: str) -> Decorator:
    return click.option(
        f"--{table}",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help=help,
    )


LOAD_OPTIONS: list[Decorator] = [
    _rows_file(
        "prices",
        "New or corrected prices (CSV/Parquet, the prices schema): merged by (commodity, date).",
    ),
    _rows_file(
        "weather",
        "New or corrected weather (CSV/Parquet, the weather schema): merged by (region, date).",
    ),
    data(
        "Root of the prices and weather Delta tables (a folder or URI, e.g. "
        "s3a://bucket/inputs); the tables are created on first load.",
        required=True,
    ),
]
"""What ``forecast data load`` takes: the files of new rows and the tables to merge into."""


# -- monitoring ------------------------------------------------------------------------


def _monitor_option(name: str, default: Any, kind: Any, help: str) -> Decorator:
    """A threshold of ``forecast monitor``, also read from ``FORECAST_MONITOR_<NAME>``."""
    envvar = "FORECAST_MONITOR_" + name.strip("-").replace("-", "_").upper()
    return click.option(
        name,
        default=default,
        show_default=True,
        type=kind,
        envvar=envvar,
        show_envvar=True,
        help=help,
    )


MONITOR_OPTIONS: list[Decorator] = [
    _monitor_option(
        "--lookback-days",
        DEFAULT_MONITOR_LOOKBACK_DAYS,
        click.IntRange(min=1),
        "Score the realized forecasts of the last N days.",
    ),
    _monitor_option(
        "--coverage-80-min",
        DEFAULT_COVERAGE_80_BAND[0],
        click.FloatRange(0.0, 1.0),
        "Lowest healthy coverage of the 80% interval.",
    ),
    _monitor_option(
        "--coverage-80-max",
        DEFAULT_COVERAGE_80_BAND[1],
        click.FloatRange(0.0, 1.0),
        "Highest healthy coverage of the 80% interval.",
    ),
    _monitor_option(
        "--min-crps-skill",
        DEFAULT_MIN_CRPS_SKILL,
        float,
        "Floor of CRPS skill against the random walk (0: as good as it).",
    ),
    _monitor_option(
        "--max-price-age-days",
        DEFAULT_MAX_PRICE_AGE_DAYS,
        click.IntRange(min=0),
        "How many days old the newest price may be.",
    ),
]
"""The thresholds of ``forecast monitor`` (``MonitorThresholds``)."""


def with_monitor_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with ``MONITOR_OPTIONS``."""
    return with_options(command, MONITOR_OPTIONS)
