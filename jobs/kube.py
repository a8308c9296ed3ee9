"""The backfill as a Kubernetes Indexed Job, built with the official client's models.

``build_backfill_job`` turns ``BackfillJobOptions`` into a ``kubernetes.client.V1Job``: one
index per shard, ``completions`` sized from the backfill plan (``planning.plan_backfill``:
never more shards than (commodity, window) units), ``FORECAST_SHARD_COUNT`` equal to
``completions`` so each pod's ``forecast backfill`` knows its share (its index comes from
``JOB_COMPLETION_INDEX``, which Kubernetes sets). The pod is the one of
``k8s/job-backfill.yaml`` and of the Helm chart's backfill template: non-root, read-only
root filesystem, a scratch emptyDir, settings from the ConfigMap and the optional
credentials Secret. ``job_to_yaml`` prints it; ``create_job`` submits it to the cluster of
the current kube context.

The Job creates nothing else: its pods read their settings (tracking server, table, data,
paths and seed) from the ConfigMap the Helm chart (or ``k8s/``) creates, and run as the
chart's ServiceAccount. ``needs_comment`` says so at the top of the printed YAML.

Nothing here reads the environment or the clock; ``load_batch_api`` reads the kube
configuration only when called.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import yaml
from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from forecast_core.cadence import Cadence
from forecast_core.errors import ConfigError, ForecastCoreError
from forecast_core.names import check_model_version, parse_commodities, parse_model_names
from forecast_core.planning import BackfillPlan, plan_backfill

APP_NAME = "commodity-forecast"
DEFAULT_NAMESPACE = "commodity-forecast"
DEFAULT_CONFIG_MAP_NAME = "commodity-forecast"
DEFAULT_SECRET_NAME = "commodity-forecast-credentials"
DEFAULT_SERVICE_ACCOUNT_NAME = "commodity-forecast"
CONTAINER_NAME = "forecast"
# The image's user (Dockerfile: USER 10001:10001).
RUN_AS_USER = 10001
SCRATCH_PATH = "/scratch"
SCRATCH_SIZE_LIMIT = "10Gi"
# `forecast` exits 2 on bad usage or configuration: retrying such an index cannot help.
EXIT_CODE_BAD_CONFIGURATION = 2
BACKOFF_LIMIT_PER_INDEX = 2
MAX_FAILED_INDEXES = 1
TTL_SECONDS_AFTER_FINISHED = 7 * 24 * 3600
# Pod hostnames are "<job name>-<index>" and must fit a 63-character DNS label.
MAX_JOB_NAME_LENGTH = 56

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class KubernetesApiError(ForecastCoreError):
    """The Kubernetes API refused a request or could not be reached."""


@dataclass(frozen=True)
class JobResources:
    """CPU and memory of a job pod, as Kubernetes quantities.

    The defaults fit a Spark ``local[2]`` session (about 1 GiB of JVM heap) plus the models.
    """

    cpu_request: str = "1"
    memory_request: str = "3Gi"
    cpu_limit: str = "2"
    memory_limit: str = "4Gi"

    def to_model(self) -> client.V1ResourceRequirements:
        """These resources as the client's ``V1ResourceRequirements``."""
        return client.V1ResourceRequirements(
            requests={"cpu": self.cpu_request, "memory": self.memory_request},
            limits={"cpu": self.cpu_limit, "memory": self.memory_limit},
        )


