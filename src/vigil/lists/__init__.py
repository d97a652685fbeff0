"""Hash lists: the model, the exchange formats, and lists kept in a store.

    from vigil.lists import import_file, export_list, revoke, all_lists
    result = import_file(store, "ncmec.xml", "ncmec")      # format detected from the content
    export_list(store, "ncmec", "vics", open("out.json", "wb"))
"""

from __future__ import annotations

from ..errors import ListFormatError
from .catalog import ListInfo, ListKind, all_lists, create_list, describe_list, get_list, iter_records, revoke
from .exporting import export_list
from .importing import ImportResult, import_file, import_records
from .model import Record, Signal
from .settings import SETTINGS, ListSettings

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
