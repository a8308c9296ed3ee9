"""The job image, built for real (scripts/build_image.sh) and run with buildah.

Inside the image, as user 10001, with only the /scratch volume and the table volume
writable: ``forecast --version``/``--help``, a daily run and a 2-shard backfill against an
MLflow server (PostgreSQL-backed) on the host's loopback, and the Delta smoke test. The
table and registry written inside must equal the same runs made on the host, and no file
outside the volumes may change in the container's root filesystem. Then both shards of a
backfill at once to an ``s3a://`` table on moto on the host's loopback, committing through
the image's own S3 LogStore jar.

Needs root, buildah (and podman or mmdebstrap for the Debian base, see .ci/run) and
``FORECAST_TEST_POSTGRES_URI``. Deselect with ``-m "not image"``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from forecast_core import __version__
from jobs import kube
from tests.job_env import forecast_env

from .manifest_checks import (
    REPO_ROOT,
    SCRATCH_PATH,
    env_of,
    forecast_container,
    plain_manifests,
    pod_spec,
    render_chart,
)

pytestmark = [pytest.mark.slow, pytest.mark.image]

# The table format of every run here: one constant, so the switch to Delta is one line.
TABLE_FORMAT = "delta"  # the default of the jobs
IMAGE_TAG = "commodity-forecast:ci"
USER = f"{kube.RUN_AS_USER}:{kube.RUN_AS_USER}"
TABLE_MOUNT = "/data"
FORECAST_DATE = "2025-11-14"
# Two semiannual windows (trained 2025-01-01 and 2025-07-01): one per shard.
BACKFILL = ("2025-06-02", "2025-07-31")
N_PATHS = "200"
# Paths the container engine itself creates in every container (Kubernetes does too): the
# network files, /run/.containerenv, and the table volume's mount point.
ENGINE_PATHS = {
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/hostname",
    "/run",
    "/run/.containerenv",
    TABLE_MOUNT,
}
# What buildah itself adds to stderr when the command exits non-zero.
BUILDAH_TRAILER = re.compile(r"^(subprocess exited with status \d+|Error: exit status \d+)$")


@dataclass
class Run:
    """One command's exit code and output."""

    returncode: int
    output: str


