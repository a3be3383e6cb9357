"""The import graph of both packages: no cycles, and no imports hidden inside functions except of
optional dependencies (which a plain install may lack)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("audiofeat", "gansynth_zoo")
#: imported only where used, so that the packages work without them (extras, or installed by make targets)
OPTIONAL = {"sklearn", "matplotlib", "music21", "tinysoundfont", "tensorboard", "torch.utils.tensorboard",
            "onnx", "onnxruntime"}


def _optional(name: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in OPTIONAL)


def _modules(root: Path) -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules (and ``module.name`` candidates) that an import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parent = module.split(".")[:len(module.split(".")) - node.level + is_package]
        base = ".".join([*parent, *([node.module] if node.module else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph(root: Path) -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """Module -> the package modules it imports (anywhere in the file), and the (module, import) pairs
    of imports inside functions."""
    modules = _modules(root)
    graph, inner = {}, []
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        is_package = path.name == "__init__.py"
        graph[module] = {name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                         for name in _imported(node, module, is_package) if name in modules and name != module}
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner += [(module, name) for node in ast.walk(function)
                          if isinstance(node, (ast.Import, ast.ImportFrom))
                          for name in _imported(node, module, is_package)[:1]]
    return graph, inner


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as ``[a, b, ..., a]``, or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_find_cycle_finds_a_planted_cycle(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "gansynth_zoo" / "a.py").write_text("from gansynth_zoo import b\n")
    (tmp_path / "gansynth_zoo" / "b.py").write_text("def f():\n    from . import a\n")
    graph, inner = import_graph(tmp_path)
    assert find_cycle(graph) == ["gansynth_zoo.a", "gansynth_zoo.b", "gansynth_zoo.a"]
    assert inner == [("gansynth_zoo.b", "gansynth_zoo")]


def test_the_packages_have_no_import_cycle():
    graph, _ = import_graph(ROOT)
    assert find_cycle(graph) == []


def test_only_optional_dependencies_are_imported_inside_functions():
    _, inner = import_graph(ROOT)
    assert [(module, name) for module, name in inner if not _optional(name)] == []


def test_audiofeat_never_imports_gansynth_zoo():
    graph, _ = import_graph(ROOT)
    assert not [m for m, deps in graph.items() if m.startswith("audiofeat") and
                any(d.startswith("gansynth_zoo") for d in deps)]


def test_the_trainer_imports_no_model_and_no_run_config():
    graph, _ = import_graph(ROOT)
    seen, todo = set(), ["gansynth_zoo.training.loop"]
    while todo:  # everything the training loop imports, directly or not
        module = todo.pop()
        seen.add(module)
        todo += [m for m in graph[module] if m not in seen]
    assert not [m for m in seen if m.startswith("gansynth_zoo.models") or m == "gansynth_zoo.registry"]
    assert "RunConfig" not in (ROOT / "gansynth_zoo/training/loop.py").read_text()