@dataclass(frozen=True)
class BackfillJobOptions:
    """Everything that decides the backfill Job.

    Attributes:
        image: The job image reference (``registry/name:tag``).
        commodity: The commodity keys, lower case and comma-separated (``coffee``,
            ``coffee,sugar``), or ``all``.
        models: Registered model names, already normalised (``parse_model_names``).
        frequency: The training cadence, one of ``cadence.FREQUENCIES``.
        model_version: The model version label written with every forecast.
        start: First forecast date of the backfill (inclusive).
        end: Last forecast date of the backfill (inclusive).
        shard_count: Shards asked for; the Job runs ``min(shard_count, units)`` of them.
        parallelism: Shards running at the same time.
        n_paths: Paths per forecast (``--n-paths``), or None for the ConfigMap's
            ``FORECAST_N_PATHS`` (the chart's ``forecast.nPaths``), as the daily job uses.
        seed: The base seed (``--seed``), or None for the ConfigMap's ``FORECAST_SEED``.
        data: The data (``--data``), or None for the ConfigMap's ``FORECAST_DATA``.
        namespace: Namespace of the Job.
        resources: CPU and memory of each pod.
        config_map_name: The ConfigMap with MLflow, table and Spark settings (envFrom).
        secret_name: The Secret with credentials (envFrom, optional), or None for none.
        service_account_name: The ServiceAccount the pods run as.

    Raises:
        ConfigError: On construction, if a value is invalid; the message names it.
    """

    image: str
    commodity: str
    models: tuple[str, ...]
    frequency: str
    model_version: str
    start: dt.date
    end: dt.date
    shard_count: int
    parallelism: int = 2
    n_paths: int | None = None
    seed: int | None = None
    data: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    resources: JobResources = field(default_factory=JobResources)
    config_map_name: str = DEFAULT_CONFIG_MAP_NAME
    secret_name: str | None = DEFAULT_SECRET_NAME
    service_account_name: str = DEFAULT_SERVICE_ACCOUNT_NAME

    def __post_init__(self) -> None:
        if not self.image or any(char.isspace() for char in self.image):
            raise ConfigError(f"image {self.image!r} is not valid; expected e.g. registry/name:tag")
        if ",".join(parse_commodities(self.commodity)) != self.commodity:
            raise ConfigError(
                f"commodity {self.commodity!r} is not valid; expected lower-case keys like "
                "'coffee' or 'coffee,sugar', or 'all'"
            )
        if not isinstance(self.models, tuple) or parse_model_names(self.models) != self.models:
            raise ConfigError(
                f"models {self.models!r} are not normalised; expected a tuple built with "
                "parse_model_names"
            )
        check_model_version(self.model_version)
        # Checks the frequency and the range (start <= end, both dates).
        Cadence(self.frequency).windows(self.start, self.end)
        for name, least in (("shard_count", 1), ("parallelism", 1), ("n_paths", 1), ("seed", 0)):
            value = getattr(self, name)
            if value is None and name in ("n_paths", "seed"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(f"{name} {value!r} is not valid; expected an integer >= {least}")
        if self.data is not None and not self.data.strip():
            raise ConfigError(f"data {self.data!r} is not valid; expected a path or URI")
        for name in ("namespace", "config_map_name", "service_account_name"):
            _check_dns_name(name, getattr(self, name))
        if self.secret_name is not None:
            _check_dns_name("secret_name", self.secret_name)

    @property
    def plan(self) -> BackfillPlan:
        """The backfill plan (``forecast plan``) these options describe."""
        # ``all`` is sized as one commodity: the Job is built without reading the data.
        return plan_backfill(
            Cadence(self.frequency),
            self.start,
            self.end,
            self.shard_count,
            len(self.models),
            parse_commodities(self.commodity),
        )

    @property
    def window_count(self) -> int:
        """The number of cadence windows in ``[start, end]``."""
        return len(self.plan.windows)

    @property
    def completions(self) -> int:
        """The shards the Job runs: the plan's useful shards, ``min(shard_count, units)``.

        More shards than (commodity, window) units would start pods with nothing to do.
        """
        return self.plan.useful_shards

    @property
    def job_name(self) -> str:
        """A name that identifies the backfill: commodity, model version and range.

        The same backfill submitted twice gets the same name, so the API refuses the
        duplicate instead of running it twice.
        """
        version = re.sub(r"[^a-z0-9]+", "-", self.model_version.lower()).strip("-")
        commodity = re.sub(r"[^a-z0-9]+", "-", self.commodity)
        name = f"backfill-{commodity}-{version}-{self.start:%Y%m%d}-{self.end:%Y%m%d}"
        return name[:MAX_JOB_NAME_LENGTH].strip("-")


def build_backfill_job(options: BackfillJobOptions) -> client.V1Job:
    """The backfill Indexed Job for ``options``.

    Args:
        options: The validated options.

    Returns:
        A ``V1Job`` with ``completionMode: Indexed``, ``completions`` from the plan,
        ``FORECAST_SHARD_COUNT`` equal to ``completions``, per-index retries, a pod failure
        policy (exit code 2 fails the index at once, disruptions are ignored) and the
        hardened pod of the plain manifests and the chart.
    """
    completions = options.completions
    labels = _labels(component="backfill")
    args = [
        "backfill",
        "--start",
        options.start.isoformat(),
        "--end",
        options.end.isoformat(),
        "--commodity",
        options.commodity,
        "--models",
        ",".join(options.models),
        "--train-frequency",
        options.frequency,
        "--model-version",
        options.model_version,
    ]
    # Unset, the pods take them from the ConfigMap, as the daily job does.
    for option, value in (
        ("--n-paths", options.n_paths),
        ("--seed", options.seed),
        ("--data", options.data),
    ):
        if value is not None:
            args += [option, str(value)]
    env_from = [
        client.V1EnvFromSource(
            config_map_ref=client.V1ConfigMapEnvSource(name=options.config_map_name)
        )
    ]
    if options.secret_name is not None:
        env_from.append(
            client.V1EnvFromSource(
                secret_ref=client.V1SecretEnvSource(name=options.secret_name, optional=True)
            )
        )
    env = [client.V1EnvVar(name="FORECAST_SHARD_COUNT", value=str(completions))]
    env += [client.V1EnvVar(name=name, value=value) for name, value in _scratch_env().items()]
    container = client.V1Container(
        name=CONTAINER_NAME,
        image=options.image,
        image_pull_policy="IfNotPresent",
        args=args,
        env_from=env_from,
        env=env,
        resources=options.resources.to_model(),
        security_context=client.V1SecurityContext(
            run_as_non_root=True,
            run_as_user=RUN_AS_USER,
            allow_privilege_escalation=False,
            privileged=False,
            read_only_root_filesystem=True,
            capabilities=client.V1Capabilities(drop=["ALL"]),
            seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
        ),
        volume_mounts=[client.V1VolumeMount(name="scratch", mount_path=SCRATCH_PATH)],
    )
    pod_spec = client.V1PodSpec(
        service_account_name=options.service_account_name,
        automount_service_account_token=False,
        restart_policy="Never",
        security_context=client.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=RUN_AS_USER,
            run_as_group=RUN_AS_USER,
            fs_group=RUN_AS_USER,
            seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
        ),
        containers=[container],
        volumes=[
            client.V1Volume(
                name="scratch",
                empty_dir=client.V1EmptyDirVolumeSource(size_limit=SCRATCH_SIZE_LIMIT),
            )
        ],
    )
    return client.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=client.V1ObjectMeta(
            name=options.job_name, namespace=options.namespace, labels=labels
        ),
        spec=client.V1JobSpec(
            completion_mode="Indexed",
            completions=completions,
            parallelism=min(options.parallelism, completions),
            backoff_limit_per_index=BACKOFF_LIMIT_PER_INDEX,
            max_failed_indexes=min(MAX_FAILED_INDEXES, completions),
            pod_failure_policy=_pod_failure_policy(),
            pod_replacement_policy="Failed",
            ttl_seconds_after_finished=TTL_SECONDS_AFTER_FINISHED,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=pod_spec
            ),
        ),
    )


