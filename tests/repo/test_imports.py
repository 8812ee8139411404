"""tablequeue/ keeps the shape docs/architecture.md draws: a dozen modules at most at the
top, no import cycle between modules (function-level imports included), and each package
importing only what its row of "What each package may import" allows. Read from the
source: a module named in an import is an edge, whether it runs at import or in a call."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.kit.live import ROOT

PACKAGE = ROOT / "tablequeue"
BASICS = frozenset(
    p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"
) | {"tablequeue", "models"}  # models/ is a package of basics (one module by job)

# A module's layer: its first name under tablequeue; the top-level modules are the basics,
# except security.py, which sits above the service (device keys are checked there).
# What each layer may import, as module-name prefixes (the layer itself always may).
ALLOWED: dict[str, tuple[str, ...]] = {
    "basics": (),
    "protocol": ("outcomes",),
    "service": ("basics",),
    "security": ("basics", "service"),
    "live": ("basics", "protocol", "service", "security", "ops"),
    "ops": ("basics", "service", "live.registry", "live.connection"),
    "pages": ("basics", "protocol", "service", "security", "ops.metrics",
              "live.registry", "live.relay.floornotice"),
    "cli": ("basics", "service", "live.relay.floornotice"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _target(module: str, name: str | None) -> str:
    """`from module import name` imports the submodule when there is one."""
    child = f"{module}.{name}"
    return child if name and child in MODULES else module


def edges(path: Path) -> set[str]:
    """The tablequeue modules `path` imports, at any depth."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tablequeue")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.startswith("tablequeue"):
            found |= {_target(node.module, a.name) for a in node.names}
    return found & MODULES.keys()


GRAPH = {name: edges(path) - {name} for name, path in MODULES.items()}


def _short(module: str) -> str:
    return module.removeprefix("tablequeue").lstrip(".") or "tablequeue"


def layer(module: str) -> str:
    first = _short(module).split(".")[0]
    return "basics" if first in BASICS - {"security"} else first


def _allowed(source: str, target: str) -> bool:
    here, there = layer(source), layer(target)
    if here == there:
        return True
    short = _short(target)

    def matches(prefix: str) -> bool:
        if prefix == "basics":
            return there == "basics"
        return short == prefix or short.startswith(prefix + ".")

    return any(matches(prefix) for prefix in ALLOWED[here])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_at_most_twelve_modules_at_the_top() -> None:
    assert len(BASICS - {"tablequeue"}) <= 12, sorted(BASICS)


def test_every_layer_is_in_the_table() -> None:
    assert {layer(m) for m in MODULES} <= ALLOWED.keys()


def test_no_import_cycle_between_modules() -> None:
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_one() -> None:
    """So that the test above cannot pass by finding nothing."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_each_package_imports_only_what_its_row_allows() -> None:
    wrong = sorted(
        f"{_short(source)} -> {_short(target)}"
        for source, targets in GRAPH.items() for target in targets
        if not _allowed(source, target)
    )
    assert wrong == [], "imports against docs/architecture.md's table"


def test_the_rules_refuse_what_the_table_does_not_list() -> None:
    assert not _allowed("tablequeue.service.tickets", "tablequeue.live.registry")
    assert not _allowed("tablequeue.models", "tablequeue.service.views")
    assert not _allowed("tablequeue.pages.admin", "tablequeue.live.handlers")
    assert _allowed("tablequeue.pages.admin", "tablequeue.live.registry")
    assert _allowed("tablequeue.live.sockets", "tablequeue.db")
