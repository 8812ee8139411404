"""The layout of tests/ and bench/ holds: every test module sits in a folder (one per
code layer or suite, listed in tests/README.md), test modules import only the shared kit
(tests.kit) and never each other or bench, and the kit and bench import no test module.
Read from the source, function-level imports included."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from tests.kit.live import ROOT

TESTS = ROOT / "tests"
KIT = TESTS / "kit"


def imports(path: Path) -> set[str]:
    """Every module `path` names in an import, at any depth; relative ones as `.name`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}  # from tests import x
    return names


def _outside_kit(name: str) -> bool:
    """Does the import `name` reach into tests/ anywhere but the kit?"""
    return name == "tests" or (name.startswith("tests.") and name != "tests.kit"
                               and not name.startswith("tests.kit."))


def _bench(name: str) -> bool:
    return name == "bench" or name.startswith("bench.")


def _wrong(paths: list[Path], wrong: Callable[[str], bool]) -> dict[str, list[str]]:
    """For each file among `paths` with imports that `wrong` accepts: those imports."""
    found = {str(p.relative_to(ROOT)): sorted(filter(wrong, imports(p))) for p in paths}
    return {path: names for path, names in found.items() if names}


def test_every_test_module_is_in_a_folder() -> None:
    assert sorted(p.name for p in TESTS.glob("*.py")) == ["conftest.py"]
    assert sorted(KIT.glob("test_*.py")) == []  # the kit holds no tests
    assert {p.parent.name for p in TESTS.rglob("test_*.py")} >= {"browser", "scale"}


def test_test_modules_import_only_the_kit() -> None:
    outside = sorted(p for p in TESTS.rglob("*.py") if KIT not in p.parents)
    assert _wrong(outside, lambda n: _outside_kit(n) or _bench(n) or n.startswith(".")) == {}


def test_the_kit_and_bench_import_no_test_module() -> None:
    assert _wrong(sorted(KIT.glob("*.py")), lambda n: _outside_kit(n) or _bench(n)) == {}
    assert _wrong(sorted((ROOT / "bench").glob("*.py")), _outside_kit) == {}
