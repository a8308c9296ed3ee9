"""``forecast models``: each lifecycle command and each bad input, against real MLflow stores.

Two stores: the embedded SQLite one, and an ``mlflow server`` backed by PostgreSQL (the
store of the concurrency tests). Bad input exits 2 with one line and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from mlflow import MlflowClient

from forecast_core.errors import ConfigError
from forecast_core.models import build_model
from forecast_core.registry.lifecycle import ModelLifecycle
from forecast_core.registry.store import ModelRegistry
from tests.servers import mlflow_server, postgres_database

JAN, JULY = dt.date(2024, 1, 1), dt.date(2024, 7, 1)
EXIT_USAGE = 2


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def registry_uri(request, tmp_path_factory, sample_dataset):
    """A registry with coffee naive trained in January and July, and two sugar naive labels.

    Module-scoped (registering and starting a server cost seconds): ``tracking_uri``
    returns every version to service, unpinned, before each test.
    """
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        _register(ModelRegistry(uri, (folder / "artifacts").as_uri()), sample_dataset)
        yield uri
        return
    with postgres_database() as database, mlflow_server(folder, backend_store_uri=database) as uri:
        _register(ModelRegistry(uri), sample_dataset)
        yield uri


@pytest.fixture
def tracking_uri(registry_uri: str) -> str:
    """The module's registry, every version in service, no alias, no champion."""
    client = MlflowClient(tracking_uri=registry_uri, registry_uri=registry_uri)
    for version in client.search_model_versions(""):
        for tag in version.tags:
            if tag.startswith(("retired", "champion")):
                client.delete_model_version_tag(version.name, version.version, tag)
        for alias in client.get_registered_model(version.name).aliases:
            client.delete_registered_model_alias(version.name, alias)
    return registry_uri


# A version label that makes a model id longer than the others (column alignment).
LONG_LABEL = "v2.0-recalibrated-after-the-june-outage"


def _register(registry: ModelRegistry, dataset) -> None:
    coffee, sugar = dataset.history("coffee"), dataset.history("sugar")
    for training_date in (JAN, JULY):
        registry.register(build_model("naive").fit(coffee, training_date), coffee, "v1.0")
    registry.register(build_model("naive").fit(sugar, JAN), sugar, "v1.0")
    registry.register(build_model("naive").fit(sugar, JAN), sugar, LONG_LABEL)


@pytest.mark.parametrize(
    ("commodity", "version", "after"),
    [
        pytest.param(
            "coffee",
            "2",
            "jobs fall back to the version before, models:/coffee_naive/1",
            id="newest",
        ),
        pytest.param(
            "coffee",
            "1",
            "nothing serves forecast dates 2024-01-01..2024-06-30 (a run for them fails this "
            "model (exit 1; the other models still run)); models:/coffee_naive/2 still serves "
            "from 2024-07-01",
            id="oldest",
        ),
        pytest.param(
            "sugar",
            "1",
            "it was the only v1.0 version in service, so nothing serves sugar_naive now: the "
            "next daily run fails this model",
            id="only",
        ),
    ],
)
def test_retire_says_what_serves_instead(invoke, tracking_uri, commodity, version, after):
    result = invoke(
        "models",
        "retire",
        commodity,
        "naive",
        version,
        "--reason",
        "x",
        "--tracking-uri",
        tracking_uri,
    )
    assert result.exit_code == 0, result.output
    assert after in result.output


def _state(uri: str) -> dict[str, object]:
    """Every version's tags and every registered model's aliases: what a command may change."""
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return {
        f"{v.name}/{v.version}": (v.tags, client.get_registered_model(v.name).aliases)
        for v in client.search_model_versions("")
    }


def test_each_command_changes_what_the_jobs_read(invoke, tracking_uri):
    def run(*args: str):
        result = invoke("models", *args, "--tracking-uri", tracking_uri)
        assert result.exit_code == 0, result.output
        return result.output

    listed = json.loads(run("list", "--commodity", "coffee", "--json"))
    assert [(v["uri"], v["status"], v["aliases"]) for v in listed] == [
        ("models:/coffee_naive/1", "in service", []),
        ("models:/coffee_naive/2", "in service", []),
    ]
    assert "pinned models:/coffee_naive/1" in run("pin", "coffee", "naive", "1")
    assert "retired models:/coffee_naive/2" in run(
        "retire", "coffee", "naive", "Coffee_Naive_2024-07-01_v1.0", "--reason", "bad prices"
    )
    registry = ModelRegistry(tracking_uri)
    versions = registry.list_versions("coffee", "naive", "v1.0")
    assert [(v.version, v.retired, v.aliases) for v in versions] == [
        (1, False, ("pinned",)),
        (2, True, ()),
    ]
    shown = json.loads(run("show", "coffee", "naive", "2", "--json"))
    assert shown["tags"]["retired_reason"] == "bad prices"
    assert "is already retired; nothing changed" in run(
        "retire", "coffee", "naive", "2", "--reason", "x"
    )
    assert "restored models:/coffee_naive/2" in run("restore", "coffee", "naive", "2")
    assert "unpinned models:/coffee_naive/1" in run("unpin", "coffee", "naive")
    versions = registry.list_versions("coffee", "naive", "v1.0")
    assert [(v.version, v.retired, v.aliases) for v in versions] == [(1, False, ()), (2, False, ())]
    assert "retired_reason" not in json.loads(run("show", "coffee", "naive", "2", "--json"))["tags"]
    assert "no pinned version; nothing changed" in run("unpin", "coffee", "naive")


