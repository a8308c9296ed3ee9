"""Bad S3 settings stop a run before anything is written: one line, exit 2 (or 1 for a
store that does not answer), no secret shown. No Spark starts: the check runs first."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecast_core.errors import ConfigError
from forecast_core.jars import S3_LOGSTORE_JAR, check_s3_jars
from forecast_core.s3 import S3Settings
from tests.servers import free_loopback_port

from .conftest import S3Server, job_env, new_bucket, run_forecast

DAILY = ("daily", "--forecast-date", "2024-07-15", "--models", "naive", "--n-paths", "20")


def _objects(s3_server: S3Server, bucket: str) -> list[str]:
    listed = s3_server.client("s3").list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture
def iam_bucket(s3_server_iam: S3Server) -> str:
    """A new bucket on the server that checks credentials."""
    return new_bucket(s3_server_iam)


@pytest.fixture
def iam_env(s3_server_iam: S3Server, s3_jars: Path, tmp_path: Path) -> dict[str, str]:
    """A job's environment for the server that checks credentials."""
    return job_env(s3_server_iam, s3_jars, tmp_path / "home")


def _assert_one_line_exit(result, code: int, *words: str) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def test_wrong_credentials_name_the_bucket_and_write_nothing(s3_server_iam, iam_bucket, iam_env):
    env = {**iam_env, "AWS_SECRET_ACCESS_KEY": "not-the-secret-0123456789"}
    result = run_forecast(*DAILY, "--table", f"s3a://{iam_bucket}/distributions", env=env)
    _assert_one_line_exit(result, 2, repr(iam_bucket), "access denied")
    printed = result.stdout + result.stderr
    assert "not-the-secret-0123456789" not in printed and s3_server_iam.access_key not in printed
    assert _objects(s3_server_iam, iam_bucket) == []
    assert not Path(env["FORECAST_HOME"]).exists()


def test_a_missing_bucket_is_named_with_what_to_create(iam_env):
    result = run_forecast(*DAILY, "--table", "s3a://no-such-lake/distributions", env=iam_env)
    _assert_one_line_exit(result, 2, "'no-such-lake'", "does not exist", "created")
    assert not Path(iam_env["FORECAST_HOME"]).exists()


def test_a_missing_dynamodb_table_is_named_with_its_keys(s3_server_iam, iam_bucket, iam_env):
    env = {**iam_env, "FORECAST_DYNAMODB_TABLE": "delta_log_missing"}
    result = run_forecast(*DAILY, "--table", f"s3a://{iam_bucket}/distributions", env=env)
    _assert_one_line_exit(result, 2, "'delta_log_missing'", "tablePath", "fileName")
    assert _objects(s3_server_iam, iam_bucket) == []


def test_a_dynamodb_table_without_the_logstore_jar_names_the_jar(tmp_path: Path):
    folder = tmp_path / "jars"
    folder.mkdir()
    with pytest.raises(ConfigError) as refused:
        check_s3_jars(folder, multi_cluster=False)
    assert "hadoop-aws" in str(refused.value) and "--with-s3" in str(refused.value)
    (folder / "org.apache.hadoop_hadoop-aws-3.5.0.jar").write_bytes(b"")
    check_s3_jars(folder, multi_cluster=False)  # one writer: hadoop-aws is enough
    with pytest.raises(ConfigError) as refused:
        check_s3_jars(folder, multi_cluster=True)
    assert S3_LOGSTORE_JAR in str(refused.value) and "\n" not in str(refused.value)


def test_an_unreachable_store_fails_after_bounded_retries_with_exit_1(iam_env):
    env = {**iam_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_loopback_port()}"}
    result = run_forecast(*DAILY, "--table", "s3a://lake/distributions", env=env)
    _assert_one_line_exit(result, 1, "not reachable")


def test_a_bad_endpoint_names_the_variable():
    with pytest.raises(ConfigError) as refused:
        S3Settings.from_env({"AWS_ENDPOINT_URL": "127.0.0.1:9000"})
    assert "AWS_ENDPOINT_URL '127.0.0.1:9000'" in str(refused.value)


def test_spark_settings_hold_no_credential():
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID",
        "AWS_SECRET_ACCESS_KEY": "secret-example",
        "FORECAST_DYNAMODB_TABLE": "delta_log",
    }
    conf = S3Settings.from_env(env).spark_conf()
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.delta.logStore.s3a.impl"] == "io.delta.storage.S3DynamoDBLogStore"
    assert conf["spark.io.delta.storage.S3DynamoDBLogStore.ddb.tableName"] == "delta_log"
    assert conf["spark.io.delta.storage.S3DynamoDBLogStore.ddb.region"] == "eu-west-1"
    text = repr(conf)
    assert "AKIAEXAMPLEKEYID" not in text and "secret-example" not in text
