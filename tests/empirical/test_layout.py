"""The shape of ``empirical/``: stages that import only earlier stages, no import cycle, thin entry points.

The intra-package import graph is read from the source with ``ast`` (every ``import`` and ``from ... import``,
at module level and inside functions, relative ones resolved), not from what happens to be imported::

    shared (empirical, _errors, _cli, data, image_files)  <-  rcc
                                             <-  models
                                             <-  codec (rcc, models)  <-  measure (rcc, models, codec)
                                                                      <-  images (rcc, models, codec; python -m empirical.images)
    entry points (compress, decompress, train, rd, rcc_bench): ``from <stage module> import main`` only
"""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "empirical"
STAGES = ("rcc", "models", "codec", "measure", "images")
SHARED = {"empirical", "empirical._errors", "empirical._cli", "empirical.data", "empirical.image_files"}
ENTRY_POINTS = {"empirical.compress": "empirical.codec.compress", "empirical.decompress": "empirical.codec.decompress",
                "empirical.train": "empirical.models.train", "empirical.rd": "empirical.measure.rd",
                "empirical.rcc_bench": "empirical.rcc.bench"}
ALLOWED = {"shared": {"shared"}, "rcc": {"shared", "rcc"}, "models": {"shared", "models"},
           "codec": {"shared", "rcc", "models", "codec"}, "measure": {"shared", "rcc", "models", "codec", "measure"},
           "images": {"shared", "rcc", "models", "codec", "images"},
           "entry": {"shared", "rcc", "models", "codec", "measure"}}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in STAGES:
        return parts[1]
    return "entry" if module in ENTRY_POINTS else "shared"


def _imports(module: str):
    """``[(target module, line, at module level)]`` of every import of an ``empirical`` module in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []

    def visit(node, top: bool):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            top = False
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                names = [".".join(parts[:k]) for k in range(len(parts), 0, -1)]
                target = next((n for n in names if n in MODULES), None)
                if target is not None:
                    out.append((target, node.lineno, top))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                target = f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
                if target in MODULES:
                    out.append((target, node.lineno, top))
        for child in ast.iter_child_nodes(node):
            visit(child, top)

    visit(tree, True)
    return out


GRAPH = {module: _imports(module) for module in MODULES}


def test_the_parser_sees_known_edges():
    """The graph is not vacuous: module-level, function-level and relative imports are all found."""
    edges = {(m, t, top) for m, imports in GRAPH.items() for t, _, top in imports}
    assert ("empirical.codec.chain", "empirical.models", True) in edges
    assert ("empirical.codec.chain", "empirical.codec.receivers", True) in edges  # from . import receivers
    assert ("empirical.models.loader", "empirical.models.learned", False) in edges  # only when a checkpoint is loaded
    assert ("empirical.rcc.step", "empirical._errors", True) in edges  # from .._errors import ...
    assert ("empirical.measure.sweep", "empirical.codec", False) in edges


def test_top_level_holds_only_shared_modules_and_entry_points():
    """``empirical/`` itself: the shared modules, the ``python -m`` entry points and the four stage packages."""
    top = {m for m in MODULES if m.count(".") <= 1}
    assert top == SHARED | set(ENTRY_POINTS) | {f"empirical.{s}" for s in STAGES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_stage_imports_only_earlier_stages(module):
    """rcc and models import only the shared modules; codec also rcc and models; measure also codec (at any level)."""
    stage = _stage(module)
    bad = [(t, line) for t, line, _ in GRAPH[module] if _stage(t) not in ALLOWED[stage]]
    assert not bad, f"{module} ({stage}) imports {bad}"


@pytest.mark.parametrize("module_level_only", [True, False], ids=["module-level", "with-function-level"])
def test_no_import_cycle(module_level_only):
    """The import graph inside ``empirical/`` is acyclic (depth-first search for a back edge): the module-level
    imports, and also with the imports inside functions (``models`` <-> ``_model_net`` was such a circle)."""
    edges = {m: sorted({t for t, _, top in imports if (top or not module_level_only) and t != m})
             for m, imports in GRAPH.items()}
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in edges[m]:
            if state.get(t) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_entry_points_are_thin(entry):
    """Each ``python -m empirical.<tool>`` module only imports ``main`` from the module that implements it."""
    tree = ast.parse(MODULES[entry].read_text())
    found = [(n.module, [a.name for a in n.names]) for n in ast.walk(tree)
             if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("empirical")]
    assert found == [(ENTRY_POINTS[entry], ["main"])]
    assert len(MODULES[entry].read_text().splitlines()) <= 8


def test_importing_every_module_but_the_learned_net_imports_no_torch():
    """torch is imported only by ``empirical.models.learned`` (a learned model built or loaded) and inside functions."""
    names = sorted(m for m in MODULES if m != "empirical.models.learned")
    code = f"import importlib, sys\nfor name in {names!r}:\n    importlib.import_module(name)\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_rcc_workload_transition_coefficients_equal_the_models():
    """``rcc.workload`` restates ``models.transition_coefficients`` (so rcc need not import models): float for float."""
    from empirical import models
    from empirical.rcc import workload

    rng = np.random.default_rng(0)
    log_snr_t = rng.uniform(-12.0, 12.0, 200)
    pairs = [(t, t + d) for t, d in zip(log_snr_t, rng.exponential(2.0, 200))]
    pairs += [(0.0, 1e-12), (-10.0, 30.0), (5.0, 5.0 + 1e-9), (-3.0, np.inf)]
    for t, s in pairs:
        want = models.transition_coefficients(t, s)
        got = workload._transition_coefficients(t, s)
        assert [float(v) for v in got] == [float(v) for v in want], (t, s)
