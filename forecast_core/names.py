"""The names and choices users type, their defaults, and their validation.

Imports nothing heavy (no numpy, pandas, Spark, MLflow or model libraries), so the CLI
can build its options and check names without loading them. Models are named here as
``module:Class``; ``models.registry`` imports a model only when one is built.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from forecast_core.errors import ConfigError

# Adding a model is one file and one line here; the contract suite runs over every name.
# Calibrating a registered model is one line: "<model>_cal": f"{CALIBRATED}<model>", and
# its adaptive calibration another: "<model>_acal": f"{ADAPTIVE}<model>".
CALIBRATED = "forecast_core.models.calibration:Calibrated_"
ADAPTIVE = "forecast_core.models.adaptive:AdaptiveCalibrated_"
MODELS: dict[str, str] = {
    "naive": "forecast_core.models.naive:NaiveForecaster",
    "random_walk": "forecast_core.models.random_walk:RandomWalkForecaster",
    "sarimax": "forecast_core.models.sarimax:SarimaxForecaster",
    "xgboost": "forecast_core.models.xgboost_model:XGBoostForecaster",
    "naive_cal": f"{CALIBRATED}naive",
    "sarimax_cal": f"{CALIBRATED}sarimax",
    "xgboost_cal": f"{CALIBRATED}xgboost",
    "naive_acal": f"{ADAPTIVE}naive",
    "sarimax_acal": f"{ADAPTIVE}sarimax",
    "xgboost_acal": f"{ADAPTIVE}xgboost",
    "ensemble": "forecast_core.models.ensemble:EnsembleForecaster",
}
# The models a run trains when none is named: the four base models.
DEFAULT_MODELS: tuple[str, ...] = ("naive", "random_walk", "sarimax", "xgboost")
DEFAULT_COMMODITY = "coffee"
ALL_COMMODITIES = "all"  # every commodity with prices in the data

FREQUENCIES: tuple[str, ...] = (
    "daily",
    "weekly",
    "biweekly",
    "monthly",
    "quarterly",
    "semiannually",
    "annually",
)
DEFAULT_FREQUENCY = "semiannually"

# A model version labels registry versions, MLflow model names and table folders, and is
# matched in folder globs: letters, digits, dots, dashes and underscores only.
MODEL_VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
DEFAULT_MODEL_VERSION = "v1.0"

TABLE_FORMATS: tuple[str, ...] = ("delta", "parquet")
DEFAULT_TABLE_FORMAT = "delta"
DEFAULT_SPARK_MASTER = "local[2]"

# Tables on s3a://: the endpoint and region use AWS's own variable names (boto3, the AWS SDK
# for Java v2, delta-rs and Delta's DynamoDB LogStore all read them); credentials come only
# from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (or the pod's role).
S3_ENDPOINT_ENV = "AWS_ENDPOINT_URL"
S3_REGION_ENV = "AWS_REGION"
DEFAULT_S3_REGION = "us-east-1"
# The DynamoDB table of Delta's S3 multi-cluster LogStore; unset: one writer at a time.
DYNAMODB_TABLE_ENV = "FORECAST_DYNAMODB_TABLE"
# Seconds one S3 call may wait for an answer (S3A, delta-rs, the check before a run); a
# store that stops answering fails the run after a few such waits.
S3_TIMEOUT_ENV = "FORECAST_S3_TIMEOUT"
DEFAULT_S3_TIMEOUT_SECONDS = 10
S3A_SCHEME = "s3a://"

# forecast monitor's thresholds (evaluation.compute.monitoring.MonitorThresholds).
DEFAULT_MONITOR_LOOKBACK_DAYS = 56  # 8 weeks of forecast dates
DEFAULT_COVERAGE_80_BAND = (0.65, 0.95)
DEFAULT_MIN_CRPS_SKILL = -0.10
DEFAULT_MAX_PRICE_AGE_DAYS = 5

HORIZON_DAYS = 14  # day 1 is the forecast date, day 14 thirteen calendar days later
DEFAULT_N_PATHS = 2000


def parse_model_names(names: Iterable[str]) -> tuple[str, ...]:
    """Validate and de-duplicate model names, keeping their order.

    Raises:
        ConfigError: No name, or a name not in ``MODELS`` (the message lists the valid ones).
    """
    cleaned = tuple(dict.fromkeys(name.strip().lower() for name in names if name.strip()))
    if not cleaned:
        raise ConfigError(f"no model given; expected one or more of: {', '.join(sorted(MODELS))}")
    for name in cleaned:
        check_model_name(name)
    return cleaned


def check_model_name(name: str) -> str:
    """``name`` if a model is registered under it.

    Raises:
        ConfigError: ``name`` is not registered (the message suggests the nearest name and
            lists the valid ones).
    """
    if name not in MODELS:
        raise ConfigError(
            f"unknown model {name!r}{did_you_mean(name, MODELS)}; expected one of: "
            f"{', '.join(sorted(MODELS))}"
        )
    return name


def parse_model_name(text: str) -> str:
    """One model name as typed: surrounding blanks dropped, lower case, registered.

    Raises:
        ConfigError: Not a registered model (``check_model_name``).
    """
    return check_model_name(text.strip().lower())


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the choice nearest to ``name``, or ``""`` if none is near.

    Near is ``difflib``'s ratio of at least 0.6 (its default): ``xgbost`` finds
    ``xgboost``, ``gold`` finds nothing among coffee, sugar and cocoa.
    """
    nearest = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {nearest[0]!r}?)" if nearest else ""