def needs_comment(options: BackfillJobOptions) -> str:
    """YAML comment lines: what the Job needs that it does not create, and how to get it."""
    return (
        f"# Backfill Job from `forecast k8s backfill-job`. It creates nothing else: its pods\n"
        f"# read their settings (MLFLOW_TRACKING_URI, FORECAST_TABLE, FORECAST_DATA,\n"
        f"# FORECAST_N_PATHS, FORECAST_SEED, ...) from the ConfigMap {options.config_map_name!r}\n"
        f"# and run as the ServiceAccount {options.service_account_name!r} in namespace\n"
        f"# {options.namespace!r}, which the Helm chart creates (helm/commodity-forecast; the\n"
        f"# plain manifests of k8s/ too). Without them the pods do not start. A release named\n"
        f"# other than commodity-forecast names them <release>-commodity-forecast: pass\n"
        f"# --config-map and --service-account.\n"
    )


def job_to_yaml(job: client.V1Job) -> str:
    """``job`` as a YAML manifest, with the API's field names (``completionMode``).

    Args:
        job: Any client model, usually from ``build_backfill_job``.

    Returns:
        A YAML document that ``kubectl apply -f -`` accepts; unset fields are left out.
    """
    manifest = client.ApiClient().sanitize_for_serialization(job)
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False)


