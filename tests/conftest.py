"""Shared fixtures: sample data, one Spark session, a fresh store per test, the CLI in-process."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from forecast_core.config import StoreConfig
from forecast_core.data import MarketDataset, MarketHistory, load_dataset
from tests.jvm_archive import archive_options, ensure_archive
from tests.servers import SHORT_LIVED_JVM_OPTIONS
from tests.spark_cluster import JobResult, SparkCluster, invoke_as_process
from tests.spark_cluster import spark_cluster as standalone_cluster
from tests.spark_connect import ConnectServer, connect_server

HARDENING = "tests/hardening/"
# The instant this test process started. A test whose dates come from today takes them
# from here and stops the jobs' clock here (``stopped_clock``).
RUN_STARTED = dt.datetime.now(dt.UTC)


def pytest_configure(config: pytest.Config) -> None:
    """Every driver JVM of the run (this process's session, the jobs and Connect servers it
    starts, which inherit the environment) gets the short-lived JVM options and maps the
    class archive (``tests/jvm_archive.py``), made here before any worker starts."""
    if "SPARK_SUBMIT_OPTS" in os.environ or hasattr(config, "workerinput"):
        return  # set by the developer, or by the controller whose environment a worker has
    options = SHORT_LIVED_JVM_OPTIONS
    if not (config.option.collectonly or config.option.help):
        folder = config.cache.mkdir("jvm-archive") if config.cache else Path(tempfile.gettempdir())
        try:
            options += " " + archive_options(ensure_archive(folder, options))
        except (OSError, RuntimeError, subprocess.SubprocessError) as error:
            config.issue_config_time_warning(
                pytest.PytestWarning(f"JVMs start without a class archive: {error}"), stacklevel=2
            )
    os.environ["SPARK_SUBMIT_OPTS"] = options


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """pytest-xdist's ``--dist loadscope`` with every hardening test in one scope: a module
    runs on one worker, so its module fixtures (a backfill, the image build) are made once,
    and the hardening tests run one after another, so that their races are their own.

    (``--dist loadgroup`` with ``xdist_group`` marks would say the same, but pytest 9.2
    ignores the node ids it rewrites: pytest-xdist issue 1386.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return HARDENING if module.startswith(HARDENING) else module

    return ModuleScheduling(config, log)


@pytest.fixture
def stopped_clock(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """The jobs' clock (``jobs.common.utc_now``, where every command reads it) stopped at
    ``RUN_STARTED``, so that a test whose expected dates come from today cannot straddle
    midnight UTC; returns that day. For commands run in this process."""
    monkeypatch.setattr("jobs.common.utc_now", lambda: RUN_STARTED)
    return RUN_STARTED.date()


@pytest.fixture(scope="session")
def sample_dataset() -> MarketDataset:
    """The bundled sample data set (real ICE prices and ERA5 weather)."""
    return load_dataset()


@pytest.fixture(scope="session")
def coffee_history(sample_dataset: MarketDataset) -> MarketHistory:
    """The full bundled coffee history with weather features."""
    return sample_dataset.history("coffee")


@pytest.fixture(scope="session")
def spark():
    """One local Spark session with the Delta jars for the whole run (starting one costs ~10 s).

    The jars come from the folder ``scripts/install.sh`` fills; every command run in-process
    reuses this session.
    """
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from forecast_core.jars import default_jars_dir, jar_paths
    from forecast_core.spark import build_spark_session

    session = build_spark_session(
        "local[2]",
        app_name="commodity-forecast-tests",
        jars=jar_paths(default_jars_dir(), "delta"),
        table_format="delta",
    )
    yield session
    session.stop()


@pytest.fixture
def store(tmp_path: Path) -> StoreConfig:
    """A fresh embedded store (SQLite MLflow, local artifacts, Delta table) per test."""
    return StoreConfig.embedded(tmp_path / "home")


@pytest.fixture
def registry(store: StoreConfig):
    from forecast_core.registry.store import ModelRegistry

    (Path(store.table_location).parents[1]).mkdir(parents=True, exist_ok=True)
    return ModelRegistry(store.tracking_uri, store.artifact_root)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The FORECAST_HOME of one test."""
    return tmp_path / "home"


def invoke_in(home: Path) -> Callable[..., Result]:
    """A function running ``forecast ARGS`` in-process against ``home`` (SQLite MLflow, Delta)."""
    from jobs.cli import cli

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        environment = {
            "FORECAST_HOME": str(home),
            "MLFLOW_TRACKING_URI": "",
            "FORECAST_TABLE": "",
            "FORECAST_DATA": "",
            "FORECAST_METRICS_TABLE": "",
            **(env or {}),
        }
        # Empty strings stand for "unset" so the developer's own environment never leaks in.
        environment = {key: (value or None) for key, value in environment.items()}
        return CliRunner().invoke(cli, list(args), env=environment, catch_exceptions=False)

    return run


@pytest.fixture
def invoke(home: Path) -> Callable[..., Result]:
    """Run ``forecast ARGS`` in-process against a private home (SQLite MLflow, Delta)."""
    return invoke_in(home)


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """A Spark standalone master and one worker on loopback, shared by the whole run."""
    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def spark_connect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectServer]:
    """A Spark Connect server on loopback (``forecast connect-server``, Delta), shared by
    the whole run."""
    with connect_server(tmp_path_factory.mktemp("spark-connect")) as server:
        yield server


@pytest.fixture(params=["local", "cluster", "connect"])
def spark_master(request: pytest.FixtureRequest) -> str:
    """Where a job's Spark runs: ``local`` (the in-process ``local[2]`` session of the
    ``spark`` fixture), the ``spark://`` URL of the loopback cluster, or the ``sc://`` URL
    of the loopback Spark Connect server."""
    if request.param == "local":
        return "local"
    if request.param == "connect":
        return request.getfixturevalue("spark_connect").url
    return request.getfixturevalue("spark_cluster").url


@pytest.fixture
def invoke_on(home: Path, spark_master: str) -> Callable[..., Result | JobResult]:
    """``invoke`` with the job's Spark on ``spark_master``: in-process on ``local``; on the
    cluster or the Connect server as its own process with ``FORECAST_SPARK_MASTER`` or
    ``FORECAST_SPARK_REMOTE`` set (same ``exit_code`` and ``output``)."""
    if spark_master == "local":
        return invoke_in(home)
    return invoke_as_process(home, spark_master)