@dataclass
class Container:
    """A working container of the image, run through ``buildah run`` like a pod."""

    name: str
    rootfs: Path
    scratch_dirs: list[Path] = field(default_factory=list)

    def command(
        self,
        args: list[str],
        scratch: Path,
        env: dict[str, str] | None = None,
        volumes: dict[Path, str] | None = None,
    ) -> list[str]:
        """``buildah run`` of ``args`` as user 10001 with ``scratch`` mounted at /scratch (a
        fresh pod's emptyDir)."""
        self.scratch_dirs.append(scratch)
        command = ["buildah", "run", "--isolation", "chroot", "--network", "host", "--user", USER]
        # A hostname that resolves, as a pod's does (the kubelet writes it into /etc/hosts;
        # buildah's host network keeps the host's file): Spark resolves it when it copies
        # AWS_ACCESS_KEY_ID from the environment into S3A's settings.
        command += ["--hostname", "localhost"]
        command += ["--volume", f"{scratch}:{SCRATCH_PATH}"]
        for host, target in (volumes or {}).items():
            command += ["--volume", f"{host}:{target}"]
        for key, value in (env or {}).items():
            command += ["--env", f"{key}={value}"]
        return [*command, self.name, "--", *args]

    def run(
        self,
        args: list[str],
        scratch: Path,
        env: dict[str, str] | None = None,
        volumes: dict[Path, str] | None = None,
    ) -> Run:
        """``args`` run to the end (``command``)."""
        result = subprocess.run(
            self.command(args, scratch, env, volumes),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        return Run(result.returncode, without_trailer(result.stdout + result.stderr))


def without_trailer(output: str) -> str:
    """``output`` without the lines buildah adds when the command exits non-zero."""
    lines = output.splitlines(keepends=True)
    return "".join(line for line in lines if not BUILDAH_TRAILER.match(line.strip()))


def writable_dir(path: Path) -> Path:
    """``path`` created and owned by the job's user, like a volume the pod may write."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, kube.RUN_AS_USER, kube.RUN_AS_USER)
    return path


def rootfs_manifest(rootfs: Path) -> dict[str, tuple[int, int, int]]:
    """Every path of a root filesystem outside the volumes: (mode, size, mtime in ns)."""
    skipped = {SCRATCH_PATH, "/proc", "/sys", "/dev", TABLE_MOUNT}
    manifest: dict[str, tuple[int, int, int]] = {}
    for folder, dirs, files in os.walk(rootfs):
        relative = "/" + os.path.relpath(folder, rootfs).removeprefix(".").lstrip("/")
        dirs[:] = [d for d in dirs if f"{relative.rstrip('/')}/{d}" not in skipped]
        for name in [*dirs, *files]:
            path = f"{relative.rstrip('/')}/{name}"
            stat = os.lstat(os.path.join(folder, name))
            manifest[path] = (stat.st_mode, stat.st_size, stat.st_mtime_ns)
    return manifest


def table_rows(location: Path) -> pd.DataFrame:
    """The whole distributions table without its write time, sorted by key and path."""
    if TABLE_FORMAT == "delta":
        from deltalake import DeltaTable

        frame = DeltaTable(str(location)).to_pandas()
    else:
        frame = pd.read_parquet(location)
    frame = frame.drop(columns=["generation_timestamp"])
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    keys = ["model_name", "model_version", "forecast_start_date", "path_id"]
    return frame.sort_values(keys).reset_index(drop=True)[sorted(frame.columns)]


def registry_tags(tracking_uri: str) -> list[tuple[str, str, dict[str, str]]]:
    """(registered model, version, tags) of every version on a tracking server, sorted."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    versions = client.search_model_versions(max_results=10_000)
    return sorted((v.name, v.version, dict(sorted(v.tags.items()))) for v in versions)


def job_args(tracking_uri: str, table: str) -> dict[str, list[str]]:
    """The daily run and the backfill, with the settings both sides share."""
    common = ["--tracking-uri", tracking_uri, "--table", table, "--n-paths", N_PATHS]
    common += ["--table-format", TABLE_FORMAT]
    return {
        "daily": ["daily", "--forecast-date", FORECAST_DATE, *common],
        "backfill": ["backfill", "--start", BACKFILL[0], "--end", BACKFILL[1], *common],
    }


def shard_environment(shard: int) -> dict[str, str]:
    """What the Indexed Job sets in the pod of ``shard`` (of two)."""
    return {"JOB_COMPLETION_INDEX": str(shard), "FORECAST_SHARD_COUNT": "2"}


def in_image(args: list[str]) -> list[str]:
    """``buildah run`` ignores the image's entrypoint: name the command, as the image does."""
    return ["forecast", *args]


@pytest.fixture(scope="module")
def image() -> str:
    """The image built by scripts/build_image.sh (buildah's layer cache may be warm)."""
    if os.geteuid() != 0:
        pytest.fail("the image test builds and runs with buildah as root; run it as root")
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build_image.sh"), "--tag", IMAGE_TAG],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().splitlines()[-1] == IMAGE_TAG
    return IMAGE_TAG


@pytest.fixture(scope="module")
def image_config(image: str) -> dict:
    """The built image's configuration, as ``buildah inspect`` reports it."""
    result = subprocess.run(
        ["buildah", "inspect", "--type", "image", image],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)["OCIv1"]["config"]


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[Container]:
    """A working container of the image with its root filesystem mounted on the host."""
    name = f"forecast-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["buildah", "from", "--pull=never", "--name", name, image],
        capture_output=True,
        timeout=120,
        check=True,
    )
    try:
        mounted = subprocess.run(
            ["buildah", "mount", name], capture_output=True, text=True, timeout=60, check=True
        )
        yield Container(name, Path(mounted.stdout.strip()))
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def postgres_databases() -> Iterator[list[str]]:
    """Two fresh PostgreSQL databases: the registry of the image's runs and of the host's."""
    base = os.environ.get("FORECAST_TEST_POSTGRES_URI")
    if not base:
        pytest.skip(
            "FORECAST_TEST_POSTGRES_URI is not set: .ci/run starts PostgreSQL with "
            "scripts/start_postgres.sh and sets it"
        )
    import sqlalchemy

    names = [f"forecast_image_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(sqlalchemy.text(f"create database {name}"))
    yield [base.rsplit("/", 1)[0] + f"/{name}" for name in names]
    with admin.connect() as connection:
        for name in names:
            connection.execute(sqlalchemy.text(f"drop database if exists {name} with (force)"))
    admin.dispose()


@dataclass
class Outcome:
    """What the runs inside the image and on the host produced."""

    inside: dict[str, Run]
    outside: dict[str, Run]
    inside_table: Path
    outside_table: Path
    inside_registry: list[tuple[str, str, dict[str, str]]]
    outside_registry: list[tuple[str, str, dict[str, str]]]
    changed_paths: list[str]


@pytest.fixture(scope="module")
def outcome(container: Container, postgres_databases, tmp_path_factory) -> Outcome:
    """The daily run and a 2-shard backfill, in the image and on the host, one server each."""
    from tests.servers import mlflow_server

    folder = tmp_path_factory.mktemp("image-runs")
    before = rootfs_manifest(container.rootfs)
    inside_table = writable_dir(folder / "inside-table")
    outside_table = folder / "outside-table"
    with (
        mlflow_server(writable_dir(folder / "server-in"), postgres_databases[0]) as uri_in,
        mlflow_server(writable_dir(folder / "server-out"), postgres_databases[1]) as uri_out,
    ):
        inside: dict[str, Run] = {}
        args = job_args(uri_in, TABLE_MOUNT)
        volumes = {inside_table: TABLE_MOUNT}
        inside["daily"] = container.run(
            in_image(args["daily"]), writable_dir(folder / "scratch-daily"), volumes=volumes
        )
        for shard in (0, 1):
            inside[f"backfill-{shard}"] = container.run(
                in_image(args["backfill"]),
                writable_dir(folder / f"scratch-backfill-{shard}"),
                env=shard_environment(shard),
                volumes=volumes,
            )
        outside = run_on_host(job_args(uri_out, str(outside_table)), folder / "host-home")
        inside_registry = registry_tags(uri_in)
        outside_registry = registry_tags(uri_out)
    after = rootfs_manifest(container.rootfs)
    changed = sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path) and path not in ENGINE_PATHS
    )
    return Outcome(
        inside,
        outside,
        inside_table,
        outside_table,
        inside_registry,
        outside_registry,
        changed,
    )


