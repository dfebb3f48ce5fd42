"""Dependencies point one way (docs/architecture.md), checked on the sources with `ast`.

The core (all of tinygrad_attn/ but commands/ and testing/) has no import cycle, counting
imports inside functions; no module imports below its first statement of code. Nothing under
tinygrad_attn/ imports viz except the command line (tinygrad_attn/commands/) and testing's
lazy import (inside a function) for render_on_failure; only the command line imports the
commands; viz only reads finished graphs and never imports tinygrad_attn.testing or the
command line.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMAND_LINE = ("tinygrad_attn.commands", "tinygrad_attn.cli", "tinygrad_attn.__main__")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool = False):
    """(imported dotted name, line, inside a function) for every import in `source` of `module`.

    `from a import b` yields both `a` and `a.b` (b may be a submodule); relative imports are
    resolved against `module`; `importlib.import_module("x")` and `__import__("x")` count too.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = []

    def visit(node, in_function):
        in_function = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(node, ast.Import):
            found.extend((a.name, node.lineno, in_function) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from ..x import y: go up level - 1 packages from this module's package
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            found.append((base, node.lineno, in_function))
            found.extend((f"{base}.{a.name}", node.lineno, in_function) for a in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if fn in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.args[0].value, node.lineno, in_function))
        for child in ast.iter_child_nodes(node):
            visit(child, in_function)

    visit(ast.parse(source), False)
    return found


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """The import-rule breaches of one module's source, as 'module:line imports name' strings."""
    out = []
    for name, line, lazy in imports(source, module, is_package):
        if module.startswith("viz"):
            bad = _within(name, ("tinygrad_attn.testing",) + COMMAND_LINE)
        elif _within(module, COMMAND_LINE):
            bad = False
        elif _within(name, ("viz",)):
            bad = not (lazy and _within(module, ("tinygrad_attn.testing",)))
        else:
            bad = _within(name, COMMAND_LINE)
        if bad:
            out.append(f"{module}:{line} imports {name}")
    return out


def _sources(package):
    paths = sorted((ROOT / package).rglob("*.py"))
    assert paths, f"no sources under {package}/"
    return paths


@pytest.mark.parametrize("package", ["tinygrad_attn", "viz"])
def test_dependencies_point_one_way(package):
    found = []
    for path in _sources(package):
        found += violations(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")
    assert found == []


def test_the_allowed_imports_are_seen():
    """The rule's exceptions exist, so the checker is looking at real imports (not silently at nothing)."""
    demo = imports((ROOT / "tinygrad_attn/commands/study.py").read_text(), "tinygrad_attn.commands.study")
    assert {"viz", "tinygrad_attn.testing", "tinygrad_attn.commands.analysis"} <= {name for name, _, _ in demo}
    gradcheck = imports((ROOT / "tinygrad_attn/testing/gradcheck.py").read_text(), "tinygrad_attn.testing.gradcheck")
    assert ("viz", True) in {(name, lazy) for name, _, lazy in gradcheck}


@pytest.mark.parametrize(
    ("source", "module", "breach"),
    [
        ("import viz", "tinygrad_attn.nn.layers", "viz"),
        ("from viz import plots", "tinygrad_attn.optim", "viz.plots"),
        ("def f():\n    import viz.plots", "tinygrad_attn.nn.layers", "viz.plots"),  # lazy is only for testing
        ("import viz", "tinygrad_attn.testing.gradcheck", "viz"),  # testing: at module level
        ("import importlib\nimportlib.import_module('viz')", "tinygrad_attn.io", "viz"),
        ("from tinygrad_attn.testing import gradcheck", "viz.graph", "tinygrad_attn.testing"),
        ("from tinygrad_attn import testing", "viz.plots", "tinygrad_attn.testing"),
        ("def f():\n    from tinygrad_attn.testing.broken import WrongTanh", "viz", "tinygrad_attn.testing.broken"),
        ("from tinygrad_attn.commands import study", "viz.frames", "tinygrad_attn.commands"),
        ("from ..commands import demo", "tinygrad_attn.nn.layers", "tinygrad_attn.commands"),
        ("from .. import cli", "tinygrad_attn.data.tasks", "tinygrad_attn.cli"),
    ],
)
def test_each_breach_is_reported(source, module, breach):
    assert any(v.endswith(f"imports {breach}") for v in violations(source, module))


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("def f():\n    import viz", "tinygrad_attn.testing.gradcheck"),
        ("from viz import draw", "tinygrad_attn.commands.study"),
        ("from ..testing import gradcheck", "tinygrad_attn.commands.study"),
        ("from tinygrad_attn import Tensor, nn", "viz.plots"),
        ("from . import graph", "viz.frames"),
        ("from .recurrent import RNN", "tinygrad_attn.nn"),
    ],
)
def test_allowed_imports_pass(source, module):
    assert violations(source, module, is_package=module == "tinygrad_attn.nn") == []


