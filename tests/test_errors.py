"""One error tree: every error Vigil raises on purpose is in ``vigil.errors``, carries its exit code and HTTP
status, and the drawing in the module's docstring is the tree the code defines."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import vigil
from vigil import Limits, errors
from vigil.evidence.custody import CustodyLog
from vigil.lists.model import Signal
from vigil.signals import pdq, vpdq

SRC = Path(vigil.__file__).parent



def _tree_classes() -> list[type[BaseException]]:
    return [c for _, c in inspect.getmembers(errors, inspect.isclass)
            if issubclass(c, BaseException) and c.__module__ == errors.__name__]


def _drawing() -> dict[str, tuple[int, str | None, int | None, int | None]]:
    """name -> (depth, drawn parent, exit code, HTTP status) from the docstring's tree."""
    doc = errors.__doc__ or ""
    out: dict[str, tuple[int, str | None, int | None, int | None]] = {}
    stack: list[str] = []
    for line in doc.splitlines():
        found = re.match(r"^ {4}([ │├└─]*)([A-Z][A-Za-z]+)\b", line)
        if not found:
            continue
        depth = len(found.group(1)) // 4
        name = found.group(2)
        codes = re.search(r"exit (\d)\s+HTTP (\d{3})\s*$", line)
        del stack[depth:]
        out[name] = (depth, stack[-1] if stack else None, int(codes.group(1)) if codes else None,
                     int(codes.group(2)) if codes else None)
        stack.append(name)
    return out


def test_every_class_is_a_vigil_error_with_an_exit_code_and_an_http_status() -> None:
    classes = _tree_classes()
    assert len(classes) >= 15
    for cls in classes:
        assert issubclass(cls, errors.VigilError), cls
        assert cls.exit_code in (1, 2, 3), cls
        assert 400 <= cls.http_status <= 599, cls
        assert cls.__name__ in errors.__all__, cls
    assert set(errors.__all__) == {c.__name__ for c in classes}


def test_the_docstring_draws_every_class_where_it_is_with_its_codes() -> None:
    drawn = _drawing()
    classes = {c.__name__: c for c in _tree_classes()}
    assert set(drawn) == set(classes)
    for name, (_depth, parent, exit_code, http_status) in drawn.items():
        cls = classes[name]
        base = cls.__bases__[0]
        assert parent == (None if cls is errors.VigilError else base.__name__), name
        if exit_code is not None:  # a line without codes has its parent's
            assert (cls.exit_code, cls.http_status) == (exit_code, http_status), name
        else:
            assert (cls.exit_code, cls.http_status) == (base.exit_code, base.http_status), name


def test_messages_are_one_line() -> None:
    assert str(errors.InputUnusable("cannot open\n  the file")) == "cannot open the file"


def test_python_idioms_still_catch_what_they_did() -> None:
    # A malformed value is a ValueError to Python code, a non-regular file an OSError.
    assert issubclass(errors.InvalidValue, ValueError) and issubclass(errors.InvalidValue, errors.UsageError)
    assert issubclass(errors.NotRegular, OSError)
    assert issubclass(errors.CacheUnreadable, errors.IndexCorrupt)


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(SRC)], prefix="vigil."):
        if ".migrations" in info.name or info.name == "vigil.__main__":
            continue  # Alembic's environment runs only under Alembic; __main__ runs the command
        names.append(info.name)
    return names


def test_no_error_class_is_defined_outside_the_tree() -> None:
    outside = []
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name
                    and name != errors.__name__ and not attr.startswith("_")):
                outside.append(f"{name}.{attr}")
    assert outside == []  # a private class (control flow inside one module) is fine


_BUILTIN = {"ValueError", "RuntimeError", "TypeError", "KeyError", "IndexError", "AssertionError",
            "Exception", "OSError", "IOError", "LookupError", "NotImplementedError"}


def _raised_name(node: ast.Raise) -> str | None:
    target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return target.id if isinstance(target, ast.Name) else None


def _caught_here(tree: ast.AST) -> set[int]:
    """Raises caught by their own try statement (control flow inside one function, not an error)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            caught = {n.id for h in node.handlers if h.type is not None
                      for n in ast.walk(h.type) if isinstance(n, ast.Name)}
            ids.update(id(r) for stmt in node.body for r in ast.walk(stmt)
                       if isinstance(r, ast.Raise) and _raised_name(r) in caught)
    return ids


def test_no_builtin_exception_is_raised_on_purpose() -> None:
    raised = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        tree = ast.parse(path.read_text())
        local = _caught_here(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and _raised_name(node) in _BUILTIN and id(node) not in local:
                raised.append(f"{rel}:{node.lineno} {_raised_name(node)}")
    assert raised == []


def test_bad_arguments_raise_tree_errors_that_say_what_is_wrong() -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: pdq.distance("00", "f" * 64), "64 hexadecimal digits"),
        (lambda: Limits(max_pixels=0), "max_pixels must be positive, not 0"),
        (lambda: vpdq.parse_line("x,100," + "0" * 64 + ",0"), "frame and quality are integers"),
        (lambda: CustodyLog(None, "log; drop"), "not a plain table name"),  # type: ignore[arg-type]
        (lambda: Signal.of("pdq", "abc"), "not a pdq value"),
    ]
    for call, message in cases:
        with pytest.raises(errors.InvalidValue, match=message) as caught:
            call()
        assert caught.value.exit_code == 2