def check_model_version(version: str) -> str:
    """``version`` if it is a valid model version label.

    Raises:
        ConfigError: ``version`` has characters outside ``MODEL_VERSION_PATTERN``.
    """
    if not isinstance(version, str) or not re.match(MODEL_VERSION_PATTERN, version):
        raise ConfigError(
            f"model version {version!r} is not valid; expected letters, digits, "
            f"dots, dashes or underscores, like 'v1.0'"
        )
    return version


def is_catalog_table(location: str) -> bool:
    """Whether a table location names a catalog table (``db.distributions``), not a path/URI."""
    return "/" not in location and ":" not in location


def parse_commodities(text: str) -> tuple[str, ...]:
    """Comma-separated commodity keys, lower case and de-duplicated, or ``("all",)``.

    ``Coffee,SUGAR`` is ``("coffee", "sugar")``: the rule of ``parse_commodity`` per key.

    Raises:
        ConfigError: No name, a malformed key, or ``all`` beside other names.
    """
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    if not names:
        raise ConfigError(
            f"no commodity given in {text!r}; expected keys like coffee,sugar or "
            f"{ALL_COMMODITIES!r}"
        )
    if ALL_COMMODITIES in names and len(names) > 1:
        raise ConfigError(
            f"commodities {text!r} mix {ALL_COMMODITIES!r} with names; expected "
            f"{ALL_COMMODITIES!r} alone or a list of keys"
        )
    for name in names:
        check_commodity_key(name)
    return names


def parse_commodity(text: str) -> str:
    """One commodity key as typed: surrounding blanks dropped, lower case, well formed.

    The rule of every ``--commodity`` and COMMODITY: ``Coffee`` is ``coffee``.

    Raises:
        ConfigError: A malformed key (``check_commodity_key``).
    """
    return check_commodity_key(text.strip().lower())


def check_commodity_key(name: str) -> str:
    """``name`` if it is a well-formed commodity key (lower-case letters, digits, ``_``).

    Raises:
        ConfigError: It is not.
    """
    if not re.match(r"^[a-z][a-z0-9_]*$", name):
        raise ConfigError(
            f"commodity {name!r} is not valid; expected a lower-case key like 'coffee'"
        )
    return name


def resolve_commodities(names: tuple[str, ...], available: Iterable[str]) -> tuple[str, ...]:
    """``names`` checked against the commodities of the data; ``all`` becomes every one.

    Raises:
        ConfigError: A name the data has no prices for (the message lists the known ones).
    """
    known = sorted(available)
    if names == (ALL_COMMODITIES,):
        return tuple(known)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"unknown commodity {unknown[0]!r}{did_you_mean(unknown[0], known)}; expected one "
            f"of: {', '.join(known)} (or {ALL_COMMODITIES!r})"
        )
    return names
