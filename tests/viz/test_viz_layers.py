"""viz imports one way: no cycle among its modules (imports inside functions count), and the explorer's path
record -> drawing (explore_model) -> page data (explore_data) -> page (explore_page) never calls back."""

import ast
import pathlib

import viz

VIZ = pathlib.Path(viz.__file__).parent
EXPLORER = ["walk", "explore_model", "explore_numbers", "explore_time", "explore_data", "explore_page", "explore"]


def imports() -> dict:
    """viz module name -> the viz modules it imports, anywhere in the file."""
    names = {p.stem for p in VIZ.glob("*.py")}
    out = {}
    for path in VIZ.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module:
                    found.add(node.module.split(".")[0])
                elif node.level == 1:
                    found.update(a.name for a in node.names)
                elif node.module and node.module.startswith("viz."):
                    found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("viz."))
        out[path.stem] = (found & names) - {path.stem}
    return out


def cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}
    for start in graph:
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


def test_viz_modules_import_each_other_one_way():
    graph = imports()
    assert {"explore", "explore_data", "explore_model", "grads", "model"} <= set(graph)
    assert cycle(graph) is None, cycle(graph)
    assert "model" not in graph["grads"]  # the numbers' source knows nothing of the drawing


def test_the_explorer_hands_on_and_never_calls_back():
    graph = imports()
    for k, name in enumerate(EXPLORER):
        later = set(EXPLORER[k + 1 :]) & graph[name]
        assert not later, f"{name} imports {later}, a later stage of the explorer"
    assert "explore_model" not in graph["explore_data"]  # the data module is handed the drawing, it never builds one


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
