"""One release number everywhere it is shown or pinned, and a CHANGELOG section for it.

``forecast_core.__version__`` is the release: the package metadata reads it
(pyproject.toml), and ``forecast --version``, the requirement every registered version
pins, the chart's appVersion (the default image tag) and the example manifests' image
must all say the same.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import yaml

from forecast_core import __version__
from forecast_core.registry.pyfunc import pip_requirements

ROOT = Path(__file__).parents[1]


def test_version_is_semantic():
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__), __version__


def test_forecast_version_prints_the_release(invoke):
    result = invoke("--version")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"forecast, version {__version__}"


def test_the_installed_metadata_is_the_release():
    assert metadata.version("commodity-forecast") == __version__


def test_a_registered_version_pins_the_release_that_registered_it():
    assert f"commodity-forecast=={__version__}" in pip_requirements()


def test_the_chart_and_the_manifests_run_the_release():
    chart = yaml.safe_load((ROOT / "helm/commodity-forecast/Chart.yaml").read_text())
    assert chart["appVersion"] == __version__
    for manifest in sorted((ROOT / "k8s").glob("*.yaml")):
        images = re.findall(r"image: \S*commodity-forecast:(\S+)", manifest.read_text())
        assert all(tag == __version__ for tag in images), (manifest.name, images)


def test_the_changelog_has_a_section_for_the_release():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert released, "no released section in CHANGELOG.md"
    assert released[0] == __version__, released
