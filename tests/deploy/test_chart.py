"""The Helm chart: strict lint, schema, rendering with defaults and with overrides."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from jobs.connect_server import connect_server

from .manifest_checks import (
    CHART_DIR,
    KUBE_VERSION,
    NAMESPACE,
    assert_hardened_pod,
    assert_indexed_backfill,
    assert_pod_failure_policy,
    env_of,
    forecast_container,
    job_spec,
    option_value,
    overrides,
    pod_spec,
    render_chart,
    validate_strict,
)

# Helm lint severities: 1 info, 2 warning, 3 error.
WARNING = 2


@pytest.fixture(scope="module")
def default_render() -> tuple[dict[tuple[str, str], Any], str]:
    return render_chart()


@pytest.fixture(scope="module")
def overrides_render() -> tuple[dict[tuple[str, str], Any], str]:
    return render_chart(overrides())


# The values sets that lint and Kubernetes validation cover.
VALUE_SETS: dict[str, Any] = {
    "defaults": None,
    "overrides": overrides(),
    "spark connect": {"sparkConnect": {"enabled": True}},
}


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_chart_passes_strict_lint(values_name: str) -> None:
    values = VALUE_SETS[values_name]
    report = helm.lint(
        CHART_DIR, values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}"
    )
    problems = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert report["total_charts_linted"] == 1
    assert report["errors"] == [] and problems == [], (report["errors"], problems)


def test_lint_reports_a_broken_template(tmp_path) -> None:
    # The lint check above can fail: a chart with an unclosed action is reported.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (broken / "values.yaml").write_text("{}\n")
    (broken / "templates").mkdir()
    (broken / "templates" / "cm.yaml").write_text("kind: ConfigMap\nname: {{ .Values.x\n")
    report = helm.lint(broken, strict=True)
    assert report["errors"] or any(m["severity"] >= WARNING for m in report["messages"])


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_every_rendered_object_is_valid_for_kubernetes_1_33(values_name: str) -> None:
    objects, _ = render_chart(VALUE_SETS[values_name])
    assert objects
    for manifest in objects.values():
        validate_strict(manifest)


def test_default_rendering_has_the_daily_workload_and_its_monitor(default_render) -> None:
    objects, _ = default_render
    assert set(objects) == {
        ("ServiceAccount", "commodity-forecast"),
        ("ConfigMap", "commodity-forecast"),
        ("CronJob", "commodity-forecast-daily"),
        ("CronJob", "commodity-forecast-monitor"),
    }


def test_the_monitor_runs_at_seven_utc_with_the_daily_selection_and_thresholds(
    default_render,
) -> None:
    objects, _ = default_render
    cronjob = objects["CronJob", "commodity-forecast-monitor"]
    assert (cronjob["spec"]["schedule"], cronjob["spec"]["timeZone"]) == ("0 7 * * *", "Etc/UTC")
    assert job_spec(cronjob)["backoffLimit"] == 0
    assert_pod_failure_policy(cronjob, "FailJob")
    assert_hardened_pod(cronjob)
    args = forecast_container(cronjob)["args"]
    assert args[0] == "monitor"
    assert option_value(args, "--commodity") == "all"
    assert option_value(args, "--models") == "naive,random_walk,sarimax,xgboost"
    assert option_value(args, "--lookback-days") == "56"
    assert option_value(args, "--coverage-80-min") == "0.65"
    assert option_value(args, "--min-crps-skill") == "-0.1"
    assert option_value(args, "--max-price-age-days") == "5"


def test_the_monitor_follows_its_values_and_can_be_disabled() -> None:
    values = {"monitor": {"schedule": "30 8 * * 1-5", "lookbackDays": 28, "coverage80Max": 0.9}}
    objects, _ = render_chart(values)
    cronjob = objects["CronJob", "commodity-forecast-monitor"]
    assert cronjob["spec"]["schedule"] == "30 8 * * 1-5"
    args = forecast_container(cronjob)["args"]
    assert option_value(args, "--lookback-days") == "28"
    assert option_value(args, "--coverage-80-max") == "0.9"
    disabled, _ = render_chart({"monitor": {"enabled": False}})
    assert ("CronJob", "commodity-forecast-monitor") not in disabled


def test_default_cronjob_runs_daily_at_six_utc(default_render) -> None:
    objects, _ = default_render
    cronjob = objects["CronJob", "commodity-forecast-daily"]
    spec = cronjob["spec"]
    assert spec["schedule"] == "0 6 * * *"
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 5
    assert job_spec(cronjob)["backoffLimit"] == 2
    assert_pod_failure_policy(cronjob, "FailJob")
    assert_hardened_pod(cronjob)
    args = forecast_container(cronjob)["args"]
    assert args[0] == "daily"
    assert option_value(args, "--commodity") == "all"
    assert option_value(args, "--models") == "naive,random_walk,sarimax,xgboost"
    assert option_value(args, "--train-frequency") == "semiannually"
    assert option_value(args, "--model-version") == "v1.0"
    assert "--forecast-date" not in args


def test_default_pods_read_config_map_and_optional_secret(default_render) -> None:
    objects, _ = default_render
    cronjob = objects["CronJob", "commodity-forecast-daily"]
    assert forecast_container(cronjob)["envFrom"] == [
        {"configMapRef": {"name": "commodity-forecast"}},
        {"secretRef": {"name": "commodity-forecast-credentials", "optional": True}},
    ]
    assert pod_spec(cronjob)["serviceAccountName"] == "commodity-forecast"
    assert objects["ServiceAccount", "commodity-forecast"]["automountServiceAccountToken"] is False
    data = objects["ConfigMap", "commodity-forecast"]["data"]
    assert data["MLFLOW_TRACKING_URI"].startswith("http")
    assert data["FORECAST_TABLE_FORMAT"] == "delta"
    assert data["FORECAST_TABLE"]
    # Secrets never go into the ConfigMap.
    assert not any("TOKEN" in key or "SECRET" in key for key in data)
    # The default table is on s3a://, in AWS's own S3 (no AWS_ENDPOINT_URL), committed to by
    # S3's conditional writes: no DynamoDB table (whose LogStore jar the image lacks).
    assert data["FORECAST_TABLE"].startswith("s3a://")
    assert data["AWS_REGION"] == "us-east-1"
    assert "AWS_ENDPOINT_URL" not in data and "FORECAST_DYNAMODB_TABLE" not in data
    assert "FORECAST_S3_TIMEOUT" not in data  # the jobs' own default


def test_paths_and_seed_reach_every_job_through_the_config_map(
    default_render, overrides_render
) -> None:
    defaults, _ = default_render
    data = defaults["ConfigMap", "commodity-forecast"]["data"]
    assert (data["FORECAST_N_PATHS"], data["FORECAST_SEED"]) == ("2000", "0")
    objects, _ = overrides_render
    data = objects["ConfigMap", "cf-prod"]["data"]
    assert (data["FORECAST_N_PATHS"], data["FORECAST_SEED"]) == ("500", "7")
    # Not as args: a Job of `forecast k8s backfill-job` reads the same ConfigMap.
    for workload in (objects["CronJob", "cf-prod-daily"], objects["Job", "cf-prod-backfill"]):
        args = forecast_container(workload)["args"]
        assert "--n-paths" not in args and "--seed" not in args
        assert {"configMapRef": {"name": "cf-prod"}} in forecast_container(workload)["envFrom"]


def test_s3_values_reach_the_pods_and_notes_say_what_must_exist() -> None:
    values = {
        "config": {
            "s3": {
                "endpoint": "http://minio.storage:9000",
                "region": "eu-west-1",
                "dynamodbTable": "forecast_delta_log",
                "timeoutSeconds": 4,
            }
        },
        "credentials": {"secretName": "lake-keys"},
    }
    objects, notes = render_chart(values)
    data = objects["ConfigMap", "commodity-forecast"]["data"]
    assert data["AWS_ENDPOINT_URL"] == "http://minio.storage:9000"
    assert data["AWS_REGION"] == "eu-west-1"
    assert data["FORECAST_DYNAMODB_TABLE"] == "forecast_delta_log"
    assert data["FORECAST_S3_TIMEOUT"] == "4"
    cronjob = objects["CronJob", "commodity-forecast-daily"]
    assert {"secretRef": {"name": "lake-keys", "optional": True}} in forecast_container(cronjob)[
        "envFrom"
    ]
    assert "s3a://commodity-forecast/tables/distributions (at http://minio.storage:9000)" in notes
    assert "--table-name forecast_delta_log --region eu-west-1" in notes
    assert "lake-keys" in notes


def test_by_default_the_notes_ask_for_conditional_writes_not_dynamodb() -> None:
    objects, notes = render_chart({})
    assert "FORECAST_DYNAMODB_TABLE" not in objects["ConfigMap", "commodity-forecast"]["data"]
    assert "If-None-Match" in notes and "HTTP 412" in notes
    assert "dynamodb create-table" not in notes


def test_the_weekly_maintenance_cronjob_optimizes_the_table() -> None:
    objects, _ = render_chart({"maintenance": {"enabled": True, "retainHours": 336}})
    cronjob = objects["CronJob", "commodity-forecast-maintenance"]
    assert cronjob["spec"]["schedule"] == "0 3 * * 0"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert forecast_container(cronjob)["args"] == ["table", "optimize", "--retain-hours", "336"]
    assert_hardened_pod(cronjob)
    validate_strict(cronjob)


def test_without_a_secret_name_pods_read_the_config_map_only() -> None:
    objects, _ = render_chart({"credentials": {"secretName": ""}})
    container = forecast_container(objects["CronJob", "commodity-forecast-daily"])
    assert container["envFrom"] == [{"configMapRef": {"name": "commodity-forecast"}}]


def test_overrides_change_the_daily_workload(overrides_render) -> None:
    objects, _ = overrides_render
    cronjob = objects["CronJob", "cf-prod-daily"]
    spec = cronjob["spec"]
    assert spec["schedule"] == "30 5 * * 1-5"
    assert spec["timeZone"] == "Europe/London"
    assert spec["startingDeadlineSeconds"] == 600
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (1, 2)
    assert job_spec(cronjob)["backoffLimit"] == 4
    pod = pod_spec(cronjob)
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["nodeSelector"] == {"workload": "batch"}
    container = forecast_container(cronjob)
    assert container["image"] == "registry.example.com/forecast/commodity-forecast:0.2.0"
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"]["limits"] == {"cpu": "4", "memory": "8Gi"}
    args = container["args"]
    assert option_value(args, "--commodity") == "sugar"
    assert option_value(args, "--models") == "naive,sarimax"
    assert option_value(args, "--train-frequency") == "quarterly"
    assert option_value(args, "--model-version") == "v2.1"
    assert {"secretRef": {"name": "forecast-prod-credentials", "optional": False}} in container[
        "envFrom"
    ]
    assert_hardened_pod(cronjob)


def test_overrides_render_the_indexed_backfill(overrides_render) -> None:
    objects, _ = overrides_render
    job = objects["Job", "cf-prod-backfill"]
    assert_indexed_backfill(job)
    spec = job_spec(job)
    assert (spec["completions"], spec["parallelism"]) == (8, 4)
    assert (spec["backoffLimitPerIndex"], spec["maxFailedIndexes"]) == (1, 2)
    container = forecast_container(job)
    assert env_of(container)["FORECAST_SHARD_COUNT"] == "8"
    args = container["args"]
    assert option_value(args, "--start") == "2015-01-01"
    assert option_value(args, "--end") == "2024-12-31"
    assert option_value(args, "--models") == "naive,sarimax"
    # The backfill and the daily job run the same options.
    daily_args = forecast_container(objects["CronJob", "cf-prod-daily"])["args"]
    assert args[5:] == daily_args[1:]


def test_overrides_config_map_and_service_account(overrides_render) -> None:
    objects, _ = overrides_render
    data = objects["ConfigMap", "cf-prod"]["data"]
    assert data["FORECAST_TABLE"] == "/data/tables/distributions"
    assert data["FORECAST_TABLE_FORMAT"] == "delta"
    assert data["FORECAST_DATA"] == "/data/input"
    assert data["MLFLOW_EXPERIMENT_NAME"] == "commodity-forecast-prod"
    # With the in-chart server on, the jobs track to it.
    assert data["MLFLOW_TRACKING_URI"] == (
        f"http://cf-prod-mlflow.{NAMESPACE}.svc.cluster.local:5001"
    )
    account = objects["ServiceAccount", "cf-prod"]
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/commodity-forecast"
    }
    assert account["automountServiceAccountToken"] is False


def test_in_chart_mlflow_server_is_reachable_through_its_service(overrides_render) -> None:
    objects, _ = overrides_render
    deployment = objects["Deployment", "cf-prod-mlflow"]
    service = objects["Service", "cf-prod-mlflow"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    # The job pods must not match the server's Service.
    job_labels = job_spec(objects["Job", "cf-prod-backfill"])["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= job_labels.items()
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == service["spec"]["ports"][0]["port"] == 5001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    allowed_hosts = {e["name"]: e["value"] for e in container["env"]}["MLFLOW_SERVER_ALLOWED_HOSTS"]
    assert "cf-prod-mlflow:5001" in allowed_hosts.split(",")


def test_with_spark_connect_every_job_pod_is_a_client_of_the_servers_service() -> None:
    values = {
        "sparkConnect": {"enabled": True, "port": 15003, "master": "local[3]", "driverMemory": "5g"}
    }
    objects, notes = render_chart(values)
    deployment = objects["Deployment", "commodity-forecast-spark-connect"]
    service = objects["Service", "commodity-forecast-spark-connect"]
    address = f"sc://commodity-forecast-spark-connect.{NAMESPACE}.svc.cluster.local:15003"
    assert objects["ConfigMap", "commodity-forecast"]["data"]["FORECAST_SPARK_REMOTE"] == address
    assert address in notes
    daily = objects["CronJob", "commodity-forecast-daily"]
    # Every workload reads the ConfigMap, so the daily, monitor and backfill pods connect.
    assert forecast_container(daily)["envFrom"][0] == {
        "configMapRef": {"name": "commodity-forecast"}
    }
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["image"] == forecast_container(daily)["image"]
    assert container["args"] == ["connect-server", "--host", "0.0.0.0", "--port", "15003"]
    assert container["ports"][0]["containerPort"] == service["spec"]["ports"][0]["port"] == 15003
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    daily_labels = job_spec(daily)["template"]["metadata"]["labels"]
    assert not service["spec"]["selector"].items() <= daily_labels.items()
    # The server writes the table: the same settings, credentials and pod security as the
    # jobs, its own master, and a scratch volume for Spark.
    assert container["envFrom"] == forecast_container(daily)["envFrom"]
    assert pod["spec"]["securityContext"] == pod_spec(daily)["securityContext"]
    assert container["securityContext"] == forecast_container(daily)["securityContext"]
    assert env_of(container)["FORECAST_SPARK_MASTER"] == "local[3]"
    assert env_of(container)["SPARK_LOCAL_DIRS"].startswith("/scratch/")
    heap = next(option for option in connect_server.params if option.name == "driver_memory")
    assert env_of(container)[heap.envvar] == "5g"  # the variable the command reads


def test_by_default_no_spark_connect_server_and_jobs_start_their_own_spark(
    default_render,
) -> None:
    objects, _ = default_render
    assert not [key for key in objects if "spark-connect" in key[1]]
    assert "FORECAST_SPARK_REMOTE" not in objects["ConfigMap", "commodity-forecast"]["data"]


def test_rendering_refuses_spark_connect_with_a_table_inside_one_pod() -> None:
    values = {"sparkConnect": {"enabled": True}, "config": {"table": "/scratch/table"}}
    with pytest.raises(helm.HelmRenderError, match="config.table must be a URI"):
        render_chart(values)


def test_notes_explain_how_to_follow_a_backfill_and_open_mlflow(overrides_render) -> None:
    _, notes = overrides_render
    assert f"kubectl -n {NAMESPACE} get pods -l job-name=cf-prod-backfill" in notes
    assert "batch.kubernetes.io/job-completion-index=0" in notes
    assert f"kubectl -n {NAMESPACE} port-forward svc/cf-prod-mlflow 5001:5001" in notes


def test_default_notes_explain_how_to_plan_and_enable_a_backfill(default_render) -> None:
    _, notes = default_render
    assert "forecast plan --start" in notes
    assert "--commodity all --shard-count N" in notes
    assert "CronJob commodity-forecast-monitor runs `forecast monitor`" in notes
    assert "backfill.enabled=true" in notes
    assert "port-forward" in notes
    # A Job built by the CLI needs this release's ConfigMap and ServiceAccount: named.
    assert (
        "forecast k8s backfill-job --start ... --end ... --namespace commodity-forecast "
        "--config-map commodity-forecast --service-account commodity-forecast --image ..."
    ) in notes


BACKFILL_2020 = {"enabled": True, "start": "2020-01-01", "end": "2020-12-31", "shards": 2}


def test_a_data_volume_is_mounted_read_only_in_every_pod_and_named_as_forecast_data() -> None:
    objects, notes = render_chart({"dataVolume": {"enabled": True}, "backfill": BACKFILL_2020})
    claim = objects["PersistentVolumeClaim", "commodity-forecast-data"]
    assert claim["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in claim["spec"]  # the cluster default
    for workload in (
        objects["CronJob", "commodity-forecast-daily"],
        objects["Job", "commodity-forecast-backfill"],
    ):
        volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"] == {
            "claimName": "commodity-forecast-data",
            "readOnly": True,
        }
        mounts = forecast_container(workload)["volumeMounts"]
        assert {"name": "data", "mountPath": "/data", "readOnly": True} in mounts
        assert_hardened_pod(workload)
    assert objects["ConfigMap", "commodity-forecast"]["data"]["FORECAST_DATA"] == "/data"
    assert "forecast data load --prices FILE --data /data" in notes
    for manifest in objects.values():
        validate_strict(manifest)


def test_an_existing_claim_is_mounted_and_config_data_names_a_folder_in_it() -> None:
    values = {
        "dataVolume": {"enabled": True, "existingClaim": "team-data", "mountPath": "/mnt/in"},
        "config": {"data": "/mnt/in/lake"},
    }
    objects, notes = render_chart(values)
    assert not any(kind == "PersistentVolumeClaim" for kind, _ in objects)
    pod = pod_spec(objects["CronJob", "commodity-forecast-daily"])
    claims = [
        v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if v["name"] == "data"
    ]
    assert claims == ["team-data"]
    assert objects["ConfigMap", "commodity-forecast"]["data"]["FORECAST_DATA"] == "/mnt/in/lake"
    assert "FORECAST_DATA=/mnt/in/lake (volume team-data at /mnt/in)" in notes


def test_without_data_the_notes_say_the_sample_is_stale(default_render) -> None:
    objects, notes = default_render
    assert "FORECAST_DATA" not in objects["ConfigMap", "commodity-forecast"]["data"]
    assert "bundled sample, which ends on 2025-11-14" in notes
    volumes = pod_spec(objects["CronJob", "commodity-forecast-daily"])["volumes"]
    assert [v["name"] for v in volumes] == ["scratch"]


BAD_VALUES = {
    "schedule is not a string": {"daily": {"schedule": 6}},
    "schedule has four fields": {"daily": {"schedule": "0 6 * *"}},
    "zero shards": {"backfill": {"shards": 0}},
    "negative shards": {"backfill": {"shards": -2}},
    "unknown model": {"forecast": {"models": ["naive", "prophet"]}},
    "no model": {"forecast": {"models": []}},
    "duplicate model": {"forecast": {"models": ["naive", "naive"]}},
    "unknown frequency": {"forecast": {"trainFrequency": "fortnightly"}},
    "vacuum retention under 7 days": {"maintenance": {"retainHours": 24}},
    "model version not a string": {"forecast": {"modelVersion": 1.0}},
    "model version with glob syntax": {"forecast": {"modelVersion": "v{1,2}"}},
    "unknown table format": {"config": {"tableFormat": "csv"}},
    "backfill without range": {"backfill": {"enabled": True}},
    "backfill date not ISO": {
        "backfill": {"enabled": True, "start": "01/02/2020", "end": "2024-12-31"}
    },
    "misspelled key": {"daily": {"shedule": "0 6 * * *"}},
    "data volume mounted at a relative path": {"dataVolume": {"mountPath": "data"}},
    "data volume over the scratch volume": {"dataVolume": {"mountPath": "/scratch"}},
    "data volume size not a quantity": {"dataVolume": {"size": "lots"}},
    "data volume unknown access mode": {"dataVolume": {"accessModes": ["ReadMostly"]}},
    "monitor coverage above 1": {"monitor": {"coverage80Max": 1.5}},
    "monitor lookback of zero days": {"monitor": {"lookbackDays": 0}},
    "monitor schedule not a string": {"monitor": {"schedule": 7}},
    "all beside commodity names": {"forecast": {"commodity": "all,coffee"}},
    "commodity list with a space": {"forecast": {"commodity": "coffee, sugar"}},
    "upper-case commodity": {"forecast": {"commodity": "Coffee"}},
    "zero paths": {"forecast": {"nPaths": 0}},
    "paths not a number": {"forecast": {"nPaths": "2000"}},
    "negative seed": {"forecast": {"seed": -1}},
    "s3 endpoint without scheme": {"config": {"s3": {"endpoint": "minio:9000"}}},
    "s3 region with spaces": {"config": {"s3": {"region": "eu west 1"}}},
    "dynamodb table name too short": {"config": {"s3": {"dynamodbTable": "ab"}}},
    "credentials in s3 values": {"config": {"s3": {"accessKey": "AKIA..."}}},
    "s3 timeout of a fraction": {"config": {"s3": {"timeoutSeconds": 2.5}}},
    "spark connect master not a URL": {"sparkConnect": {"master": "yarn"}},
    "spark connect port 0": {"sparkConnect": {"port": 0}},
    "spark connect heap with a unit suffix of two letters": {
        "sparkConnect": {"driverMemory": "6GB"}
    },
}


@pytest.mark.parametrize("values", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects_bad_values(values: dict[str, Any]) -> None:
    with helm.Chart.load(CHART_DIR) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(values)


def test_schema_accepts_defaults_and_overrides() -> None:
    with helm.Chart.load(CHART_DIR) as chart:
        chart.validate_schema(None)
        chart.validate_schema(overrides())


@pytest.mark.parametrize("commodity", ["all", "coffee", "coffee,sugar,cocoa", "soy_beans"])
def test_schema_accepts_what_the_jobs_parse_as_given(commodity: str) -> None:
    from forecast_core.names import parse_commodities

    assert ",".join(parse_commodities(commodity)) == commodity
    with helm.Chart.load(CHART_DIR) as chart:
        chart.validate_schema({"forecast": {"commodity": commodity}})


def test_schema_model_names_and_versions_follow_the_code() -> None:
    from forecast_core.cadence import FREQUENCIES
    from forecast_core.models import MODEL_VERSION_PATTERN, MODELS

    with helm.Chart.load(CHART_DIR) as chart:
        properties = chart.schema["properties"]["forecast"]["properties"]
    assert set(properties["models"]["items"]["enum"]) == set(MODELS)
    assert properties["modelVersion"]["pattern"] == MODEL_VERSION_PATTERN
    assert tuple(properties["trainFrequency"]["enum"]) == FREQUENCIES


def test_rendering_refuses_more_failed_indexes_than_shards() -> None:
    values = {
        "backfill": {
            "enabled": True,
            "start": "2020-01-01",
            "end": "2020-12-31",
            "shards": 2,
            "maxFailedIndexes": 3,
        }
    }
    with pytest.raises(helm.HelmRenderError, match="maxFailedIndexes"):
        render_chart(values)
