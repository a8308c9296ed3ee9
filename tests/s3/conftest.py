"""A real S3 and DynamoDB API on loopback (moto's server, with IAM checks on) and the
environment a job gets to write an ``s3a://`` table there."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from forecast_core.jars import FETCH_COMMAND, HADOOP_AWS_JAR, default_jars_dir
from tests.servers import moto_server

REGION = "us-east-1"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class S3Server:
    """moto's URL and the keys of an IAM user allowed everything."""

    url: str
    access_key: str
    secret_key: str

    def client(self, service: str, secret_key: str | None = None):
        """A boto3 client of ``service`` on this server (with another secret if given)."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
        )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto on a free loopback port, taking any credentials.

    (moto's own signature check refuses some requests of delta-rs's S3 client that AWS
    accepts: a listing with ``start-after``; the IAM-checked server below is for the
    credential errors.)
    """
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        yield S3Server(server.url, "AKIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30))


@pytest.fixture(scope="session")
def s3_server_iam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto on a free loopback port; its first 3 requests create the user, then every
    request is checked against IAM (so wrong credentials are refused, as on AWS)."""
    with moto_server(tmp_path_factory.mktemp("moto"), unauthenticated_requests=3) as server:
        url = server.url
        iam = boto3.client(
            "iam",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="forecast")
        iam.put_user_policy(
            UserName="forecast", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL)
        )
        key = iam.create_access_key(UserName="forecast")["AccessKey"]
        yield S3Server(url, key["AccessKeyId"], key["SecretAccessKey"])


def new_bucket(server: S3Server) -> str:
    """A new, empty bucket on ``server``."""
    name = f"lake-{uuid.uuid4().hex[:12]}"
    server.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    """A new, empty bucket."""
    return new_bucket(s3_server)


@pytest.fixture(scope="session")
def s3_jars() -> Path:
    """The jar folder with the S3 jars (scripts/install.sh --with-s3, as .ci/run does)."""
    folder = Path(os.environ.get("FORECAST_SPARK_JARS") or default_jars_dir())
    if not (folder / HADOOP_AWS_JAR).is_file():
        pytest.fail(f"{folder} has no {HADOOP_AWS_JAR}: run {FETCH_COMMAND} --with-s3")
    return folder


def s3_settings(server: S3Server, jars: Path) -> dict[str, str]:
    """What a job's environment needs to write to ``server``: credentials only here."""
    return {
        "AWS_ENDPOINT_URL": server.url,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "FORECAST_SPARK_JARS": str(jars),
    }


def job_env(server: S3Server, jars: Path, home: Path) -> dict[str, str]:
    """The environment of a job writing to ``server``, with nothing else of ours inherited."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "FORECAST_", "MLFLOW_"))
    }
    return {
        **env,
        **s3_settings(server, jars),
        "FORECAST_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def spark_reads_bucket(spark, server: S3Server, bucket: str) -> None:
    """Let the test run's Spark session read ``bucket`` on ``server`` (S3A's per-bucket
    settings: no other bucket, test or session is affected)."""
    conf = spark._jsc.hadoopConfiguration()
    for key, value in {
        "endpoint": server.url,
        "endpoint.region": REGION,
        "path.style.access": "true",
        "access.key": server.access_key,
        "secret.key": server.secret_key,
    }.items():
        conf.set(f"fs.s3a.bucket.{bucket}.{key}", value)


@pytest.fixture
def s3_env(s3_server: S3Server, s3_jars: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a job writing to the S3 server."""
    return job_env(s3_server, s3_jars, tmp_path / "home")


def run_forecast(
    *args: str, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess:
    """``forecast ARGS`` in its own process (its own JVM, with the S3 jars)."""
    return subprocess.run(
        [sys.executable, "-m", "jobs", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
