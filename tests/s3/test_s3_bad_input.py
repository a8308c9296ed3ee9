"""Bad S3 settings stop a run before anything is written: one line, exit 2 (or 1 for a
store that does not answer), no secret shown. No Spark starts: the check runs first."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecast_core.errors import ConfigError
from forecast_core.jars import (
    DYNAMODB_LOGSTORE_JAR,
    HADOOP_AWS_JAR,
    INSTALL_S3_COMMAND,
    LOGSTORE_JAR,
    check_s3_jars,
)
from forecast_core.s3 import CONDITIONAL_LOGSTORE, S3Settings
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


def _jar_folder(s3_jars: Path, folder: Path, without: str = "", with_stub: str = "") -> Path:
    """A jar folder like the installed one, less ``without``, plus an empty ``with_stub``
    (never loaded: the checks that use it run before Spark)."""
    folder.mkdir()
    for jar in s3_jars.glob("*.jar"):
        if jar.name != without:
            (folder / jar.name).symlink_to(jar)
    if with_stub:
        (folder / with_stub).write_bytes(b"")
    return folder


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


def test_a_missing_dynamodb_table_is_named_with_its_keys(
    s3_server_iam, s3_jars, iam_bucket, iam_env, tmp_path
):
    jars = _jar_folder(s3_jars, tmp_path / "jars", with_stub=DYNAMODB_LOGSTORE_JAR)
    env = {
        **iam_env,
        "FORECAST_DYNAMODB_TABLE": "delta_log_missing",
        "FORECAST_SPARK_JARS": str(jars),
    }
    result = run_forecast(*DAILY, "--table", f"s3a://{iam_bucket}/distributions", env=env)
    _assert_one_line_exit(result, 2, "'delta_log_missing'", "tablePath", "fileName")
    assert _objects(s3_server_iam, iam_bucket) == []


def test_an_s3a_table_without_our_logstore_jar_exits_2_naming_it_and_the_install_command(
    s3_server_iam, s3_jars, iam_bucket, iam_env, tmp_path
):
    jars = _jar_folder(s3_jars, tmp_path / "jars", without=LOGSTORE_JAR)
    env = {**iam_env, "FORECAST_SPARK_JARS": str(jars)}
    result = run_forecast(*DAILY, "--table", f"s3a://{iam_bucket}/distributions", env=env)
    _assert_one_line_exit(result, 2, LOGSTORE_JAR, INSTALL_S3_COMMAND)
    assert _objects(s3_server_iam, iam_bucket) == []  # no fallback to the single-driver store
    assert not Path(env["FORECAST_HOME"]).exists()


def test_each_missing_s3_jar_is_named_with_the_command_that_provides_it(tmp_path: Path):
    folder = tmp_path / "jars"
    folder.mkdir()
    refusals = []
    for dynamodb in (False, True):
        with pytest.raises(ConfigError) as refused:
            check_s3_jars(folder, dynamodb=dynamodb)
        refusals.append(str(refused.value))
    assert all(HADOOP_AWS_JAR in r and INSTALL_S3_COMMAND in r for r in refusals)
    (folder / HADOOP_AWS_JAR).write_bytes(b"")
    with pytest.raises(ConfigError) as refused:
        check_s3_jars(folder, dynamodb=False)
    refusals.append(str(refused.value))
    assert LOGSTORE_JAR in refusals[-1] and INSTALL_S3_COMMAND in refusals[-1]
    with pytest.raises(ConfigError) as refused:
        check_s3_jars(folder, dynamodb=True)  # Delta's DynamoDB LogStore, not ours
    refusals.append(str(refused.value))
    assert DYNAMODB_LOGSTORE_JAR in refusals[-1] and "--with-dynamodb-logstore" in refusals[-1]
    assert all("\n" not in refusal for refusal in refusals)
    (folder / LOGSTORE_JAR).write_bytes(b"")
    check_s3_jars(folder, dynamodb=False)
    (folder / DYNAMODB_LOGSTORE_JAR).write_bytes(b"")
    check_s3_jars(folder, dynamodb=True)


def test_an_unreachable_store_fails_after_bounded_retries_with_exit_1(iam_env):
    env = {**iam_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_loopback_port()}"}
    result = run_forecast(*DAILY, "--table", "s3a://lake/distributions", env=env)
    _assert_one_line_exit(result, 1, "not reachable")


def test_a_bad_endpoint_names_the_variable():
    with pytest.raises(ConfigError) as refused:
        S3Settings.from_env({"AWS_ENDPOINT_URL": "127.0.0.1:9000"})
    assert "AWS_ENDPOINT_URL '127.0.0.1:9000'" in str(refused.value)


@pytest.mark.parametrize("value", ["0", "2.5", "ten", "-1"])
def test_a_bad_s3_timeout_names_the_variable(value):
    with pytest.raises(ConfigError) as refused:
        S3Settings.from_env({"FORECAST_S3_TIMEOUT": value})
    assert f"FORECAST_S3_TIMEOUT {value!r}" in str(refused.value)
    assert "whole number of seconds" in str(refused.value)


def test_the_s3_timeout_bounds_every_client():
    default = S3Settings.from_env({})
    assert default.spark_conf()["spark.hadoop.fs.s3a.connection.timeout"] == "10s"
    assert default.storage_options()["retry_timeout"] == "30s"
    settings = S3Settings.from_env({"FORECAST_S3_TIMEOUT": "4"})
    conf = settings.spark_conf()
    assert conf["spark.hadoop.fs.s3a.connection.timeout"] == "4s"
    assert conf["spark.hadoop.fs.s3a.connection.establish.timeout"] == "4s"
    options = settings.storage_options()  # delta-rs
    assert options["timeout"] == options["connect_timeout"] == "4s"
    assert options["retry_timeout"] == "12s"


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


def test_commits_to_s3a_go_through_conditional_puts_by_default():
    settings = S3Settings.from_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"})
    conf = settings.spark_conf()
    assert conf["spark.delta.logStore.s3a.impl"] == CONDITIONAL_LOGSTORE
    assert conf["spark.hadoop.fs.s3a.create.conditional.enabled"] == "true"
    assert settings.storage_options()["conditional_put"] == "etag"  # delta-rs
    assert settings.relies_on_conditional_put("spark")
    with_dynamodb = S3Settings.from_env({"FORECAST_DYNAMODB_TABLE": "delta_log"})
    assert not with_dynamodb.relies_on_conditional_put("spark")
    assert with_dynamodb.relies_on_conditional_put("delta-rs")