def load_batch_api(config_file: str | None = None, context: str | None = None) -> client.BatchV1Api:
    """A ``BatchV1Api`` for the current kube context, or for the pod's cluster.

    Tries the kube config (``config_file``, else the client's default: ``$KUBECONFIG`` or
    ``~/.kube/config``); if there is none and neither argument was given, falls back to
    the in-cluster service account configuration. The client's global default
    configuration is left untouched.

    Args:
        config_file: A kubeconfig path (or several joined with ``:``), or None.
        context: A context of that kubeconfig, or None for its current context.

    Returns:
        An API object bound to the resolved configuration.

    Raises:
        ConfigError: If no configuration can be loaded; the message says what was tried.
    """
    configuration = client.Configuration()
    try:
        kube_config.load_kube_config(
            config_file=config_file,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except kube_config.ConfigException as kube_error:
        if config_file is not None or context is not None:
            raise ConfigError(
                f"kube config {config_file or 'default'!r} (context {context!r}) cannot be "
                f"used: {kube_error}"
            ) from kube_error
        try:
            kube_config.load_incluster_config(client_configuration=configuration)
        except kube_config.ConfigException as cluster_error:
            raise ConfigError(
                f"no Kubernetes configuration: kube config: {kube_error}; in-cluster: "
                f"{cluster_error}; expected KUBECONFIG, ~/.kube/config or a pod's service account"
            ) from cluster_error
    return client.BatchV1Api(client.ApiClient(configuration))


def create_job(
    job: client.V1Job, namespace: str, api: client.BatchV1Api | None = None
) -> client.V1Job:
    """Create ``job`` in ``namespace``.

    Args:
        job: The Job to create, usually from ``build_backfill_job``.
        namespace: Where to create it.
        api: The API to call; None means ``load_batch_api()`` (current kube context).

    Returns:
        The Job as the API server stored it.

    Raises:
        ConfigError: If ``api`` is None and no kube configuration can be loaded.
        KubernetesApiError: If the server refuses the Job (e.g. 409: a Job of that name
            exists) or cannot be reached; the message names the Job and the status.
    """
    batch_api = api if api is not None else load_batch_api()
    name = job.metadata.name if job.metadata is not None else None
    try:
        return batch_api.create_namespaced_job(namespace=namespace, body=job)
    except ApiException as error:
        raise KubernetesApiError(
            f"creating Job {name!r} in namespace {namespace!r} failed: HTTP {error.status} "
            f"{error.reason}{_api_message(error)}"
        ) from error
    except HTTPError as error:
        raise KubernetesApiError(
            f"creating Job {name!r} in namespace {namespace!r} failed: the API server cannot "
            f"be reached ({error})"
        ) from error


def _labels(component: str) -> dict[str, str]:
    """The labels of the plain manifests and the chart's pod templates."""
    return {
        "app.kubernetes.io/name": APP_NAME,
        "app.kubernetes.io/instance": APP_NAME,
        "app.kubernetes.io/part-of": APP_NAME,
        "app.kubernetes.io/component": component,
    }


def _scratch_env() -> dict[str, str]:
    """Where the job writes: all under the scratch volume, the root filesystem is read-only."""
    return {
        "HOME": SCRATCH_PATH,
        "TMPDIR": SCRATCH_PATH,
        "SPARK_LOCAL_DIRS": f"{SCRATCH_PATH}/spark",
        "FORECAST_HOME": f"{SCRATCH_PATH}/forecast",
    }


def _pod_failure_policy() -> client.V1PodFailurePolicy:
    """Exit code 2 fails the index at once; disruptions (drain, preemption) are ignored."""
    return client.V1PodFailurePolicy(
        rules=[
            client.V1PodFailurePolicyRule(
                action="FailIndex",
                on_exit_codes=client.V1PodFailurePolicyOnExitCodesRequirement(
                    container_name=CONTAINER_NAME,
                    operator="In",
                    values=[EXIT_CODE_BAD_CONFIGURATION],
                ),
            ),
            client.V1PodFailurePolicyRule(
                action="Ignore",
                on_pod_conditions=[
                    client.V1PodFailurePolicyOnPodConditionsPattern(
                        type="DisruptionTarget", status="True"
                    )
                ],
            ),
        ]
    )


def _check_dns_name(name: str, value: str) -> None:
    if not isinstance(value, str) or len(value) > 63 or not _DNS_LABEL.match(value):
        raise ConfigError(
            f"{name} {value!r} is not a valid Kubernetes name; expected lower-case letters, "
            "digits and '-', at most 63 characters"
        )


def _api_message(error: ApiException) -> str:
    """The API server's own message from an error body, if it has one."""
    try:
        body = yaml.safe_load(error.body) if error.body else None
    except yaml.YAMLError:
        return ""
    if isinstance(body, dict) and body.get("message"):
        return f": {str(body['message']).splitlines()[0]}"
    return ""
