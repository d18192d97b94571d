"""The package's shape, as docs/ARCHITECTURE.md states it: subpackages by pipeline stage, each
importing only the stages to its left, small modules and classes, argparse only in the CLI, no
import cycles, and old module paths still importable."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "symconv"

#: pipeline stages, left to right; a module may import its own stage and those to its left
STAGES = [
    "core",
    "nn",
    "interop",
    "latex",
    "figures",
    "codegen",
    "grading",
    "assignment",
    "explore",
    "cli",
]
#: modules every stage may use
SHARED = {
    "symconv.fileio",
    "symconv.templating",
    "symconv._version",
    "symconv._hooks",
    "symconv.core.errors",
}

MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 250


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """symconv modules that ``name`` imports anywhere in its body (lazy imports included)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("symconv"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("symconv"):
                continue
            for alias in node.names:  # ``from . import layers`` names a module
                sub = f"{mod}.{alias.name}"
                found.add(sub if sub in MODULES else mod)
    found.discard(name)
    return {m for m in found if m in MODULES}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _stage(module: str):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small(module):
    lines = MODULES[module].read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_classes_are_small(module):
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            size = node.end_lineno - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"{module}.{node.name}: {size} lines"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_stage_imports_only_to_its_left(module):
    stage = _stage(module)
    if stage is None:
        return  # the facade, _moved and the shared utilities
    allowed = set(STAGES[: STAGES.index(stage) + 1])
    wrong = sorted(
        m for m in GRAPH[module] if m not in SHARED and _stage(m) not in allowed | {None}
    )
    assert not wrong, f"{module} ({stage}) imports a stage to its right: {wrong}"
    facade = sorted(m for m in GRAPH[module] if m in ("symconv", "symconv._moved"))
    assert not facade, f"{module} imports the facade: {facade}"


def test_no_import_cycles():
    """Depth-first search for a cycle among the modules (the facade and the packages' own
    __init__ re-exports excluded: a package importing its submodules is not a cycle)."""
    graph = {
        m: {d for d in deps if not m.startswith(d + ".") and d != "symconv"}
        for m, deps in GRAPH.items()
        if m not in ("symconv", "symconv._moved")
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep) :] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_argparse_only_in_cli():
    users = sorted(
        m
        for m, path in MODULES.items()
        if _stage(m) != "cli" and "argparse" in _top_level_names(path)
    )
    assert not users, f"argparse imported outside symconv/cli/: {users}"


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "old, name",
    [
        ("symconv.spec", "LayerSpec"),
        ("symconv.layers", "Layer"),
        ("symconv.errors", "SpecError"),
        ("symconv.reference", "forward"),
        ("symconv.answers", "parse_answer"),
        ("symconv.nn_layers", "relu"),
        ("symconv.network", "example"),
        ("symconv.check", "grade_folder"),
        ("symconv.derive", "Derivation"),
    ],
)
def test_old_module_paths_still_import(old, name):
    module = importlib.import_module(old)
    assert hasattr(module, name)
    import symconv

    assert callable(symconv.check) and not isinstance(symconv.check, type(sys))
    assert callable(symconv.derive) and not isinstance(symconv.derive, type(sys))


def test_core_import_does_not_load_later_stages():
    """``import symconv`` loads the core and the checker's entry point, not LaTeX, code
    generation, figures or the CLI (they load on first use)."""
    code = (
        "import sys, symconv; "
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['symconv','latex'], ['symconv','codegen'], ['symconv','figures'], ['symconv','cli'])))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