def run_on_host(args: dict[str, list[str]], home: Path) -> dict[str, Run]:
    """The same runs as ``python -m jobs`` on the host (this worktree's code)."""
    environment = forecast_env(home, PYTHONPATH=str(REPO_ROOT))
    runs: dict[str, Run] = {}
    for name, command, shard_env in [
        ("daily", args["daily"], {}),
        *[(f"backfill-{shard}", args["backfill"], shard_environment(shard)) for shard in (0, 1)],
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "jobs", *command],
            capture_output=True,
            text=True,
            timeout=900,
            env={**environment, **shard_env},
            check=False,
        )
        runs[name] = Run(result.returncode, result.stdout + result.stderr)
    return runs


def test_version_and_help_run_in_the_image(container: Container, tmp_path: Path) -> None:
    version = container.run(["forecast", "--version"], writable_dir(tmp_path / "v"))
    assert version.returncode == 0, version.output
    assert f"forecast, version {__version__}" in version.output.splitlines(), version.output
    helped = container.run(["forecast", "--help"], writable_dir(tmp_path / "h"))
    assert helped.returncode == 0, helped.output
    for command in ("daily", "backfill", "plan"):
        assert command in helped.output


def test_daily_and_sharded_backfill_succeed_in_the_image(outcome: Outcome) -> None:
    for name, run in outcome.inside.items():
        assert run.returncode == 0, f"{name} in the image:\n{run.output[-3000:]}"
        assert "spark_start" in run.output, run.output[-2000:]
    for name, run in outcome.outside.items():
        assert run.returncode == 0, f"{name} on the host:\n{run.output[-3000:]}"


