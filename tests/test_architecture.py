"""The import rules of docs/architecture.md, checked on the source.

Every import statement counts, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
        if any(name == f or name.startswith(f"{f}.") for f in forbidden)
    )


def test_the_library_never_imports_the_jobs():
    assert _violations("forecast_core", ("jobs",)) == []


@pytest.mark.parametrize("folder", ["forecast_core/models", "forecast_core/data"])
def test_models_and_data_never_import_storage(folder):
    assert _violations(folder, (*STORAGE, "forecast_core.pipeline", "forecast_core.stores")) == []


def test_the_rules_see_imports_inside_functions():
    module = ROOT / "forecast_core" / "models" / "naive.py"
    assert "forecast_core.models.base" in _imports(module)
    assert "mlflow.pyfunc" in _imports(ROOT / "forecast_core" / "registry" / "pyfunc.py")
    # a deferred import
    assert "forecast_core.tables.distributions" in _imports(ROOT / "jobs" / "cli.py")
