"""Tables on ``s3a://``: settings from the environment, for Spark (S3A, Delta's LogStore),
for delta-rs, and a cheap check of bucket, credentials and DynamoDB table before Spark.

Credentials are never read here, set in a configuration or printed: S3A, delta-rs, boto3
and the DynamoDB LogStore each take them from the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) or the pod's role, by their own default
chains.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from forecast_core.errors import ConfigError, TableError
from forecast_core.names import (
    DEFAULT_S3_REGION,
    DYNAMODB_TABLE_ENV,
    S3_ENDPOINT_ENV,
    S3_REGION_ENV,
    S3A_SCHEME,
)

# Bounded: an unreachable store fails the run after a few attempts (exit 1), not after
# S3A's defaults (minutes of retries per call).
_S3A_ATTEMPTS = "3"
_S3A_TIMEOUT = "10s"
_S3_LOGSTORE = "io.delta.storage.S3DynamoDBLogStore"
_LOGSTORE_CONF = f"spark.io.delta.storage.{_S3_LOGSTORE.rsplit('.', 1)[1]}"


def is_s3(location: str | None) -> bool:
    """Whether a table location is on S3 (``s3a://``)."""
    return bool(location) and str(location).startswith(S3A_SCHEME)


@dataclass(frozen=True)
class S3Settings:
    """Where the S3 (and DynamoDB) API is: endpoint (None: AWS), region, LogStore table."""

    endpoint: str | None
    region: str
    dynamodb_table: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Settings:
        """The settings of ``environ`` (default: the process's environment).

        Raises:
            ConfigError: The endpoint is not an http(s) URL.
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
        )

    def spark_conf(self) -> dict[str, str]:
        """Spark settings of S3A and, with a DynamoDB table, Delta's S3 LogStore.

        No credential: S3A's default provider chain reads the environment.
        """
        conf = {
            "spark.hadoop.fs.s3a.endpoint.region": self.region,
            "spark.hadoop.fs.s3a.attempts.maximum": _S3A_ATTEMPTS,
            "spark.hadoop.fs.s3a.retry.limit": _S3A_ATTEMPTS,
            "spark.hadoop.fs.s3a.connection.establish.timeout": _S3A_TIMEOUT,
            "spark.hadoop.fs.s3a.connection.timeout": _S3A_TIMEOUT,
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
            conf["spark.delta.logStore.s3a.impl"] = _S3_LOGSTORE
            conf[f"{_LOGSTORE_CONF}.ddb.tableName"] = self.dynamodb_table
            conf[f"{_LOGSTORE_CONF}.ddb.region"] = self.region
        return conf

    def storage_options(self) -> dict[str, str]:
        """delta-rs (object_store) options for the same S3: endpoint, region, path style,
        and bounded retries (its defaults retry for 3 minutes)."""
        options = {
            "AWS_REGION": self.region,
            "timeout": _S3A_TIMEOUT,
            "connect_timeout": _S3A_TIMEOUT,
            "max_retries": _S3A_ATTEMPTS,
            "retry_timeout": "30s",
        }
        if self.endpoint:
            options["AWS_ENDPOINT_URL"] = self.endpoint
            options["AWS_ALLOW_HTTP"] = str(self.endpoint.startswith("http://")).lower()
            options["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false"
        return options


def delta_rs_uri(location: str) -> str:
    """The URI delta-rs opens for a table location: ``s3a://`` becomes ``s3://``."""
    return "s3://" + location[len(S3A_SCHEME) :] if is_s3(location) else location


def storage_options(location: str) -> dict[str, str] | None:
    """delta-rs storage options for a table location: S3's from the environment, else None."""
    return S3Settings.from_env().storage_options() if is_s3(location) else None


def bucket_of(location: str) -> str:
    """The bucket of an ``s3a://bucket/path`` location."""
    return urlparse(location).netloc


def preflight(location: str, settings: S3Settings) -> None:
    """Check, before Spark starts, that the bucket answers to these credentials and that
    the DynamoDB table (if set) exists, so that a bad setting writes nothing.

    Raises:
        ConfigError: Access denied, no such bucket, no such DynamoDB table (one line each).
        TableError: The store could not be reached after bounded retries.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = bucket_of(location)
    config = Config(
        retries={"max_attempts": int(_S3A_ATTEMPTS), "mode": "standard"},
        connect_timeout=10,
        read_timeout=10,
    )
    session = boto3.session.Session(region_name=settings.region)
    s3 = session.client("s3", endpoint_url=settings.endpoint, config=config)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        status = str(error.response.get("Error", {}).get("Code", ""))
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