# One case per row: the rows are alike in shape by design.
BAD_INPUTS = [
    pytest.param(["pin", "coffee", "prophet", "1"], "unknown model 'prophet'", id="unknown-model"),
    pytest.param(
        ["pin", "cocoa", "naive", "1"], "no registered model cocoa_naive", id="unregistered"
    ),
    pytest.param(
        ["pin", "coffee", "naive", "7"],
        "coffee_naive has no version 7; expected one of: 1, 2",
        id="unknown-version",
    ),
    pytest.param(
        ["pin", "coffee", "naive", "Sugar_Naive_2024-01-01_v1.0"],
        "Sugar_Naive_2024-01-01_v1.0 is sugar_naive version 1, not a version of coffee_naive",
        id="another-commodity",
    ),
    pytest.param(
        ["show", "coffee", "naive", "Coffee_Naive_1999-01-01_v1.0"],
        "no registered version has model id 'Coffee_Naive_1999-01-01_v1.0'",
        id="unknown-model-id",
    ),
    pytest.param(
        ["retire", "coffee", "naive", "1", "--reason", " "], "--reason is empty", id="no-reason"
    ),
    pytest.param(
        # Keys are read lower-cased, then checked.
        ["list", "--commodity", "Coffee'"],
        'commodity "coffee\'" is not valid',
        id="bad-commodity",
    ),
    pytest.param(
        ["show", "coffee", "Naiv", "1"],
        "unknown model 'naiv' (did you mean 'naive'?); expected one of: ensemble, naive,",
        id="misspelled-model",
    ),
    pytest.param(
        ["list", "--model", "xgbost"],
        "unknown model 'xgbost' (did you mean 'xgboost'?)",
        id="misspelled-model-filter",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(invoke, tracking_uri, args, message):
    before = _state(tracking_uri)
    result = invoke("models", *args, "--tracking-uri", tracking_uri)
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert _state(tracking_uri) == before


def test_names_are_read_in_any_case(invoke, tracking_uri):
    def run(*args: str) -> str:
        result = invoke("models", *args, "--tracking-uri", tracking_uri)
        assert result.exit_code == 0, result.output
        return result.output

    typed = run("list", "--commodity", "Coffee", "--model", "NAIVE", "--json")
    assert typed == run("list", "--commodity", "coffee", "--model", "naive", "--json")
    assert [v["uri"] for v in json.loads(typed)] == [
        "models:/coffee_naive/1",
        "models:/coffee_naive/2",
    ]
    assert run("show", "Coffee", "Naive", "1").startswith("  models:/coffee_naive/1  ")
    assert "pinned models:/coffee_naive/1" in run("pin", "COFFEE", "Naive", "1")


def test_list_columns_line_up_after_a_long_model_id(invoke, tracking_uri):
    result = invoke("models", "list", "--tracking-uri", tracking_uri)
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header == "Registered model versions: 4"
    long_id = f"Sugar_Naive_2024-01-01_{LONG_LABEL}"
    assert any(long_id in line for line in lines)
    assert len({line.index(" trained ") for line in lines}) == 1, result.output
    assert len({line.index("in service") for line in lines}) == 1, result.output


def test_a_pinned_version_cannot_be_retired_nor_a_retired_one_pinned(invoke, tracking_uri):
    def run(*args: str):
        return invoke("models", *args, "--tracking-uri", tracking_uri)

    assert run("pin", "coffee", "naive", "2").exit_code == 0
    before = _state(tracking_uri)
    refused = run("retire", "coffee", "naive", "2", "--reason", "bad")
    assert refused.exit_code == EXIT_USAGE
    assert "is pinned; expected an unpinned version: `forecast models unpin coffee naive`" in (
        refused.output
    )
    assert _state(tracking_uri) == before
    assert run("retire", "coffee", "naive", "1", "--reason", "old").exit_code == 0
    before = _state(tracking_uri)
    refused = run("pin", "coffee", "naive", "1")
    assert refused.exit_code == EXIT_USAGE
    assert "is retired; expected a version in service" in refused.output
    assert _state(tracking_uri) == before


def test_reading_a_home_without_a_store_creates_nothing(invoke, home):
    result = invoke("models", "list")
    assert result.exit_code == EXIT_USAGE
    assert "no MLflow store at" in result.output
    assert not home.exists()


def test_promote_moves_the_champion_and_one_search_finds_it(tracking_uri):
    lifecycle = ModelLifecycle(tracking_uri)
    evidence = {"champion_crps_skill": "0.1", "champion_evaluation_run_id": "run-a"}
    assert lifecycle.promote("sugar", "naive", 1, evidence).startswith("sugar champion")
    lifecycle.promote("coffee", "naive", 2, evidence)
    moved = lifecycle.promote("coffee", "naive", 1, {"champion_crps_skill": "0.2"})
    assert moved.endswith("replacing models:/coffee_naive/2")
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    (found,) = client.search_model_versions("tag.champion_of = 'coffee'")
    assert (found.name, str(found.version)) == ("coffee_naive", "1")
    assert found.tags["champion_crps_skill"] == "0.2"
    assert str(client.get_model_version_by_alias("coffee_naive", "champion").version) == "1"
    former = client.get_model_version("coffee_naive", "2").tags
    assert not [tag for tag in former if tag.startswith("champion")]
    assert lifecycle.champion("sugar").uri == "models:/sugar_naive/1"


def test_a_retired_version_cannot_become_champion(tracking_uri):
    lifecycle = ModelLifecycle(tracking_uri)
    lifecycle.retire("coffee", "naive", "2", "bad")
    before = _state(tracking_uri)
    with pytest.raises(ConfigError, match="has the best CRPS skill but is retired"):
        lifecycle.promote("coffee", "naive", 2, {})
    assert _state(tracking_uri) == before
