"""The import graph of mvd: no cycles between modules or between packages, and the engine never imports the
report or the orchestration."""

from __future__ import annotations

import ast
from pathlib import Path

import mvd

ROOT = Path(mvd.__file__).parent
# the engine: data flow from a config to stored points
ENGINE = ("mvd.config", "mvd.curve", "mvd.data", "mvd.sources", "mvd.quality", "mvd.cleaning",
          "mvd.models", "mvd.splits", "mvd.metrics", "mvd.store", "mvd.errors", "mvd.parts",
          "mvd.identity", "mvd.naming", "mvd.files", "mvd.business")
# what the engine must not reach: the report and the multirun orchestration
ABOVE = ("mvd.report", "mvd.cli", "mvd.callbacks", "mvd.launchers")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> mvd modules it imports anywhere in its source (function-level imports too)."""
    modules = {_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    head = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(head + ([base] if base else []))
                for alias in node.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph with each subpackage of mvd (mvd.report, mvd.sources, ...) as one node; a module
    directly in mvd stays a node of its own."""
    def node(module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2]) if len(parts) > 1 and (ROOT / parts[1]).is_dir() else module

    out: dict[str, set[str]] = {}
    for module, deps in graph.items():
        out.setdefault(node(module), set()).update(node(d) for d in deps)
    return {k: v - {k} for k, v in out.items()}


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_mvd_has_no_import_cycles():
    assert cycles(import_graph()) == []


def test_mvd_has_no_import_cycles_between_packages():
    """A module importing a package that imports it back (mvd.report -> mvd.adaptive -> mvd.report.decision)
    is a cycle even when no two modules import each other."""
    assert package_graph({"mvd.report": {"mvd.adaptive"}, "mvd.adaptive": {"mvd.report.decision"},
                          "mvd.report.decision": set()}) == {"mvd.report": {"mvd.adaptive"},
                                                             "mvd.adaptive": {"mvd.report"}}
    packages = package_graph(import_graph())
    assert "mvd.report" in packages and "mvd.levers" in packages and "mvd.report.decision" not in packages
    assert {"mvd.report", "mvd.levers"} <= packages["mvd.adaptive"]  # the graph sees real imports
    assert cycles(packages) == []


def test_the_engine_imports_neither_the_report_nor_the_orchestration():
    graph = import_graph()
    engine = [m for m in graph if any(m == e or m.startswith(e + ".") for e in ENGINE)]
    assert "mvd.curve" in engine and "mvd.sources.uci" in engine
    assert {"mvd.data", "mvd.store", "mvd.quality"} <= graph["mvd.curve"]  # the graph sees real imports
    bad = {m: sorted(d for d in graph[m] if any(d == a or d.startswith(a + ".") for a in ABOVE)) for m in engine}
    assert {m: d for m, d in bad.items() if d} == {}
