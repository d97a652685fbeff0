"""What pyproject.toml declares is what the code needs: a NumPy function newer than the declared
minimum would fail on an install that pip considers complete."""

from __future__ import annotations

import ast
import tomllib

import numpy as np
from packaging.requirements import Requirement
from packaging.version import Version

from conftest import ROOT

# NumPy functions added in 2.x (NumPy's release notes), with the release that added them.
_ADDED_IN = {
    **dict.fromkeys(["bitwise_count", "concat", "permute_dims", "matrix_transpose", "vecdot", "isdtype",
                     "unique_all", "unique_counts", "unique_inverse", "unique_values", "acos", "acosh", "asin",
                     "asinh", "atan", "atan2", "atanh", "bitwise_left_shift", "bitwise_right_shift",
                     "bitwise_invert", "pow"], Version("2.0")),
    **dict.fromkeys(["unstack", "cumulative_sum", "cumulative_prod"], Version("2.1")),
    **dict.fromkeys(["matvec", "vecmat"], Version("2.2")),
}


def _declared_minimum(name: str) -> Version:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for text in project["dependencies"]:
        req = Requirement(text)
        if req.name == name:
            floors = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
            assert floors, f"{text}: no minimum version"
            return max(floors)
    raise AssertionError(f"{name} is not a declared dependency")


def _numpy_names_used() -> set[str]:
    """Every ``np.X`` / ``numpy.X`` the package's code names."""
    used: set[str] = set()
    for path in (ROOT / "src" / "vigil").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("np",
                                                                                                        "numpy"):
                used.add(node.attr)
    return used


def test_every_numpy_function_the_code_uses_exists_at_the_declared_minimum() -> None:
    used = _numpy_names_used()
    assert {"ndarray", "uint64"} <= used  # the scan sees the code
    assert all(hasattr(np, name) for name in used)
    minimum = _declared_minimum("numpy")
    too_new = {name: str(v) for name, v in _ADDED_IN.items() if name in used and v > minimum}
    assert too_new == {}, f"pyproject.toml declares numpy>={minimum}, but the code uses {too_new}"
