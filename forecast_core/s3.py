"""Tables on ``s3a://``: settings from the environment, for Spark (S3A, Delta's LogStore),
for delta-rs, and a cheap check of bucket, credentials, conditional writes and DynamoDB
table before Spark.

Commits stay safe with many writers (pods, clusters) on one table because each new log
entry is created with S3's put-if-absent (``PutObject`` with ``If-None-Match: *``): by the
project's LogStore (``jvm/``, the Spark default for ``s3a://``) and by delta-rs (its only
way on S3). A store that ignores the header would let two writers of one version both
"win", so ``preflight`` refuses it. Delta's DynamoDB LogStore stays an option for Spark.

Credentials are never read here, set in a configuration or printed: S3A, delta-rs, boto3
and the DynamoDB LogStore each take them from the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) or the pod's role, by their own default
chains.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from forecast_core.errors import ConfigError, TableError
from forecast_core.names import (
    DEFAULT_S3_REGION,
    DEFAULT_S3_TIMEOUT_SECONDS,
    DYNAMODB_TABLE_ENV,
    S3_ENDPOINT_ENV,
    S3_REGION_ENV,
    S3_TIMEOUT_ENV,
    S3A_SCHEME,
)

if TYPE_CHECKING:
    import pyarrow.fs as pafs

# Bounded: an unreachable store fails the run after a few attempts (exit 1), not after
# S3A's defaults (minutes of retries per call). S3A retries a failed call itself, with
# backoff, so the SDK under it does not retry too: 3 SDK tries inside 3 S3A tries made a
# paused store fail a run after 267 s (tests/s3/test_s3_outage.py). Each call waits at
# most ``S3Settings.timeout_seconds`` (FORECAST_S3_TIMEOUT) for an answer.
_S3A_ATTEMPTS = "3"
_S3A_SDK_RETRIES = "0"
# The project's LogStore (jvm/, jar forecast_core.jars.LOGSTORE_JAR): commits by S3A's
# conditional create. Delta's DynamoDB one is used instead when a DynamoDB table is set.
CONDITIONAL_LOGSTORE = "commodityforecast.delta.S3ConditionalLogStore"
DYNAMODB_LOGSTORE = "io.delta.storage.S3DynamoDBLogStore"
_DYNAMODB_CONF = f"spark.io.delta.storage.{DYNAMODB_LOGSTORE.rsplit('.', 1)[1]}"
_PROBE_PREFIX = ".forecast-conditional-put-probe-"
# Who commits to a table: Spark (through a LogStore) or delta-rs (conditional put only).
Engine = Literal["spark", "delta-rs"]


def is_s3(location: str | None) -> bool:
    """Whether a table location is on S3 (``s3a://``)."""
    return bool(location) and str(location).startswith(S3A_SCHEME)


@dataclass(frozen=True)
class S3Settings:
    """Where the S3 (and DynamoDB) API is: endpoint (None: AWS), region, LogStore table,
    and how long one call waits for an answer."""

    endpoint: str | None
    region: str
    dynamodb_table: str | None
    timeout_seconds: int = DEFAULT_S3_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Settings:
        """The settings of ``environ`` (default: the process's environment).

        Raises:
            ConfigError: The endpoint is not an http(s) URL, or the timeout not a whole
                number of seconds of at least 1.
        """
        env = os.environ if environ is None else environ
        endpoint = env.get(S3_ENDPOINT_ENV) or None
        if endpoint is not None:
            parsed = urlparse(endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ConfigError(
                    f"{S3_ENDPOINT_ENV} {endpoint!r} is not valid; expected an http(s) URL "
                    "like http://127.0.0.1:9000"
                )
        return cls(
            endpoint=endpoint,
            region=env.get(S3_REGION_ENV) or env.get("AWS_DEFAULT_REGION") or DEFAULT_S3_REGION,
            dynamodb_table=env.get(DYNAMODB_TABLE_ENV) or None,
            timeout_seconds=_timeout_seconds(env.get(S3_TIMEOUT_ENV) or None),
        )

    @property
    def _timeout(self) -> str:
        return f"{self.timeout_seconds}s"

    def spark_conf(self) -> dict[str, str]:
        """Spark settings of S3A and of Delta's LogStore for ``s3a://``: the project's
        conditional-put LogStore, or with a DynamoDB table Delta's DynamoDB LogStore.

        No credential: S3A's default provider chain reads the environment.
        """
        conf = {
            "spark.hadoop.fs.s3a.endpoint.region": self.region,
            "spark.hadoop.fs.s3a.attempts.maximum": _S3A_SDK_RETRIES,
            "spark.hadoop.fs.s3a.retry.limit": _S3A_ATTEMPTS,
            "spark.hadoop.fs.s3a.connection.establish.timeout": self._timeout,
            "spark.hadoop.fs.s3a.connection.timeout": self._timeout,
            # Uploads buffer in memory: the disk buffer needs Hadoop's checksummed local
            # file system, which the session replaces by the raw one (forecast_core.spark).
            "spark.hadoop.fs.s3a.fast.upload.buffer": "bytebuffer",
        }
        if self.endpoint:
            # An endpoint of one's own (MinIO, a test server) names buckets in the path.
            conf["spark.hadoop.fs.s3a.endpoint"] = self.endpoint
            conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        if self.dynamodb_table:
            # The LogStore's DynamoDB client takes the endpoint from AWS_ENDPOINT_URL.
            conf["spark.delta.logStore.s3a.impl"] = DYNAMODB_LOGSTORE
            conf[f"{_DYNAMODB_CONF}.ddb.tableName"] = self.dynamodb_table
            conf[f"{_DYNAMODB_CONF}.ddb.region"] = self.region
        else:
            conf["spark.delta.logStore.s3a.impl"] = CONDITIONAL_LOGSTORE
            # S3A's switch for If-None-Match (true by default): set, so that a site
            # configuration cannot turn it off; the LogStore refuses to commit without it.
            conf["spark.hadoop.fs.s3a.create.conditional.enabled"] = "true"
        return conf

    def relies_on_conditional_put(self, engine: Engine) -> bool:
        """Whether ``engine``'s commits are safe only if the store honours
        ``If-None-Match``: delta-rs always (1.6 has no other way on S3; it ignores a
        DynamoDB locking provider), Spark unless Delta's DynamoDB LogStore is set."""
        return engine == "delta-rs" or self.dynamodb_table is None

    def storage_options(self) -> dict[str, str]:
        """delta-rs (object_store) options for the same S3: endpoint, region, path style,
        bounded retries (its defaults retry for 3 minutes), and commits by conditional put.

        delta-rs 1.6 writes each log entry with ``If-None-Match: *`` (measured against
        moto, two writers of one version: one 412 each time; a losing append is retried at
        the next version, a losing MERGE fails with CommitFailedError, nothing is lost);
        with conditional put disabled it refuses to write rather than rename unsafely. It
        is named here so that no other default can take its place.
        """
        options = {
            "conditional_put": "etag",
            "AWS_REGION": self.region,
            "timeout": self._timeout,
            "connect_timeout": self._timeout,
            "max_retries": _S3A_ATTEMPTS,
            "retry_timeout": f"{int(_S3A_ATTEMPTS) * self.timeout_seconds}s",
        }
        if self.endpoint:
            options["AWS_ENDPOINT_URL"] = self.endpoint
            options["AWS_ALLOW_HTTP"] = str(self.endpoint.startswith("http://")).lower()
            options["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false"
        return options

    def arrow_filesystem(self) -> pafs.S3FileSystem:
        """A pyarrow file system for the same S3 (a write's staged rows): endpoint,
        region, timeouts and attempts as S3A's; credentials from AWS's default chain."""
        import pyarrow.fs as pafs  # only a write that stages its rows on S3 needs it

        return pafs.S3FileSystem(
            region=self.region,
            endpoint_override=self.endpoint,
            connect_timeout=self.timeout_seconds,
            request_timeout=self.timeout_seconds,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=int(_S3A_ATTEMPTS)),
            allow_delayed_open=True,
        )


def _timeout_seconds(value: str | None) -> int:
    """``FORECAST_S3_TIMEOUT``'s seconds (unset: the default).

    Raises:
        ConfigError: Not a whole number of seconds of at least 1.
    """
    if value is None:
        return DEFAULT_S3_TIMEOUT_SECONDS
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"{S3_TIMEOUT_ENV} {value!r} is not valid; expected a whole number of seconds, "
            f"at least 1 (default {DEFAULT_S3_TIMEOUT_SECONDS})"
        )
    return int(value)


def delta_rs_uri(location: str) -> str:
    """The URI delta-rs opens for a table location: ``s3a://`` becomes ``s3://``."""
    return "s3://" + location[len(S3A_SCHEME) :] if is_s3(location) else location


def storage_options(location: str) -> dict[str, str] | None:
    """delta-rs storage options for a table location: S3's from the environment, else None."""
    return S3Settings.from_env().storage_options() if is_s3(location) else None


def bucket_of(location: str) -> str:
    """The bucket of an ``s3a://bucket/path`` location."""
    return urlparse(location).netloc


def preflight(location: str, settings: S3Settings, engine: Engine = "spark") -> None:
    """Check, before anything is written, that the bucket answers to these credentials,
    that the store refuses a second conditional put where ``engine``'s commits rely on it,
    and that the DynamoDB table (if set) exists, so that a bad setting writes nothing.

    Raises:
        ConfigError: Access denied, no such bucket, a store without conditional writes, no
            such DynamoDB table (one line each).
        TableError: The store could not be reached after bounded retries.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = bucket_of(location)
    config = Config(
        retries={"max_attempts": int(_S3A_ATTEMPTS), "mode": "standard"},
        connect_timeout=settings.timeout_seconds,
        read_timeout=settings.timeout_seconds,
    )
    session = boto3.session.Session(region_name=settings.region)
    s3 = session.client("s3", endpoint_url=settings.endpoint, config=config)
    try:
        s3.head_bucket(Bucket=bucket)
        if settings.relies_on_conditional_put(engine):
            _check_conditional_put(s3, location, settings, engine)
    except ClientError as error:
        status = _error_code(error)
        if status in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise ConfigError(
                f"S3 bucket {bucket!r}: access denied; expected credentials allowed to list, "
                f"read and write it (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the pod's role)"
            ) from None
        if status in ("404", "NoSuchBucket"):
            raise ConfigError(
                f"S3 bucket {bucket!r} does not exist; expected it to be created before the "
                "first run"
            ) from None
        raise TableError(f"S3 bucket {bucket!r} did not answer: {status}") from None
    except BotoCoreError as error:
        raise TableError(f"S3 at {settings.endpoint or 'AWS'} not reachable: {error}") from None
    if settings.dynamodb_table:
        _check_dynamodb_table(session, settings, config)


def _check_conditional_put(s3: Any, location: str, settings: S3Settings, engine: Engine) -> None:
    """Put a scratch key in the table's folder (hidden: a dot name) twice with
    ``If-None-Match: *``, then delete it: the second put must be refused (412, or 409 for a
    concurrent one).

    Raises:
        ConfigError: The store accepted the second put, or does not take the header.
        botocore's ClientError: Any other answer (access denied, ...), for the caller.
    """
    from botocore.exceptions import ClientError

    bucket = bucket_of(location)
    prefix = urlparse(location).path.strip("/")
    key = f"{prefix}/{_PROBE_PREFIX}{uuid.uuid4().hex}".lstrip("/")
    where = settings.endpoint or "AWS S3"

    def put_if_absent() -> bool:
        """True if the store created the key, False if it refused as already there."""
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=b"", IfNoneMatch="*")
        except ClientError as error:
            code = _error_code(error)
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            if code in ("NotImplemented", "501", "InvalidArgument", "InvalidRequest"):
                raise _no_conditional_writes(
                    where, engine, f"PutObject with If-None-Match: * is not supported ({code})"
                ) from None
            raise
        return True

    try:
        put_if_absent()  # refused only if this was a retry of itself after a lost answer
        if put_if_absent():
            raise _no_conditional_writes(
                where,
                engine,
                f"a second PutObject with If-None-Match: * of one key under "
                f"s3://{bucket}/{prefix} was accepted",
            )
    finally:
        s3.delete_object(Bucket=bucket, Key=key)


def _no_conditional_writes(where: str, engine: Engine, what: str) -> ConfigError:
    ways_out = (
        "expected a store that refuses it with HTTP 412 (as AWS S3 does); delta-rs has no "
        "other safe way to commit on S3"
        if engine == "delta-rs"
        else "expected a store that refuses it with HTTP 412 (as AWS S3 does), or Delta's "
        f"DynamoDB LogStore ({DYNAMODB_TABLE_ENV} set and its jar added)"
    )
    return ConfigError(
        f"S3 at {where} lacks conditional writes: {what}, so concurrent commits could "
        f"overwrite each other; {ways_out}"
    )


def _error_code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _check_dynamodb_table(session: object, settings: S3Settings, config: object) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    table = settings.dynamodb_table
    dynamodb = session.client(  # type: ignore[attr-defined]
        "dynamodb", endpoint_url=settings.endpoint, config=config
    )
    try:
        dynamodb.describe_table(TableName=table)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code == "ResourceNotFoundException":
            raise ConfigError(
                f"DynamoDB table {table!r} ({DYNAMODB_TABLE_ENV}) does not exist in "
                f"{settings.region}; expected it created with the keys tablePath (HASH, string) "
                "and fileName (RANGE, string)"
            ) from None
        if "AccessDenied" in code or code in ("UnrecognizedClientException",):
            raise ConfigError(
                f"DynamoDB table {table!r}: access denied; expected credentials allowed to "
                "read and write it"
            ) from None
        raise TableError(f"DynamoDB table {table!r} did not answer: {code}") from None
    except BotoCoreError as error:
        where = settings.endpoint or "AWS"
        raise TableError(f"DynamoDB at {where} not reachable: {error}") from None
