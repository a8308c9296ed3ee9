"""``forecast evaluate`` and ``forecast report`` end to end, and their usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from forecast_core.config import StoreConfig
from forecast_core.evaluation.presentation.figures import FIGURE_FILES
from forecast_core.evaluation.storage.table import MetricsTable, metrics_table_location

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MODELS = ("--models", "naive,random_walk")
SPAN = ("--from", "2024-03-01", "--to", "2024-03-10")


@pytest.mark.parametrize(
    "args, message",
    [
        (("--from", "2024-03-10", "--to", "2024-03-01"), "is after --to"),
        (
            ("--from", "2024-03-01", "--to", "2024-03-10", "--models", "naive,prophet"),
            "unknown model 'prophet'",
        ),
        (("--from", "2024-13-01", "--to", "2024-03-10"), "'2024-13-01' does not match"),
    ],
    ids=["from-after-to", "unknown-model", "bad-date"],
)
def test_usage_errors_exit_2_before_anything_starts(invoke, home, args, message):
    result = invoke("evaluate", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not home.exists()


@pytest.mark.slow
def test_evaluate_then_report_a_short_backfill(invoke, home, tmp_path, spark):
    result = invoke(
        "backfill",
        "--start",
        "2024-03-01",
        "--end",
        "2024-03-07",
        "--train-frequency",
        "monthly",
        *MODELS,
        "--n-paths",
        "200",
    )
    assert result.exit_code == 0, result.output
    output = tmp_path / "evaluation"

    result = invoke("evaluate", *SPAN, *MODELS, "--output", str(output))
    assert result.exit_code == 0, result.output
    assert "naive: scored 7, left out 0" in result.output
    stores = StoreConfig.embedded(home)
    table = MetricsTable(spark, metrics_table_location(stores.table_location))
    rows = table.read().toPandas()
    assert set(rows["model_name"]) == {"naive", "random_walk"}
    crps_days = rows.query("metric == 'crps' and period == 'all' and model_name == 'naive'")
    assert sorted(crps_days["horizon_day"]) == list(range(15))
    assert (
        rows.query("metric == 'crps_skill' and model_name == 'random_walk'")["value"] == 0.0
    ).all()
    assert f"({len(rows)} new, 0 replaced)" in result.output

    again = invoke("evaluate", *SPAN, *MODELS, "--output", str(output))
    assert again.exit_code == 0, again.output
    assert f"Wrote {len(rows)} metric rows" in again.output and "(0 new," in again.output
    assert table.read().count() == len(rows)

    _check_mlflow_runs(stores.tracking_uri)
    for name in FIGURE_FILES.values():
        assert (output / name).read_bytes().startswith(PNG_SIGNATURE)
    scores = pd.read_csv(output / "scores.csv.gz").query("model_name == 'naive'")
    # 7 forecasts x 14 days, minus Sat 03-02 days 1-2 and Sun 03-03 day 1 (no new price yet).
    assert len(scores) == 7 * 14 - 3
    assert scores["pit"].between(0.0, 1.0).all()

    page = tmp_path / "report.html"
    result = invoke("report", *SPAN, *MODELS, "--output", str(page))
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == len(FIGURE_FILES)
    assert "<table" in html


def _check_mlflow_runs(tracking_uri: str) -> None:
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("commodity-forecast/coffee/evaluation")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2  # one per evaluate call
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["scored_model_uris.naive"] == "models:/coffee_naive/1"
    assert run.data.tags["evaluated_from"] == "2024-03-01"
    assert 0 < run.data.metrics["naive/crps"] < 50
    assert run.data.metrics["naive/forecasts_scored"] == 7
    artifacts = {Path(a.path).name for a in client.list_artifacts(run.info.run_id)}
    assert set(FIGURE_FILES.values()) | {"metrics.csv", "scored_models.json"} <= artifacts
    linked = json.loads(
        Path(client.download_artifacts(run.info.run_id, "scored_models.json")).read_text()
    )
    naive = next(entry for entry in linked if entry["model_name"] == "naive")
    assert naive["registered"] and naive["model_id"] == "Coffee_Naive_2024-03-01_v1.0"
    assert naive["n_forecasts"] == 7
    history = client.get_metric_history(run.info.run_id, "naive/crps_by_horizon")
    assert sorted(m.step for m in history) == list(range(1, 15))


@pytest.mark.slow
def test_promote_marks_the_champion_and_the_jobs_log_it(invoke, home, tmp_path, spark):
    backfill = invoke(
        "backfill",
        "--start",
        "2024-03-01",
        "--end",
        "2024-03-07",
        "--train-frequency",
        "monthly",
        *MODELS,
        "--n-paths",
        "100",
    )
    assert backfill.exit_code == 0, backfill.output
    tracking_uri = StoreConfig.embedded(home).tracking_uri
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def registry_state() -> list[tuple[str, int, dict[str, str], dict[str, int]]]:
        return [
            (v.name, int(v.version), v.tags, client.get_registered_model(v.name).aliases)
            for v in client.search_model_versions("")
        ]

    before = registry_state()
    empty = invoke("evaluate", "--from", "2024-05-01", "--to", "2024-05-10", *MODELS, "--promote")
    assert empty.exit_code == 2, empty.output
    assert "no coffee forecasts of naive, random_walk" in empty.output
    assert registry_state() == before

    promoted = invoke("evaluate", *SPAN, *MODELS, "--output", str(tmp_path / "e"), "--promote")
    assert promoted.exit_code == 0, promoted.output
    (champion,) = client.search_model_versions("tag.champion_of = 'coffee'")  # one call
    assert champion.name in ("coffee_naive", "coffee_random_walk")
    assert f"coffee champion: models:/{champion.name}/{champion.version}" in promoted.output
    run_id = champion.tags["champion_evaluation_run_id"]
    assert f"MLflow evaluation run {run_id}" in promoted.output
    assert champion.tags["champion_span"] == "2024-03-01..2024-03-10"
    skill = float(champion.tags["champion_crps_skill"])
    run = client.get_run(run_id)
    model = champion.tags["model_name"]
    skills = {k: v for k, v in run.data.metrics.items() if k.endswith("/crps_skill")}
    assert skill == pytest.approx(run.data.metrics[f"{model}/crps_skill"], abs=1e-5)
    assert skill == pytest.approx(max(skills.values()), abs=1e-5)
    alias = client.get_model_version_by_alias(champion.name, "champion")
    assert str(alias.version) == str(champion.version)

    daily = invoke("daily", "--forecast-date", "2024-03-08", *MODELS, "--n-paths", "50")
    assert daily.exit_code == 0, daily.output
    assert f"coffee champion: models:/{champion.name}/{champion.version}" in daily.output
    assert "generated 2" in daily.output  # every model is still forecast
