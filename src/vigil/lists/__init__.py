"""Hash lists: the model, the exchange formats, and lists kept in a store.

    from vigil.lists import import_file, export_list, revoke, all_lists
    result = import_file(store, "ncmec.xml", "ncmec")      # format detected from the content
    export_list(store, "ncmec", "vics", open("out.json", "wb"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ListFormatError
from .model import Record, Signal
from .settings import SETTINGS, ListSettings

if TYPE_CHECKING:
    from .catalog import ListInfo, ListKind, all_lists, create_list, describe_list, get_list, iter_records, revoke
    from .exporting import export_list
    from .importing import ImportResult, import_file, import_records

__all__ = [
    "ImportResult",
    "ListFormatError",
    "ListInfo",
    "ListKind",
    "ListSettings",
    "Record",
    "SETTINGS",
    "Signal",
    "all_lists",
    "create_list",
    "describe_list",
    "export_list",
    "get_list",
    "import_file",
    "import_records",
    "iter_records",
    "revoke",
]

_CATALOG = frozenset({"ListInfo", "ListKind", "all_lists", "create_list", "describe_list", "get_list",
                      "iter_records", "revoke"})
_IMPORTING = frozenset({"ImportResult", "import_file", "import_records"})


def __getattr__(name: str) -> object:
    """The store-backed names load SQLAlchemy with their modules on first use: the model, the
    settings and the formats (all `vigil --help` needs of lists) do not (PEP 562)."""
    if name in _CATALOG:
        from . import catalog

        return getattr(catalog, name)
    if name in _IMPORTING:
        from . import importing

        return getattr(importing, name)
    if name == "export_list":
        from .exporting import export_list

        return export_list
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
