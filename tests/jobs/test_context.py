"""``CommandStores``: each store opens once, on first need, and the command's context holds it."""

from __future__ import annotations

import click

from forecast_core.config import StoreConfig
from jobs.context import CommandStores


def test_nothing_opens_before_it_is_needed_and_each_store_opens_once(tmp_path):
    stores = CommandStores(StoreConfig.embedded(tmp_path))
    assert not stores.registry_opened
    assert stores.startup_timings == {}
    assert not (tmp_path / "mlflow.db").exists()
    assert stores.lifecycle() is stores.lifecycle()
    assert not stores.registry_opened  # the lifecycle is MLflow's client, not the registry
    assert stores.registry() is stores.registry()
    assert stores.registry_opened


def test_register_puts_the_stores_on_the_click_context(tmp_path):
    stores = CommandStores(StoreConfig.embedded(tmp_path))
    with click.Context(click.Command("probe")) as context:
        assert stores.register() is stores
        assert context.obj is stores
        assert context.find_object(CommandStores) is stores
