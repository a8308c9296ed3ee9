"""Before a command writes to ``s3a://``, it probes that the store refuses a second
conditional put of a scratch key: a store that ignores ``If-None-Match`` (played by a proxy
in front of moto that strips the header) would let two commits of one version both win, so
every writing command refuses it with one line, exit 2, and nothing written."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from forecast_core.data import sample_data_path
from forecast_core.errors import ConfigError
from forecast_core.s3 import S3Settings, preflight

from .conftest import REGION, S3Server, job_env, run_forecast
from .proxy import S3Proxy, s3_proxy

SAMPLE = sample_data_path()


@pytest.fixture
def blind_store(s3_server: S3Server) -> Iterator[S3Proxy]:
    """moto behind a proxy that strips If-None-Match: a store without conditional writes."""
    with s3_proxy(s3_server.url, strip_conditional=True) as proxy:
        yield proxy


def _keys(s3_server: S3Server, bucket: str) -> list[str]:
    listed = s3_server.client("s3").list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


def _settings(endpoint: str, dynamodb_table: str | None = None) -> S3Settings:
    return S3Settings(endpoint=endpoint, region=REGION, dynamodb_table=dynamodb_table)


@pytest.fixture
def credentials(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 in this process takes moto's keys from the environment, as a job does."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)


def test_a_store_with_conditional_writes_passes_and_keeps_no_probe(s3_server, bucket, credentials):
    with s3_proxy(s3_server.url) as watched:
        preflight(f"s3a://{bucket}/tables/distributions", _settings(watched.url))
        methods = [(method, condition) for method, _, condition, _ in watched.log.requests]
    assert methods == [("HEAD", None), ("PUT", "*"), ("PUT", "*"), ("DELETE", None)]
    assert _keys(s3_server, bucket) == []


@pytest.mark.parametrize("engine", ["spark", "delta-rs"])
def test_a_store_without_them_is_refused_naming_the_endpoint_and_the_ways_out(
    s3_server, bucket, credentials, blind_store, engine
):
    with pytest.raises(ConfigError) as refused:
        preflight(f"s3a://{bucket}/tables/distributions", _settings(blind_store.url), engine)
    message = str(refused.value)
    assert "\n" not in message
    assert f"S3 at {blind_store.url} lacks conditional writes" in message
    assert "HTTP 412" in message  # way out: a store that has them
    # The other way out, Delta's DynamoDB LogStore, exists for Spark only (delta-rs 1.6 has
    # no locking provider any more).
    assert ("FORECAST_DYNAMODB_TABLE" in message) is (engine == "spark")
    assert _keys(s3_server, bucket) == []  # the probe's key deleted


def test_with_the_dynamodb_logstore_spark_needs_no_probe_but_delta_rs_still_does(
    s3_server, bucket, credentials, blind_store
):
    s3_server.client("dynamodb").create_table(
        TableName="delta_log",
        AttributeDefinitions=[
            {"AttributeName": "tablePath", "AttributeType": "S"},
            {"AttributeName": "fileName", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "tablePath", "KeyType": "HASH"},
            {"AttributeName": "fileName", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    settings = _settings(blind_store.url, dynamodb_table="delta_log")
    preflight(f"s3a://{bucket}/tables/distributions", settings, "spark")
    # The bucket's HEAD and DynamoDB's DescribeTable (a POST): no probe, nothing written.
    assert [method for method, *_ in blind_store.log.requests] == ["HEAD", "POST"]
    with pytest.raises(ConfigError, match="lacks conditional writes"):
        preflight(f"s3a://{bucket}/inputs", settings, "delta-rs")


# Every command that writes to s3a://, with what it writes there.
WRITERS = {
    "daily": ("daily", "--forecast-date", "2024-07-15", "--models", "naive", "--n-paths", "20"),
    "backfill": (
        "backfill",
        "--start",
        "2024-07-01",
        "--end",
        "2024-07-02",
        "--models",
        "naive",
        "--shard-index",
        "0",
        "--shard-count",
        "2",
    ),
    "table optimize": ("table", "optimize"),
    "evaluate (metrics table)": (
        "evaluate",
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-31",
        "--models",
        "naive",
    ),
    "data load": ("data", "load", "--prices", str(SAMPLE / "prices.csv.gz")),
}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(WRITERS))
def test_every_writing_command_refuses_it_before_writing(
    s3_server, s3_jars, bucket, blind_store, tmp_path, command
):
    env = job_env(dataclasses.replace(s3_server, url=blind_store.url), s3_jars, tmp_path / "h")
    where = ("--data", f"s3a://{bucket}/inputs")
    if command != "data load":
        where = ("--table", f"s3a://{bucket}/tables/distributions")
    result = run_forecast(*WRITERS[command], *where, env=env, timeout=300)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "lacks conditional writes" in lines[0], result.stderr
    assert blind_store.url in lines[0]
    assert _keys(s3_server, bucket) == []
