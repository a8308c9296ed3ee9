"""``forecast k8s``: Kubernetes workloads of the pipeline, built from the library.

``forecast k8s backfill-job`` turns a backfill range into the Indexed Job of
``jobs.kube`` and prints it as YAML, or creates it with ``--apply`` in the current
kube context. The main CLI registers the group with ``cli.add_command(k8s)``.

Exit codes: 0 ok; 1 the Kubernetes API refused the Job or could not be reached; 2 bad
usage or configuration (nothing created).
"""

from __future__ import annotations

import datetime as dt

import click

from forecast_core.cadence import parse_frequency
from forecast_core.errors import ConfigError
from forecast_core.names import parse_commodities, parse_model_names
from jobs import options
from jobs.common import EXIT_MODEL_FAILED, fail


@click.group("k8s")
def k8s() -> None:
    """Kubernetes workloads: build (and optionally create) the backfill Indexed Job."""


@k8s.command("backfill-job")
@options.start()
@options.end()
@options.commodities()
@options.models()
@options.train_frequency()
@options.model_version("Model version label.")
@options.shard_count(4, "Shards asked for; the Job runs at most one per cadence window.")
# --shard-count and --parallelism are alike in shape only: two counts of shards.
@click.option(
    "--parallelism",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Shards running at the same time.",
)
@click.option(
    "--n-paths",
    type=click.IntRange(min=1),
    default=None,
    help="Paths per forecast; default: FORECAST_N_PATHS of the ConfigMap (the chart's "
    "forecast.nPaths, as the daily job uses).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Base random seed; default: FORECAST_SEED of the ConfigMap (forecast.seed).",
)
@click.option(
    "--data",
    default=None,
    metavar="PATH|URI",
    help="Data the pods read (a path inside the pod, or a URI); default: FORECAST_DATA of "
    "the ConfigMap (config.data).",
)
@click.option(
    "--image",
    required=True,
    envvar="FORECAST_IMAGE",
    show_envvar=True,
    help="Job image, e.g. registry/commodity-forecast:0.3.0.",
)
@click.option(
    "--namespace",
    default="commodity-forecast",
    envvar="FORECAST_NAMESPACE",
    show_default=True,
    show_envvar=True,
    help="Namespace of the Job.",
)
@click.option(
    "--config-map",
    default="commodity-forecast",
    envvar="FORECAST_CONFIG_MAP",
    show_default=True,
    show_envvar=True,
    help="The ConfigMap the pods read their settings from: the chart's, named after its "
    "release (<release>-commodity-forecast, or commodity-forecast for that release name).",
)
@click.option(
    "--service-account",
    default="commodity-forecast",
    envvar="FORECAST_SERVICE_ACCOUNT",
    show_default=True,
    show_envvar=True,
    help="The ServiceAccount the pods run as: the chart's, named like its ConfigMap.",
)
@click.option(
    "--apply",
    "apply_job",
    is_flag=True,
    help="Create the Job in the current kube context instead of printing it.",
)
@click.option(
    "--kubeconfig",
    envvar="KUBECONFIG",
    show_envvar=True,
    default=None,
    help="Kubeconfig path for --apply (default ~/.kube/config, else in-cluster).",
)
@click.option("--context", "kube_context", default=None, help="Kube context for --apply.")
def backfill_job(
    start: dt.date,
    end: dt.date,
    commodity: str,
    models: str,
    train_frequency: str,
    model_version: str,
    shard_count: int,
    parallelism: int,
    n_paths: int | None,
    seed: int | None,
    data: str | None,
    image: str,
    namespace: str,
    config_map: str,
    service_account: str,
    apply_job: bool,
    kubeconfig: str | None,
    kube_context: str | None,
) -> None:
    """Print the backfill Indexed Job for [START, END] as YAML, or create it with --apply.

    The Job runs min(--shard-count, commodities x cadence windows) shards (``all`` counts as
    one commodity: the data is not read here); each pod runs `forecast backfill` for its
    share (JOB_COMPLETION_INDEX of FORECAST_SHARD_COUNT).

    The Job needs the ConfigMap and ServiceAccount that the Helm chart creates (tracking
    server, table, data, paths and seed come from the ConfigMap, as for the daily job):
    install the chart first, and name them with --config-map and --service-account when
    its release is not called commodity-forecast. The printed YAML says so at its top.
    """
    # Imported here so that `forecast --help` and the other commands do not load the
    # Kubernetes client.
    from jobs import kube

    try:
        job_options = kube.BackfillJobOptions(
            image=image.strip(),
            commodity=",".join(parse_commodities(commodity)),
            models=parse_model_names(models.split(",")),
            frequency=parse_frequency(train_frequency),
            model_version=model_version.strip(),
            start=start,
            end=end,
            shard_count=shard_count,
            parallelism=parallelism,
            n_paths=n_paths,
            seed=seed,
            data=data,
            namespace=namespace.strip(),
            config_map_name=config_map.strip(),
            service_account_name=service_account.strip(),
        )
    except ConfigError as error:
        fail(str(error))

    if job_options.completions < shard_count:
        click.echo(
            f"note: {job_options.window_count} {job_options.frequency} training windows per "
            f"commodity in "
            f"{job_options.start}..{job_options.end}; running {job_options.completions} shards, "
            f"not {shard_count}",
            err=True,
        )
    job = kube.build_backfill_job(job_options)
    if not apply_job:
        click.echo(kube.needs_comment(job_options) + kube.job_to_yaml(job), nl=False)
        return

    try:
        api = kube.load_batch_api(config_file=kubeconfig, context=kube_context)
    except ConfigError as error:
        fail(str(error))
    try:
        created = kube.create_job(job, namespace=job_options.namespace, api=api)
    except kube.KubernetesApiError as error:
        fail(str(error), EXIT_MODEL_FAILED)
    name = created.metadata.name if created.metadata is not None else job_options.job_name
    running = job.spec.parallelism if job.spec is not None else parallelism
    click.echo(
        f"job.batch/{name} created in namespace {job_options.namespace}: "
        f"{job_options.completions} shards, {running} at a time"
    )
    click.echo(f"follow it: kubectl -n {job_options.namespace} get pods -l job-name={name}")
