"""Model artifacts on S3: an MLflow server whose ``--artifacts-destination`` is a bucket on
the loopback S3 server. A pyfunc registered by one process loads in another, and its files
are in the bucket, not on a pod's disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import mlflow_server

from .conftest import REGION, S3Server

pytestmark = pytest.mark.slow

REGISTER = """
import sys
import mlflow
import mlflow.pyfunc


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return [2 * x for x in model_input["x"]]


mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_run():
    info = mlflow.pyfunc.log_model(
        name="model", python_model=Doubler(), pip_requirements=["mlflow"],
        registered_model_name="s3_doubler",
    )
print(info.registered_model_version)
"""
LOAD = """
import sys
import mlflow
import pandas as pd

mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model("models:/s3_doubler/1")
print(list(model.predict(pd.DataFrame({"x": [1.5, 4.0]}))))
"""


def _python(script: str, uri: str, cwd: Path) -> subprocess.CompletedProcess:
    # The clients hold no S3 credential: the server proxies the artifacts.
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-c", script, uri],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_a_model_registered_by_one_process_loads_in_another_from_s3(
    s3_server: S3Server, bucket: str, tmp_path: Path
):
    server_env = {
        "MLFLOW_S3_ENDPOINT_URL": s3_server.url,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_DEFAULT_REGION": REGION,
    }
    with mlflow_server(
        tmp_path, artifacts_destination=f"s3://{bucket}/mlflow", env=server_env
    ) as uri:
        (tmp_path / "writer").mkdir()
        (tmp_path / "reader").mkdir()
        registered = _python(REGISTER, uri, tmp_path / "writer")
        assert registered.returncode == 0, registered.stderr[-3000:]
        assert registered.stdout.strip().splitlines()[-1] == "1"
        loaded = _python(LOAD, uri, tmp_path / "reader")
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        assert loaded.stdout.strip().splitlines()[-1] == "[3.0, 8.0]"

    listed = s3_server.client("s3").list_objects_v2(Bucket=bucket, Prefix="mlflow/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert any(key.endswith("/MLmodel") for key in keys), keys
    assert not (tmp_path / "artifacts").exists()  # nothing on the server's disk