def test_table_written_in_the_image_equals_the_host_run(outcome: Outcome) -> None:
    inside = table_rows(outcome.inside_table)
    outside = table_rows(outcome.outside_table)
    assert set(inside["forecast_start_date"].astype(str)) >= {FORECAST_DATE}
    assert len(inside) > 0
    pd.testing.assert_frame_equal(inside, outside, check_exact=True)


def test_registry_written_in_the_image_equals_the_host_run(outcome: Outcome) -> None:
    assert outcome.inside_registry, "no model version was registered from the image"
    assert outcome.inside_registry == outcome.outside_registry


def test_nothing_outside_the_volumes_changed(outcome: Outcome) -> None:
    # The read-only root filesystem claim: every write went to /scratch or the table.
    assert outcome.changed_paths == []


def test_no_temporary_folder_is_left_in_scratch(outcome: Outcome, container: Container) -> None:
    # Known defect (issue 11): each logged model leaves a tmp* folder in TMPDIR.
    left = [
        str(path)
        for scratch in container.scratch_dirs
        for path in scratch.glob("tmp*")
        if path.is_dir()
    ]
    assert left == []


def test_delta_smoke_test_passes_in_the_image(container: Container, tmp_path: Path) -> None:
    run = container.run(
        ["python", "/opt/forecast/delta_smoke_test.py"],
        writable_dir(tmp_path / "scratch"),
    )
    assert run.returncode == 0, run.output[-3000:]
    assert "Delta smoke test passed" in run.output


def test_default_sqlite_store_is_a_one_line_error(container: Container, tmp_path: Path) -> None:
    scratch = writable_dir(tmp_path / "scratch")
    run = container.run(["forecast", "daily", "--forecast-date", FORECAST_DATE], scratch)
    assert run.returncode == 2, run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1, run.output
    assert "MLFLOW_TRACKING_URI" in lines[0] and "--tracking-uri" in lines[0]
    assert "Traceback" not in run.output
    # Nothing in FORECAST_HOME (no SQLite store); HOME's caches (matplotlib) may appear.
    assert [path for path in (scratch / "forecast").rglob("*") if path.is_file()] == []


def test_pip_freeze_equals_the_pinned_requirements(container: Container, tmp_path: Path) -> None:
    run = container.run(["pip", "freeze"], writable_dir(tmp_path / "scratch"))
    assert run.returncode == 0, run.output
    pins = [
        line.split("#", 1)[0].strip()
        for line in (REPO_ROOT / "docker" / "requirements.txt").read_text().splitlines()
    ]
    frozen = run.output.strip().splitlines()
    # The project itself, installed from the build's source folder.
    assert [line for line in frozen if line.startswith("commodity-forecast")] == [
        "commodity-forecast @ file:///src"
    ]
    installed = sorted(line.lower() for line in frozen if not line.startswith("commodity-"))
    assert installed == sorted(pin.lower() for pin in pins if pin)


def test_image_is_labelled_with_its_git_revision(image_config: dict) -> None:
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    revision = image_config["Labels"]["org.opencontainers.image.revision"]
    assert revision in (head, f"{head}-dirty")


def test_image_config_agrees_with_the_pod_specs(image_config: dict) -> None:
    assert image_config["Entrypoint"] == ["forecast"]
    assert image_config["User"] == USER
    assert image_config["WorkingDir"] == SCRATCH_PATH
    image_env = dict(item.split("=", 1) for item in image_config["Env"])
    assert os.path.isabs(image_env["FORECAST_SPARK_JARS"])
    rendered, _ = render_chart()
    workloads = [
        plain_manifests()[("CronJob", "commodity-forecast-daily")],
        plain_manifests()[("Job", "commodity-forecast-backfill")],
        rendered[("CronJob", "commodity-forecast-daily")],
    ]
    for workload in workloads:
        container = forecast_container(workload)
        assert "command" not in container, "the pod must use the image's entrypoint"
        assert pod_spec(workload)["securityContext"]["runAsUser"] == kube.RUN_AS_USER
        mounts = [mount["mountPath"] for mount in container["volumeMounts"]]
        assert mounts == [SCRATCH_PATH]
        pod_env = env_of(container)
        for name in ("HOME", "TMPDIR", "SPARK_LOCAL_DIRS", "FORECAST_HOME"):
            assert image_env[name].startswith(SCRATCH_PATH + "/") or image_env[name] == (
                SCRATCH_PATH
            ), name
            assert pod_env[name] == image_env[name], name


