"""Imports run down the layers only; the product uses no test equipment, benchmarks no tests. Read from the import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top; a module may import its own layer and the layers before it.
LAYERS = ("core", "read", "pose", "sample", "outputs", "look", "cli")


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at its top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer(module: str) -> str | None:
    """`converter.read.source` -> `read`; `converter.cli` -> `cli`; None outside the layers."""
    parts = module.split(".")
    if parts[0] != "converter" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def product_modules() -> list[Path]:
    package = ROOT / "converter"
    return list(package.rglob("*.py"))


@pytest.mark.parametrize("path", product_modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_a_module_imports_only_its_layer_and_those_below(path: Path) -> None:
    relative = path.relative_to(ROOT).with_suffix("")
    own = layer(".".join(relative.parts))
    names = imported(path)
    assert not {name for name in names if name.split(".")[0] in ("tests", "testbed", "imagenet3d")}
    if own is not None:
        allowed = LAYERS[: LAYERS.index(own) + 1]
        assert {layer(name) for name in names} <= {*allowed, None}


def test_benchmarks_import_nothing_from_the_tests() -> None:
    for path in (ROOT / "bench").glob("*.py"):
        assert not any(name.split(".")[0] == "tests" for name in imported(path)), path.name


def test_tests_share_helpers_through_their_helper_modules_not_through_test_modules() -> None:
    for path in (ROOT / "tests").glob("*.py"):
        assert not any(name.startswith("tests.test_") for name in imported(path)), path.name
