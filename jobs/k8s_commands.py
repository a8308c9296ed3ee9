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

from forecast_core.cadence import FREQUENCIES, parse_frequency
from forecast_core.config import DEFAULT_MODEL_VERSION
from forecast_core.errors import ConfigError

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("k8s")
def k8s() -> None:
    """Kubernetes workloads: build (and optionally create) the backfill Indexed Job."""


@k8s.command("backfill-job")
@click.option("--start", required=True, type=_DATE, help="First forecast date, YYYY-MM-DD.")
@click.option("--end", required=True, type=_DATE, help="Last forecast date, YYYY-MM-DD.")
@click.option("--commodity", default="coffee", show_default=True, help="Commodity key.")
@click.option(
    "--models",
    default="naive,random_walk,sarimax,xgboost",
    show_default=True,
    help="Comma-separated registered model names.",
)
@click.option(
    "--train-frequency",
    default="semiannually",
    show_default=True,
    help=f"Training cadence: {', '.join(FREQUENCIES)}.",
)
@click.option(
    "--model-version", default=DEFAULT_MODEL_VERSION, show_default=True, help="Model version label."
)
@click.option(
    "--shard-count",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Shards asked for; the Job runs at most one per cadence window.",
)
@click.option(
    "--parallelism",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Shards running at the same time.",
)
@click.option(
    "--image",
    required=True,
    envvar="FORECAST_IMAGE",
    show_envvar=True,
    help="Job image, e.g. registry/commodity-forecast:0.1.0.",
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
    start: dt.datetime,
    end: dt.datetime,
    commodity: str,
    models: str,
    train_frequency: str,
    model_version: str,
    shard_count: int,
    parallelism: int,
    image: str,
    namespace: str,
    apply_job: bool,
    kubeconfig: str | None,
    kube_context: str | None,
) -> None:
    """Print the backfill Indexed Job for [START, END] as YAML, or create it with --apply.

    The Job runs min(--shard-count, cadence windows) shards; each pod runs
    `forecast backfill` for its share (JOB_COMPLETION_INDEX of FORECAST_SHARD_COUNT).
    """
    # Imported here so that `forecast --help` and the other commands do not load the
    # Kubernetes client.
    from forecast_core.models import parse_model_names
    from jobs import kube

    try:
        options = kube.BackfillJobOptions(
            image=image.strip(),
            commodity=commodity.strip().lower(),
            models=parse_model_names(models.split(",")),
            frequency=parse_frequency(train_frequency),
            model_version=model_version.strip(),
            start=start.date(),
            end=end.date(),
            shard_count=shard_count,
            parallelism=parallelism,
            namespace=namespace.strip(),
        )
    except ConfigError as error:
        raise click.UsageError(str(error)) from error

    if options.completions < shard_count:
        click.echo(
            f"note: {options.window_count} {options.frequency} training windows in "
            f"{options.start}..{options.end}; running {options.completions} shards, "
            f"not {shard_count}",
            err=True,
        )
    job = kube.build_backfill_job(options)
    if not apply_job:
        click.echo(kube.job_to_yaml(job), nl=False)
        return

    try:
        api = kube.load_batch_api(config_file=kubeconfig, context=kube_context)
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    try:
        created = kube.create_job(job, namespace=options.namespace, api=api)
    except kube.KubernetesApiError as error:
        raise click.ClickException(str(error)) from error
    name = created.metadata.name if created.metadata is not None else options.job_name
    click.echo(
        f"job.batch/{name} created in namespace {options.namespace}: "
        f"{options.completions} shards, {job.spec.parallelism} at a time"
    )
    click.echo(f"follow it: kubectl -n {options.namespace} get pods -l job-name={name}")