def test_build_refuses_a_bad_base_choice() -> None:
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build_image.sh"), "--base", "alpine"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --base 'alpine' is not valid; expected auto, official or debian"
    ]


def test_build_without_a_builder_names_what_to_install(tmp_path: Path) -> None:
    # A PATH with the basic tools but neither docker nor buildah.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sed", "dirname", "date", "cat"):
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build_image.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "buildah" in lines[0] and "apt-get install buildah" in lines[0]


def test_build_without_a_base_says_which_and_why(tmp_path: Path) -> None:
    # buildah with an empty image store and cache, and no mmdebstrap on PATH.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sed", "dirname", "date", "cat", "buildah"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    storage = tmp_path / "storage.conf"
    storage.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{tmp_path / "graph"}"\n'
        f'runroot = "{tmp_path / "run"}"\n'
    )
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build_image.sh"), "--base", "debian"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": str(bin_dir),
            "HOME": str(tmp_path),
            "CONTAINERS_STORAGE_CONF": str(storage),
            "FORECAST_CACHE_DIR": str(tmp_path / "cache"),
        },
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: no base image: --base debian asks for the Debian base, and the Debian base "
        "cannot be built: mmdebstrap is missing (apt-get install mmdebstrap)"
    )


def test_a_two_shard_backfill_at_once_to_s3a_commits_through_the_images_logstore(
    container: Container, tmp_path: Path
) -> None:
    import boto3
    from deltalake import DeltaTable

    from forecast_core.jars import LOGSTORE_JAR
    from tests.servers import mlflow_server, moto_server

    assert (container.rootfs / "opt/forecast/jars" / LOGSTORE_JAR).is_file()
    with (
        moto_server(writable_dir(tmp_path / "moto")) as moto,
        mlflow_server(writable_dir(tmp_path / "server")) as tracking_uri,
    ):
        # moto takes any key; these are not secrets.
        s3 = {
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "image-test",
            "AWS_SECRET_ACCESS_KEY": "image-test",
        }
        client = boto3.client(
            "s3",
            endpoint_url=moto.url,
            region_name="us-east-1",
            aws_access_key_id="image-test",
            aws_secret_access_key="image-test",
        )
        client.create_bucket(Bucket="lake")
        table = "s3a://lake/tables/distributions"
        args = job_args(tracking_uri, table)["backfill"]
        shards = [
            subprocess.Popen(
                container.command(
                    in_image(args),
                    writable_dir(tmp_path / f"scratch-{shard}"),
                    env={**s3, **shard_environment(shard)},
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for shard in (0, 1)
        ]
        outputs = [without_trailer(shard.communicate(timeout=1800)[0]) for shard in shards]
        for shard, output in zip(shards, outputs, strict=True):
            assert shard.returncode == 0, output[:3000] + "\n...\n" + output[-2000:]
        options = {**s3, "AWS_ALLOW_HTTP": "true"}
        rows = DeltaTable("s3://lake/tables/distributions", storage_options=options).to_pandas()
        listed = client.list_objects_v2(Bucket="lake", Prefix="tables/distributions/_delta_log/")
        entries = sorted(i["Key"] for i in listed["Contents"] if i["Key"].endswith(".json"))
        writers = [client.head_object(Bucket="lake", Key=key)["Metadata"] for key in entries]
    forecasts = rows[~rows["is_actuals"]]
    per_key = forecasts.groupby(["model_name", "forecast_start_date"])["path_id"]
    dates = pd.date_range(*BACKFILL).size
    assert len(per_key) == dates * forecasts["model_name"].nunique()  # every forecast, once
    assert (per_key.size() == int(N_PATHS)).all() and (per_key.nunique() == int(N_PATHS)).all()
    versions = [int(Path(key).stem) for key in entries]
    assert versions == list(range(len(versions)))  # no gap in the log
    assert all("delta-writer-id" in metadata for metadata in writers)  # the image's LogStore
