"""Dependencies point one way (DESIGN.md), checked on the sources with `ast`.

Nothing under tinygrad_attn/ imports viz except the command line (tinygrad_attn/commands/) and
testing's lazy import (inside a function) for render_on_failure; only the command line imports
the commands; viz only reads finished graphs and never imports tinygrad_attn.testing or the
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
    assert {"viz", "tinygrad_attn.testing", "tinygrad_attn.analysis"} <= {name for name, _, _ in demo}
    gradcheck = imports((ROOT / "tinygrad_attn/testing/gradcheck.py").read_text(), "tinygrad_attn.testing.gradcheck")
    assert ("viz", True) in {(name, lazy) for name, _, lazy in gradcheck}


@pytest.mark.parametrize(
    ("source", "module", "breach"),
    [
        ("import viz", "tinygrad_attn.nn.layers", "viz"),
        ("from viz import plots", "tinygrad_attn.analysis", "viz.plots"),
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
        ("from tinygrad_attn import Tensor, analysis", "viz.plots"),
        ("from . import graph", "viz.frames"),
        ("from .recurrent import RNN", "tinygrad_attn.nn"),
    ],
)
def test_allowed_imports_pass(source, module):
    assert violations(source, module, is_package=module == "tinygrad_attn.nn") == []
