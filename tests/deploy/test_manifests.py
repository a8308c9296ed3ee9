"""The plain manifests in k8s/: valid, hardened, and the same workloads as the chart and
the Job builder describe."""

from __future__ import annotations

import copy
import datetime as dt

import kubernetes_validate
import pytest
from kubernetes import client

from forecast_core.cadence import Cadence
from jobs import kube

from .manifest_checks import (
    K8S_DIR,
    NAMESPACE,
    assert_hardened_pod,
    assert_indexed_backfill,
    assert_pod_failure_policy,
    env_of,
    forecast_container,
    job_spec,
    load_documents,
    option_value,
    plain_manifests,
    render_chart,
    validate_strict,
)

PLAIN_FILES = sorted(path.name for path in K8S_DIR.glob("*.yaml"))
# Labels only Helm adds (release bookkeeping); everything else must match.
HELM_ONLY_LABELS = {"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}


@pytest.fixture(scope="module")
def plain():
    return plain_manifests()


def test_k8s_folder_has_every_manifest() -> None:
    assert set(PLAIN_FILES) >= {
        "serviceaccount.yaml",
        "configmap.yaml",
        "secret.example.yaml",
        "cronjob-daily.yaml",
        "cronjob-monitor.yaml",
        "job-backfill.yaml",
    }


@pytest.mark.parametrize("file_name", PLAIN_FILES)
def test_plain_manifest_is_valid_for_kubernetes_1_33(file_name: str) -> None:
    documents = load_documents((K8S_DIR / file_name).read_text())
    assert documents
    for manifest in documents:
        assert manifest["metadata"].get("namespace", NAMESPACE) == NAMESPACE
        validate_strict(manifest)


def test_strict_validation_catches_a_misspelled_field(plain) -> None:
    # The validation above can fail: an unknown field (a typo) is rejected in strict mode.
    job = copy.deepcopy(plain["Job", "commodity-forecast-backfill"])
    job["spec"]["backoffLimitPerIndx"] = job["spec"].pop("backoffLimitPerIndex")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_strict(job)


def test_plain_daily_cronjob(plain) -> None:
    cronjob = plain["CronJob", "commodity-forecast-daily"]
    spec = cronjob["spec"]
    assert (spec["schedule"], spec["timeZone"]) == ("0 6 * * *", "Etc/UTC")
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    assert job_spec(cronjob)["backoffLimit"] >= 1
    assert_pod_failure_policy(cronjob, "FailJob")
    assert_hardened_pod(cronjob)
    assert forecast_container(cronjob)["args"][0] == "daily"


def test_plain_backfill_is_sized_from_the_plan(plain) -> None:
    job = plain["Job", "commodity-forecast-backfill"]
    assert_indexed_backfill(job)
    args = forecast_container(job)["args"]
    start = dt.date.fromisoformat(option_value(args, "--start"))
    end = dt.date.fromisoformat(option_value(args, "--end"))
    windows = Cadence(option_value(args, "--train-frequency")).windows(start, end)
    # No more shards than cadence windows, so no pod starts with nothing to do.
    assert job_spec(job)["completions"] <= len(windows)


def test_plain_pods_never_mount_an_api_token(plain) -> None:
    assert plain["ServiceAccount", "commodity-forecast"]["automountServiceAccountToken"] is False
    assert not [kind for kind, _ in plain if kind in {"Role", "RoleBinding", "ClusterRole"}]


def test_secret_example_holds_placeholders_only(plain) -> None:
    secret = plain["Secret", "commodity-forecast-credentials"]
    assert "MLFLOW_TRACKING_TOKEN" in secret["stringData"]
    for key, value in secret["stringData"].items():
        assert value.startswith("<example-placeholder"), f"{key} looks like a real value"
    # The workloads reference it by name only, and start without it.
    cronjob = plain["CronJob", "commodity-forecast-daily"]
    assert {"secretRef": {"name": "commodity-forecast-credentials", "optional": True}} in (
        forecast_container(cronjob)["envFrom"]
    )


def _without_helm_labels(manifest: dict) -> dict:
    stripped = copy.deepcopy(manifest)
    labels = stripped["metadata"].get("labels", {})
    for label in HELM_ONLY_LABELS:
        labels.pop(label, None)
    return stripped


@pytest.mark.parametrize(
    "key",
    [
        ("CronJob", "commodity-forecast-daily"),
        ("CronJob", "commodity-forecast-monitor"),
        ("ConfigMap", "commodity-forecast"),
        ("ServiceAccount", "commodity-forecast"),
    ],
    ids=lambda key: key[0],
)
def test_chart_defaults_render_the_plain_manifests(plain, key) -> None:
    rendered, _ = render_chart()
    assert _without_helm_labels(rendered[key]) == plain[key]


def test_chart_backfill_renders_the_plain_backfill_job(plain) -> None:
    plain_job = plain["Job", "commodity-forecast-backfill"]
    spec = job_spec(plain_job)
    args = forecast_container(plain_job)["args"]
    values = {
        "backfill": {
            "enabled": True,
            "start": option_value(args, "--start"),
            "end": option_value(args, "--end"),
            "shards": spec["completions"],
            "parallelism": spec["parallelism"],
        }
    }
    rendered, _ = render_chart(values)
    assert _without_helm_labels(rendered["Job", "commodity-forecast-backfill"]) == plain_job


def test_job_builder_builds_the_plain_backfill_job(plain) -> None:
    plain_job = plain["Job", "commodity-forecast-backfill"]
    container = forecast_container(plain_job)
    args = container["args"]
    options = kube.BackfillJobOptions(
        image=container["image"],
        commodity=option_value(args, "--commodity"),
        models=tuple(option_value(args, "--models").split(",")),
        frequency=option_value(args, "--train-frequency"),
        model_version=option_value(args, "--model-version"),
        start=dt.date.fromisoformat(option_value(args, "--start")),
        end=dt.date.fromisoformat(option_value(args, "--end")),
        shard_count=int(env_of(container)["FORECAST_SHARD_COUNT"]),
        parallelism=job_spec(plain_job)["parallelism"],
        namespace=plain_job["metadata"]["namespace"],
    )
    built = client.ApiClient().sanitize_for_serialization(kube.build_backfill_job(options))
    # Same workload; only the name differs (the builder names the Job after its range).
    assert built["spec"] == plain_job["spec"]
    assert built["metadata"]["labels"] == plain_job["metadata"]["labels"]
