"""The backfill Job builder and ``forecast k8s backfill-job``, against kmock's in-process
Kubernetes API emulator (no cluster)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import kmock
import pytest
import yaml
from click.testing import CliRunner
from kubernetes import client

from forecast_core.errors import ConfigError
from jobs import kube
from jobs.k8s_commands import k8s

from .manifest_checks import (
    assert_indexed_backfill,
    env_of,
    forecast_container,
    job_spec,
    option_value,
    pod_spec,
    validate_strict,
)

JOBS = "batch/v1/jobs"
TOKEN = "test-token"


@dataclass
class FakeApiServer:
    """kmock's Kubernetes emulator, served over HTTP from a background event loop."""

    emulator: kmock.KubernetesEmulator
    url: str

    def stored_job(self, namespace: str, name: str) -> dict[str, Any]:
        """The Job as the fake API server stored it (plain dicts)."""
        return yaml.safe_load(yaml.safe_dump(_plain(self.emulator.objects[JOBS, namespace, name])))

    def job_names(self) -> list[tuple[str, str]]:
        return [
            (namespace, name)
            for resource, namespace, name in self.emulator.objects
            if resource.plural == "jobs"
            and not self.emulator.objects[resource, namespace, name].deleted
        ]

    def requests_to_jobs(self) -> list[Any]:
        return [request for request in self.emulator if "/jobs" in str(request.url)]


def _plain(value: Any) -> Any:
    """kmock's object views as plain dicts and lists."""
    if hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


@pytest.fixture
def api_server() -> Iterator[FakeApiServer]:
    """A fresh fake API server per test, on a free localhost port."""
    started = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        state["stop"] = asyncio.Event()
        state["loop"] = asyncio.get_running_loop()
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:
            state["server"] = FakeApiServer(emulator, str(server.url).rstrip("/"))
            started.set()
            await state["stop"].wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert started.wait(10), "kmock did not start"
    yield state["server"]
    state["loop"].call_soon_threadsafe(state["stop"].set)
    thread.join(10)


