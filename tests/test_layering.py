"""The house's layering, read from the source (ast): who may import whom, and no cycles.

The plan is docs/design.md ("The house"): dependencies point one way, from the front door
(scnas) down to the ground floor of sc_accel; kernels never import streams; hw never imports
nn; reports imports none of the suite; no cycle between packages or between files. Every
import counts, also one written inside a function.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scnas", "sc_accel", "recast", "nas", "reports")  # scnas/benchmarks is part of scnas
GROUND = "sc_accel.ground"  # sc_accel's top-level modules: bits, errors, fileio, graph, registry, seeds, runner

# layer -> the layers it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    GROUND: set(),
    "sc_accel.kernels": {GROUND},
    "sc_accel.streams": {"sc_accel.kernels", GROUND},
    "sc_accel.metrics": {"sc_accel.streams", "sc_accel.kernels", GROUND},
    "sc_accel.nn": {"sc_accel.streams", "sc_accel.kernels", "sc_accel.metrics", GROUND},
    "sc_accel.hw": {GROUND},
    "sc_accel.dse": {"sc_accel.hw", "sc_accel.nn", "sc_accel.metrics", GROUND},
    "recast": {GROUND},
    "nas": {"recast", "sc_accel.hw", "sc_accel.metrics", GROUND},
    "reports": set(),
    "scnas": {"sc_accel.nn", "sc_accel.hw", "sc_accel.dse", "sc_accel.metrics", "sc_accel.streams",
              "sc_accel.kernels", "recast", "nas", "reports", GROUND},
}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _targets(mod: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The suite's modules an import statement names (resolving relative imports)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            here = mod.split(".") if MODULES[mod].name == "__init__.py" else mod.split(".")[:-1]
            here = here[: len(here) - node.level + 1]
            base = ".".join(here + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    out = []
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != mod:
            out.append(name)
    return out


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for mod, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges[mod].update(_targets(mod, node))
    return edges


EDGES = _edges()


def layer_of(mod: str) -> str:
    """The layer a module belongs to: a sub-package of sc_accel, the ground floor, or a top package."""
    parts = mod.split(".")
    if parts[0] != "sc_accel":
        return parts[0]
    if len(parts) > 1 and (ROOT / "sc_accel" / parts[1]).is_dir():
        return f"sc_accel.{parts[1]}"
    return GROUND


def test_the_scan_sees_the_whole_suite():
    assert {"sc_accel.bits", "sc_accel.kernels.conv", "scnas.cli", "reports.report"} <= set(MODULES)
    assert "sc_accel.hw.estimate" in EDGES["nas.cost"]  # a known edge is found
    assert set(ALLOWED) == {layer_of(m) for m in MODULES}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_what_the_plan_allows(layer):
    bad = sorted(f"{m} -> {t}" for m in MODULES if layer_of(m) == layer for t in EDGES[m]
                 if layer_of(t) != layer and layer_of(t) not in ALLOWED[layer])
    assert not bad, f"{layer} may import only {sorted(ALLOWED[layer])}: " + "; ".join(bad)


def test_kernels_never_import_streams():
    assert not [m for m in MODULES if layer_of(m) == "sc_accel.kernels"
                for t in EDGES[m] if layer_of(t) == "sc_accel.streams"]


def test_no_cycle_between_layers():
    g = nx.DiGraph((layer_of(m), layer_of(t)) for m in MODULES for t in EDGES[m] if layer_of(m) != layer_of(t))
    assert list(nx.simple_cycles(g)) == []


def test_no_cycle_between_files():
    g = nx.DiGraph((m, t) for m in MODULES for t in EDGES[m])
    assert list(nx.simple_cycles(g)) == []


def test_the_rules_catch_a_violation():
    """The checks are live: an extra kernels -> streams edge would break two of them."""
    edges = {m: set(t) for m, t in EDGES.items()}
    edges["sc_accel.kernels.conv"].add("sc_accel.streams.bank")
    g = nx.DiGraph((layer_of(m), layer_of(t)) for m in edges for t in edges[m] if layer_of(m) != layer_of(t))
    assert ("sc_accel.streams", "sc_accel.kernels") in g.edges and list(nx.simple_cycles(g))
