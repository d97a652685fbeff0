"""The shape of the package: no import cycles (late imports included), and each module's ``__all__`` is
exactly what it exports and what other modules import from it. (The layers are import-linter's
contract in pyproject.toml, run by ``./dev test``; this file checks what it cannot.)"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import grimp
import pytest

import vigil

SRC = Path(vigil.__file__).resolve().parent


def _modules() -> list[str]:
    names = ["vigil"]
    for info in pkgutil.walk_packages(vigil.__path__, "vigil."):
        if ".migrations" not in info.name:  # Alembic's scripts: run by Alembic, not imported
            names.append(info.name)
    return sorted(names)


def _source(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_module_imports_itself_through_others() -> None:
    """A late (function-level) import counts: a cycle is a design problem, not an import to hide."""
    graph = grimp.build_graph("vigil", cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "cyclic_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from . import a  # late\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _cycles(grimp.build_graph("cyclic_pkg", cache_dir=None)) == [["cyclic_pkg.a", "cyclic_pkg.b"]]


def _public_definitions(tree: ast.Module) -> set[str]:
    """Names a module's own top-level code binds (functions, classes, assignments), not starting with _."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_") and n not in {"T", "R"}}


def _imported_names(tree: ast.Module) -> set[str]:
    """Names imported at the top of a module, those imported for type checkers only included: a package
    gives those on first use through a PEP 562 ``__getattr__`` (what a bare ``import vigil`` should not load)."""
    nodes = list(tree.body)
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            nodes += node.body
    return {alias.asname or alias.name for node in nodes if isinstance(node, ast.ImportFrom)
            for alias in node.names}


@pytest.mark.parametrize("name", _modules())
def test_all_is_exactly_what_the_module_exports(name: str) -> None:
    module = importlib.import_module(name)
    tree = ast.parse(_source(name).read_text(encoding="utf-8"))
    exported = getattr(module, "__all__", None)
    defined = _public_definitions(tree)
    if exported is None:
        assert not defined, f"{name} defines {sorted(defined)} but has no __all__"
        return
    assert len(exported) == len(set(exported)), f"{name}.__all__ names something twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"
    left_out = sorted(defined - set(exported) - _imported_names(tree))
    assert not left_out, f"{name} defines public names its __all__ leaves out: {left_out} (export or rename _x)"
    if _source(name).name == "__init__.py":
        reexported = _imported_names(tree) - {"annotations"}
        stray = sorted(n for n in exported if n not in defined and n not in reexported and n != "__version__")
        assert not stray, f"{name}.__all__ names what it neither defines nor imports: {stray}"


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str | None:
    if node.level == 0:
        return node.module if node.module and node.module.startswith("vigil") else None
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@pytest.mark.parametrize("name", _modules())
def test_modules_import_only_what_others_export(name: str) -> None:
    """No module reaches past another's ``__all__`` (private names included): the curated API is the API."""
    path = _source(name)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        target = _resolve(name, node, path.name == "__init__.py")
        if target is None or target == "vigil.__future__":
            continue
        module: ModuleType = importlib.import_module(target)
        exported = set(getattr(module, "__all__", ()))
        for alias in node.names:
            if hasattr(module, "__path__") and importlib.util.find_spec(f"{target}.{alias.name}") is not None:
                continue  # a submodule, not a name
            if target == "vigil" and alias.name == "__version__":
                continue
            if alias.name not in exported:
                wrong.append(f"{alias.name} from {target}")
    assert not wrong, f"{name} imports names outside their module's __all__: {wrong}"