# ---- the core's layers: no cycle, no import below the code --------------------------------
CORE_EXCLUDED = ("tinygrad_attn.commands", "tinygrad_attn.testing")


def _core_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in _sources("tinygrad_attn") if not _within(_module_name(p), CORE_EXCLUDED)}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the modules of `modules` it imports (at the top or inside functions).

    `from a import b` is an edge to `a.b` when that is a module, else to `a` (b is a name
    defined there). Importing a submodule also runs its parents' `__init__`, but that edge is
    Python's, not the importer's: only the imports written in a file count.
    """
    graph = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        package = module.split(".") if is_package else module.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                else:
                    base = node.module
                for a in node.names:
                    targets.add(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
        graph[module] = {t for t in targets if t in modules} - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def late_imports(source: str) -> list[int]:
    """Lines of module-level imports that come after the first statement of code."""
    seen_code, late = False, []
    for i, node in enumerate(ast.parse(source).body):
        is_import = isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, ast.Try) and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in node.body)
        )  # try: import x / except ImportError: a guarded import is still an import
        if is_import:
            if seen_code:
                late.append(node.lineno)
        elif not (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            seen_code = True  # anything but the docstring
    return late


def test_the_core_has_no_import_cycle():
    graph = import_graph(_core_modules())
    assert cycles(graph) == []


def test_the_core_graph_is_real():
    """The checker sees the layers it is meant to see (so an empty graph cannot pass)."""
    graph = import_graph(_core_modules())
    assert "tinygrad_attn.tensor" in graph["tinygrad_attn.function"]
    assert "tinygrad_attn.function" in graph["tinygrad_attn.ops.elementwise"]
    assert "tinygrad_attn.ops.movement" in graph["tinygrad_attn.autograd"]
    assert {"tinygrad_attn.autograd", "tinygrad_attn.ops"} <= graph["tinygrad_attn.tensor_methods"]
    assert graph["tinygrad_attn.tensor"] <= {"tinygrad_attn.mode"}


@pytest.mark.parametrize("package", ["tinygrad_attn", "viz"])
def test_no_import_below_the_code(package):
    found = [f"{_module_name(p)}:{line}" for p in _sources(package) for line in late_imports(p.read_text("utf-8"))]
    assert found == []


@pytest.mark.parametrize(
    ("sources", "cycle"),
    [
        ({"a": "from . import b", "b": "from . import a"}, ["p.a", "p.b"]),
        ({"a": "from .b import f", "b": "def g():\n    from .c import h", "c": "import p.a"}, ["p.a", "p.b", "p.c"]),
    ],
)
def test_a_cycle_is_found_even_through_a_lazy_import(tmp_path, sources, cycle):
    modules = {}
    for name, text in sources.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        modules[f"p.{name}"] = path
    assert cycles(import_graph(modules)) == [cycle]


def test_an_import_below_the_code_is_found():
    assert late_imports('"""doc."""\nimport os\nX = 1\nimport sys\n') == [4]
    assert late_imports('"""doc."""\nfrom __future__ import annotations\nimport os\n') == []