@pytest.fixture
def kubeconfig(tmp_path: Path, api_server: FakeApiServer) -> Path:
    """A kubeconfig whose current context is the fake API server, with a bearer token."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": api_server.url}}],
                "users": [{"name": "tester", "user": {"token": TOKEN}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "tester"}}],
                "current-context": "fake",
            }
        )
    )
    return path


def _options(**changes: Any) -> kube.BackfillJobOptions:
    values: dict[str, Any] = {
        "image": "registry.example.com/commodity-forecast:0.2.0",
        "commodity": "coffee",
        "models": ("naive", "random_walk"),
        "frequency": "quarterly",
        "model_version": "v1.0",
        "start": dt.date(2023, 1, 1),
        "end": dt.date(2023, 12, 31),
        "shard_count": 3,
        "parallelism": 2,
        "namespace": "forecast-test",
    }
    values.update(changes)
    return kube.BackfillJobOptions(**values)


def _manifest(job: client.V1Job) -> dict[str, Any]:
    return client.ApiClient().sanitize_for_serialization(job)


# -- building -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shard_count", "expected_completions"),
    [(1, 1), (3, 3), (4, 4), (10, 4)],
    ids=["one shard", "fewer shards than windows", "one shard per window", "capped at windows"],
)
def test_completions_follow_the_plan(shard_count: int, expected_completions: int) -> None:
    # 2023 has four quarterly windows.
    options = _options(shard_count=shard_count)
    manifest = _manifest(kube.build_backfill_job(options))
    assert options.window_count == 4
    assert manifest["spec"]["completions"] == expected_completions
    assert env_of(forecast_container(manifest))["FORECAST_SHARD_COUNT"] == str(expected_completions)
    assert manifest["spec"]["parallelism"] == min(2, expected_completions)


def test_several_commodities_give_more_units_to_shard() -> None:
    # Two commodities x four quarterly windows: eight units; "all" is sized as one.
    options = _options(shard_count=10, commodity="coffee,sugar")
    manifest = _manifest(kube.build_backfill_job(options))
    assert manifest["spec"]["completions"] == 8
    assert option_value(forecast_container(manifest)["args"], "--commodity") == "coffee,sugar"
    assert options.job_name.startswith("backfill-coffee-sugar-")
    assert kube.build_backfill_job(_options(shard_count=10, commodity="all")).spec.completions == 4


def test_built_job_is_a_valid_hardened_indexed_job() -> None:
    manifest = _manifest(kube.build_backfill_job(_options()))
    validate_strict(manifest)
    assert_indexed_backfill(manifest)
    assert manifest["metadata"] == {
        "name": "backfill-coffee-v1-0-20230101-20231231",
        "namespace": "forecast-test",
        "labels": {
            "app.kubernetes.io/name": "commodity-forecast",
            "app.kubernetes.io/instance": "commodity-forecast",
            "app.kubernetes.io/part-of": "commodity-forecast",
            "app.kubernetes.io/component": "backfill",
        },
    }
    args = forecast_container(manifest)["args"]
    assert args[:5] == ["backfill", "--start", "2023-01-01", "--end", "2023-12-31"]
    assert option_value(args, "--models") == "naive,random_walk"
    assert option_value(args, "--train-frequency") == "quarterly"
    # The index comes from Kubernetes (JOB_COMPLETION_INDEX), never from the args.
    assert "--shard-index" not in args and "--shard-count" not in args


def test_settings_and_credentials_come_by_reference() -> None:
    container = forecast_container(
        _manifest(
            kube.build_backfill_job(_options(config_map_name="forecast-settings", secret_name=None))
        )
    )
    assert container["envFrom"] == [{"configMapRef": {"name": "forecast-settings"}}]
    container = forecast_container(_manifest(kube.build_backfill_job(_options())))
    assert {"secretRef": {"name": "commodity-forecast-credentials", "optional": True}} in (
        container["envFrom"]
    )


def test_resources_are_set_from_options() -> None:
    resources = kube.JobResources(
        cpu_request="3", memory_request="5Gi", cpu_limit="4", memory_limit="6Gi"
    )
    container = forecast_container(
        _manifest(kube.build_backfill_job(_options(resources=resources)))
    )
    assert container["resources"] == {
        "requests": {"cpu": "3", "memory": "5Gi"},
        "limits": {"cpu": "4", "memory": "6Gi"},
    }


def test_job_name_fits_pod_hostnames() -> None:
    options = _options(commodity="arabica_coffee_" + "x" * 40, model_version="release-2024.10")
    assert len(options.job_name) <= kube.MAX_JOB_NAME_LENGTH
    assert options.job_name.startswith("backfill-arabica-coffee-")
    assert not options.job_name.endswith("-")


def test_job_to_yaml_uses_api_field_names() -> None:
    text = kube.job_to_yaml(kube.build_backfill_job(_options()))
    manifest = yaml.safe_load(text)
    assert manifest["spec"]["completionMode"] == "Indexed"
    assert "completion_mode" not in text
    assert "null" not in text
    validate_strict(manifest)


BAD_OPTIONS = {
    "unknown model": {"models": ("naive", "prophet")},
    "models not normalised": {"models": ("Naive",)},
    "unknown frequency": {"frequency": "fortnightly"},
    "start after end": {"start": dt.date(2024, 1, 2), "end": dt.date(2024, 1, 1)},
    "zero shards": {"shard_count": 0},
    "zero parallelism": {"parallelism": 0},
    "empty image": {"image": ""},
    "bad namespace": {"namespace": "Forecast_Test"},
    "bad commodity": {"commodity": "Coffee Beans"},
    "blank model version": {"model_version": " "},
}


@pytest.mark.parametrize("changes", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_options_are_config_errors(changes: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        _options(**changes)


# -- creating, against the fake API server ---------------------------------------------


def test_create_job_submits_the_built_job(api_server: FakeApiServer) -> None:
    options = _options()
    job = kube.build_backfill_job(options)
    api = client.BatchV1Api(client.ApiClient(client.Configuration(host=api_server.url)))

    created = kube.create_job(job, options.namespace, api=api)

    assert created.metadata.name == options.job_name
    assert api_server.job_names() == [("forecast-test", options.job_name)]
    stored = api_server.stored_job("forecast-test", options.job_name)
    assert stored["spec"] == _manifest(job)["spec"]
    assert [request.method.value for request in api_server.requests_to_jobs()] == ["POST"]
    assert str(api_server.requests_to_jobs()[0].url).endswith(
        "/apis/batch/v1/namespaces/forecast-test/jobs"
    )


def test_create_job_twice_is_refused(api_server: FakeApiServer) -> None:
    options = _options()
    job = kube.build_backfill_job(options)
    api = client.BatchV1Api(client.ApiClient(client.Configuration(host=api_server.url)))
    kube.create_job(job, options.namespace, api=api)
    with pytest.raises(kube.KubernetesApiError, match="409"):
        kube.create_job(job, options.namespace, api=api)
    assert len(api_server.job_names()) == 1


def test_load_batch_api_uses_the_kubeconfig_context(
    api_server: FakeApiServer, kubeconfig: Path
) -> None:
    api = kube.load_batch_api(config_file=str(kubeconfig))
    kube.create_job(kube.build_backfill_job(_options()), "forecast-test", api=api)
    request = api_server.requests_to_jobs()[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_load_batch_api_without_configuration_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kube config"):
        kube.load_batch_api(config_file=str(tmp_path / "missing"))


# -- the CLI ---------------------------------------------------------------------------


def _cli_args(*args: str) -> list[str]:
    return [
        "backfill-job",
        "--start",
        "2020-01-01",
        "--end",
        "2024-12-31",
        "--commodity",
        "coffee",
        "--models",
        "naive, random_walk",
        "--train-frequency",
        "Semiannually",
        "--model-version",
        "v1.0",
        "--shard-count",
        "4",
        "--parallelism",
        "2",
        "--image",
        "registry.example.com/commodity-forecast:0.2.0",
        "--namespace",
        "forecast-test",
        *args,
    ]


def test_cli_prints_the_job_as_yaml() -> None:
    result = CliRunner().invoke(k8s, _cli_args())
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(result.stdout)
    validate_strict(manifest)
    assert_indexed_backfill(manifest)
    assert job_spec(manifest)["completions"] == 4
    args = forecast_container(manifest)["args"]
    # Options are normalised before they reach the pod.
    assert option_value(args, "--models") == "naive,random_walk"
    assert option_value(args, "--train-frequency") == "semiannually"


def test_cli_says_what_the_job_needs_and_leaves_paths_seed_and_data_to_the_config_map() -> None:
    result = CliRunner().invoke(k8s, _cli_args())
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        "# Backfill Job from `forecast k8s backfill-job`. It creates nothing else: its pods",
        "# read their settings (MLFLOW_TRACKING_URI, FORECAST_TABLE, FORECAST_DATA,",
        "# FORECAST_N_PATHS, FORECAST_SEED, ...) from the ConfigMap 'commodity-forecast'",
    ]
    container = forecast_container(yaml.safe_load(result.stdout))
    assert container["envFrom"][0] == {"configMapRef": {"name": "commodity-forecast"}}
    assert not {"--n-paths", "--seed", "--data"} & set(container["args"])


def test_cli_paths_seed_data_and_the_chart_release_reach_the_pods() -> None:
    result = CliRunner().invoke(
        k8s,
        _cli_args(
            "--n-paths",
            "500",
            "--seed",
            "7",
            "--data",
            "s3a://lake/inputs",
            "--config-map",
            "forecast-commodity-forecast",
            "--service-account",
            "forecast-commodity-forecast",
        ),
    )
    assert result.exit_code == 0, result.output
    assert "from the ConfigMap 'forecast-commodity-forecast'" in result.stdout
    manifest = yaml.safe_load(result.stdout)
    validate_strict(manifest)
    args = forecast_container(manifest)["args"]
    assert (option_value(args, "--n-paths"), option_value(args, "--seed")) == ("500", "7")
    assert option_value(args, "--data") == "s3a://lake/inputs"
    assert forecast_container(manifest)["envFrom"][0] == {
        "configMapRef": {"name": "forecast-commodity-forecast"}
    }
    assert pod_spec(manifest)["serviceAccountName"] == "forecast-commodity-forecast"


def test_cli_caps_shards_at_the_number_of_windows() -> None:
    result = CliRunner().invoke(k8s, _cli_args("--shard-count", "50"))
    assert result.exit_code == 0, result.output
    assert job_spec(yaml.safe_load(result.stdout))["completions"] == 10
    assert "running 10 shards, not 50" in result.stderr


def test_cli_apply_creates_the_job_in_the_current_context(
    api_server: FakeApiServer, kubeconfig: Path
) -> None:
    result = CliRunner().invoke(k8s, _cli_args("--apply"), env={"KUBECONFIG": str(kubeconfig)})
    assert result.exit_code == 0, result.output
    name = "backfill-coffee-v1-0-20200101-20241231"
    assert f"job.batch/{name} created in namespace forecast-test" in result.stdout
    assert f"get pods -l job-name={name}" in result.stdout
    stored = api_server.stored_job("forecast-test", name)
    assert stored["spec"]["completions"] == 4
    assert env_of(forecast_container(stored))["FORECAST_SHARD_COUNT"] == "4"
    assert api_server.requests_to_jobs()[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_cli_apply_twice_fails_with_exit_code_1(
    api_server: FakeApiServer, kubeconfig: Path
) -> None:
    runner = CliRunner()
    env = {"KUBECONFIG": str(kubeconfig)}
    assert runner.invoke(k8s, _cli_args("--apply"), env=env).exit_code == 0
    result = runner.invoke(k8s, _cli_args("--apply"), env=env)
    assert result.exit_code == 1
    assert "409" in result.stderr and len(result.stderr.strip().splitlines()) == 1


BAD_CLI_ARGS = {
    "unknown model": ["--models", "naive,prophet"],
    "unknown frequency": ["--train-frequency", "fortnightly"],
    "bad date": ["--start", "2020-13-01"],
    "zero shards": ["--shard-count", "0"],
    "bad namespace": ["--namespace", "Not_A_Name"],
    "zero paths": ["--n-paths", "0"],
    "negative seed": ["--seed", "-1"],
    "bad config map name": ["--config-map", "Forecast_Config"],
}


@pytest.mark.parametrize("extra", BAD_CLI_ARGS.values(), ids=BAD_CLI_ARGS.keys())
def test_cli_bad_values_exit_2_and_create_nothing(
    extra: list[str], api_server: FakeApiServer, kubeconfig: Path
) -> None:
    result = CliRunner().invoke(
        k8s, _cli_args(*extra, "--apply"), env={"KUBECONFIG": str(kubeconfig)}
    )
    assert result.exit_code == 2, result.output
    assert "Error:" in result.stderr
    assert api_server.requests_to_jobs() == []


def test_cli_apply_without_kube_config_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        k8s, _cli_args("--apply"), env={"KUBECONFIG": str(tmp_path / "missing")}
    )
    assert result.exit_code == 2
    assert "kube config" in result.stderr


def test_cli_apply_to_an_unreachable_server_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                # Port 9 (discard) on localhost: nothing listens, the connection is refused.
                "clusters": [{"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
                "current-context": "gone",
            }
        )
    )
    result = CliRunner().invoke(k8s, _cli_args("--apply"), env={"KUBECONFIG": str(config)})
    assert result.exit_code == 1, result.output
    assert "cannot be reached" in result.stderr


def test_k8s_group_is_registered_in_the_main_cli() -> None:
    from jobs.cli import cli

    assert "k8s" in cli.commands
    result = CliRunner().invoke(cli, ["k8s", *_cli_args()])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["kind"] == "Job"


def test_options_are_immutable() -> None:
    options = _options()
    with pytest.raises(AttributeError):
        options.shard_count = 9  # type: ignore[misc]
    assert replace(options, shard_count=1).completions == 1
