"""The import rules of docs/architecture.md, checked on the source.

Every import statement counts, including those inside functions and under
``TYPE_CHECKING``. The layer and library tables are read from the page itself, so the
written rules and the checked ones cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PACKAGES = ("forecast_core", "jobs")
STORAGE = (
    "forecast_core.tables",
    "forecast_core.spark",
    "forecast_core.registry",
    "forecast_core.mlflow_registry",
    "forecast_core.pyfunc_model",
    "pyspark",
    "mlflow",
    "deltalake",
    "duckdb",
)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / folder).rglob("*.py")
        for name in _imports(path)
        if any(_within(name, f) for f in forbidden)
    )


def _within(name: str, prefix: str) -> bool:
    """Whether module ``name`` is ``prefix`` or inside it."""
    return name == prefix or name.startswith(f"{prefix}.")


def _modules() -> dict[str, Path]:
    """Every module of the two packages by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _table(header: str) -> list[tuple[str, list[str], list[str]]]:
    """The rows of the Markdown table under ``header`` on the architecture page: the first
    cell, and the backquoted names of the first and second cells."""
    lines = ARCHITECTURE.read_text().splitlines()
    start = lines.index(header) + 2  # the header and its separator
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = line.split("|")[1:-1]
        rows.append(
            (
                cells[0].strip(),
                re.findall(r"`([^`]+)`", cells[0]),
                re.findall(r"`([^`]+)`", cells[1]),
            )
        )
    return rows


LAYERS: list[tuple[str, list[str]]] = [
    (name, modules) for name, _, modules in _table("| layer | modules | what it holds |")
]
LIBRARIES: dict[str, list[str]] = {
    library: allowed
    for _, libraries, allowed in _table("| library | only in |")
    for library in libraries
}


def _layer(name: str) -> int | None:
    """The position of ``name``'s layer (its longest listed prefix), or None if unlisted."""
    matches = [
        (len(prefix), position)
        for position, (_, prefixes) in enumerate(LAYERS)
        for prefix in prefixes
        if _within(name, prefix)
    ]
    return max(matches)[1] if matches else None


def _layer_violations(module: str, imported: set[str]) -> list[str]:
    """The imports of ``module`` that reach a layer above its own, or a library it may not."""
    own = _layer(module)
    assert own is not None, f"{module} has no layer"
    found = []
    for name in sorted(imported):
        if name.split(".")[0] in PACKAGES:
            layer = _layer(name)
            if layer is not None and layer > own:
                found.append(f"{module} ({LAYERS[own][0]}) imports {name} ({LAYERS[layer][0]})")
        allowed = LIBRARIES.get(name.split(".")[0])
        if allowed is not None and not any(_within(module, place) for place in allowed):
            found.append(f"{module} imports {name}, allowed only in {', '.join(allowed) or 'none'}")
    return found


def test_the_library_never_imports_the_jobs():
    assert _violations("forecast_core", ("jobs",)) == []


@pytest.mark.parametrize("folder", ["forecast_core/models", "forecast_core/data"])
def test_models_and_data_never_import_storage(folder):
    assert _violations(folder, (*STORAGE, "forecast_core.pipeline", "forecast_core.stores")) == []


def test_the_page_lists_the_layers_and_the_libraries():
    assert [name for name, _ in LAYERS][:2] == ["1 leaves", "2 data"]
    assert len(LAYERS) == 12
    assert LIBRARIES["mlflow"] == ["forecast_core.registry"]


def test_every_module_has_a_layer():
    assert [module for module in _modules() if _layer(module) is None] == []


def test_every_import_stays_in_its_layer_or_below():
    violations = [
        violation
        for module, path in _modules().items()
        for violation in _layer_violations(module, _imports(path))
    ]
    assert violations == []


@pytest.mark.parametrize(
    ("module", "imported", "expected"),
    [
        pytest.param(
            "forecast_core.models.ensemble",
            "forecast_core.evaluation.compute.metrics",
            "forecast_core.models.ensemble (4 models) imports "
            "forecast_core.evaluation.compute.metrics (5 outputs)",
            id="a-model-importing-the-evaluation",
        ),
        pytest.param(
            "forecast_core.pipeline",
            "forecast_core.tables.schemas",
            "forecast_core.pipeline (6 pipeline) imports forecast_core.tables.schemas (7 adapters)",
            id="the-pipeline-importing-a-table",
        ),
        pytest.param(
            "forecast_core.evaluation.storage.tracking",
            "mlflow.entities",
            "forecast_core.evaluation.storage.tracking imports mlflow.entities, allowed only in "
            "forecast_core.registry",
            id="mlflow-outside-the-registry",
        ),
        pytest.param(
            "forecast_core.registry.pyfunc",
            "pyspark.sql",
            "forecast_core.registry.pyfunc imports pyspark.sql, allowed only in "
            "forecast_core.spark, forecast_core.jvm_console, forecast_core.tables, "
            "forecast_core.evaluation.storage, jobs",
            id="spark-in-the-served-model",
        ),
    ],
)
def test_the_rules_see_the_breaches_issue_20_found(module, imported, expected):
    assert _layer_violations(module, {imported}) == [expected]


def test_the_rules_see_imports_inside_functions():
    module = ROOT / "forecast_core" / "models" / "naive.py"
    assert "forecast_core.models.base" in _imports(module)
    assert "mlflow.pyfunc" in _imports(ROOT / "forecast_core" / "registry" / "pyfunc.py")
    # deferred imports
    assert "forecast_core.tables.distributions" in _imports(ROOT / "jobs" / "forecast_run.py")
