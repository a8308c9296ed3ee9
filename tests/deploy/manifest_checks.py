"""Helpers shared by the deployment tests: load, render, validate and take manifests apart."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "helm" / "commodity-forecast"
K8S_DIR = REPO_ROOT / "k8s"
OVERRIDES_FILE = Path(__file__).with_name("values-overrides.yaml")
# backoffLimitPerIndex and maxFailedIndexes are GA from Kubernetes 1.33.
KUBE_VERSION = "1.33.0"
# With this release name and namespace the chart renders the plain manifests' names.
RELEASE_NAME = "commodity-forecast"
NAMESPACE = "commodity-forecast"
CONTAINER_NAME = "forecast"
SCRATCH_PATH = "/scratch"

Manifest = dict[str, Any]


def load_documents(text: str) -> list[Manifest]:
    """The non-empty YAML documents of ``text``."""
    return [document for document in yaml.safe_load_all(text) if document]


def plain_manifests() -> dict[tuple[str, str], Manifest]:
    """Every object in k8s/, keyed by (kind, name)."""
    objects: list[Manifest] = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        objects += load_documents(path.read_text())
    return by_kind_and_name(objects)


def by_kind_and_name(objects: Iterable[Manifest]) -> dict[tuple[str, str], Manifest]:
    """Objects keyed by (kind, metadata.name); a duplicate key is an error."""
    keyed: dict[tuple[str, str], Manifest] = {}
    for manifest in objects:
        key = (manifest["kind"], manifest["metadata"]["name"])
        if key in keyed:
            raise AssertionError(f"{key} is defined twice")
        keyed[key] = manifest
    return keyed


def render_chart(
    values: dict[str, Any] | None = None, release: str = RELEASE_NAME
) -> tuple[dict[tuple[str, str], Manifest], str]:
    """Render the chart offline: its objects keyed by (kind, name), and NOTES.txt."""
    with helm.Chart.load(CHART_DIR) as chart:
        rendered = chart.render(values, name=release, namespace=NAMESPACE, is_install=True)
    notes = ""
    objects: list[Manifest] = []
    for template, text in rendered.items():
        if template.endswith("NOTES.txt"):
            notes = text
        else:
            objects += load_documents(text)
    return by_kind_and_name(objects), notes


def overrides() -> dict[str, Any]:
    """The values of tests/deploy/values-overrides.yaml."""
    return yaml.safe_load(OVERRIDES_FILE.read_text())


def validate_strict(manifest: Manifest) -> None:
    """Validate against the Kubernetes 1.33 schemas, rejecting unknown fields.

    Raises:
        kubernetes_validate.ValidationError: The object does not fit its schema.
        kubernetes_validate.SchemaNotFoundError: No schema for its kind and apiVersion.
    """
    kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)


def job_spec(workload: Manifest) -> Manifest:
    """The Job spec of a Job or of a CronJob's job template."""
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]
    return workload["spec"]


def pod_spec(workload: Manifest) -> Manifest:
    """The pod spec of a Job or CronJob."""
    return job_spec(workload)["template"]["spec"]


def forecast_container(workload: Manifest) -> Manifest:
    """The one container, named ``forecast``, of a job pod."""
    containers = pod_spec(workload)["containers"]
    assert [container["name"] for container in containers] == [CONTAINER_NAME]
    return containers[0]


def env_of(container: Manifest) -> dict[str, str]:
    """A container's literal env entries as a dict."""
    return {entry["name"]: entry["value"] for entry in container.get("env", [])}


def option_value(args: list[str], option: str) -> str:
    """The value following ``option`` in a container's args."""
    assert args.count(option) == 1, f"{option} appears {args.count(option)} times in {args}"
    return args[args.index(option) + 1]


def assert_hardened_pod(workload: Manifest) -> None:
    """The security and scratch layout every job pod must have."""
    pod = pod_spec(workload)
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    pod_security = pod["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] > 0
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}

    container = forecast_container(workload)
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == pod_security["runAsUser"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert set(container["resources"]["requests"]) >= {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]

    scratch_volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert "emptyDir" in scratch_volumes[mounts[SCRATCH_PATH]]
    env = env_of(container)
    for name in ("HOME", "TMPDIR", "SPARK_LOCAL_DIRS", "FORECAST_HOME"):
        assert env[name].startswith(SCRATCH_PATH), f"{name}={env[name]} is not on the scratch"


def assert_pod_failure_policy(workload: Manifest, action_on_exit_2: str) -> None:
    """Exit code 2 ends the job or index at once; disruptions are not failures."""
    spec = job_spec(workload)
    rules = spec["podFailurePolicy"]["rules"]
    exit_rule = next(rule for rule in rules if "onExitCodes" in rule)
    assert exit_rule["action"] == action_on_exit_2
    assert exit_rule["onExitCodes"] == {
        "containerName": CONTAINER_NAME,
        "operator": "In",
        "values": [2],
    }
    disruption_rule = next(rule for rule in rules if "onPodConditions" in rule)
    assert disruption_rule["action"] == "Ignore"
    assert disruption_rule["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]
    # Required by the API when a pod failure policy is set.
    assert spec["podReplacementPolicy"] == "Failed"


def assert_indexed_backfill(workload: Manifest) -> None:
    """The Indexed Job fields of a backfill, and the shard count handed to the pods."""
    spec = job_spec(workload)
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] >= 1
    assert 1 <= spec["parallelism"] <= spec["completions"]
    assert spec["backoffLimitPerIndex"] >= 0
    assert 0 <= spec["maxFailedIndexes"] <= spec["completions"]
    assert_pod_failure_policy(workload, "FailIndex")
    container = forecast_container(workload)
    assert env_of(container)["FORECAST_SHARD_COUNT"] == str(spec["completions"])
    assert container["args"][0] == "backfill"
    assert_hardened_pod(workload)
