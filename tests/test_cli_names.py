"""CLI flags are named like the library arguments they feed: ``--seconds-per-hash`` is
``HashOptions.seconds_per_hash``, ``--category-scheme`` is ``add_media(category_scheme=…)``. What is
not, is in the one table below with its reason: options of the front end alone, deliberate
differences, and the earlier spellings still accepted."""

from __future__ import annotations

import dataclasses
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image

from conftest import BUNDLED_REFDATA
from helpers import commands, invoke, json_lines
from vigil.demo.case import build_demo
from vigil.evidence.containers import ArchiveLimits
from vigil.hashing import HashOptions, hash_files
from vigil.lists import export_list, import_file
from vigil.lists.catalog import revoke, update_settings
from vigil.lists.media import add_media
from vigil.matching import Matcher
from vigil.media.limits import Limits
from vigil.scan.audit import verify_case
from vigil.scan.scanner import ScanOptions
from vigil.serve import ServeSettings, create_key, revoke_key
from vigil.serve.audit import export_entries, verify
from vigil.serve.users import create_user, disable_user, enrol_totp, require_totp, set_password
from vigil.serve.webhooks import add_webhook, deliveries, remove_webhook, retry_delivery
from vigil.signals import pdq

PHOTO = BUNDLED_REFDATA / "pdq-images/bridge-mods/square-512x512.jpg"

# What each command calls and builds: its options are named after these arguments and fields.
FEEDS: dict[str, tuple[object, ...]] = {
    "": (),
    "hash": (hash_files, HashOptions, Limits),
    "match": (Matcher, hash_files, HashOptions),
    "scan": (ScanOptions, HashOptions, Limits, ArchiveLimits),
    "demo": (build_demo,),
    "case": (),
    "case verify": (verify_case,),
    "case log": (),
    "lists": (),
    "lists import": (import_file,),
    "lists add-media": (add_media,),
    "lists ls": (),
    "lists show": (),
    "lists export": (export_list,),
    "lists revoke": (revoke,),
    "lists set": (update_settings,),
    "serve": (ServeSettings, uvicorn.run),
    "keys": (),
    "keys create": (create_key,),
    "keys ls": (),
    "keys revoke": (revoke_key,),
    "users": (),
    "users create": (create_user,),
    "users ls": (),
    "users password": (set_password,),
    "users totp": (enrol_totp,),
    "users require-totp": (require_totp,),
    "users disable": (disable_user,),
    "audit": (),
    "audit verify": (verify,),
    "audit export": (export_entries,),
    "webhooks": (),
    "webhooks add": (add_webhook,),
    "webhooks ls": (),
    "webhooks remove": (remove_webhook,),
    "webhooks deliveries": (deliveries,),
    "webhooks retry": (retry_delivery,),
}


@dataclass(frozen=True)
class Why:
    reason: str
    alias_of: str | None = None  # an earlier spelling, kept working: the flag named like the library


_KIND = "kind=ListKind.ALLOW, and --block kind=BLOCK: a pair of flags reads as the choice it is"
_SETTING = "repeatable, one NAME=VALUE a use: together they are the settings mapping"

# The one table of options not named like a library argument: (command, flag) -> why ("*": every
# command that has the flag). A flag here that is named like its argument fails the test.
NOT_LIBRARY_NAMES: dict[tuple[str, str], Why] = {
    # Front end only: how the command reads its input, shows progress, or writes its output.
    ("*", "--db"): Why("the database the command opens (Store.open); the library takes the open Store"),
    ("*", "--json"): Why("the output format"),
    ("*", "--quiet"): Why("no progress bar"),
    ("", "--version"): Why("prints the version"),
    ("match", "--hashes"): Why("a file of hash lines ('-': standard input), read into Query values"),
    ("lists show", "--entries"): Why("how many entries to print"),
    ("lists export", "--output"): Why("export_list writes a stream (out); the command writes this file "
                                      "whole or not at all"),
    # Deliberate differences.
    ("demo", "--dir"): Why("build_demo(root): --dir is the flag users know for a folder to work in"),
    ("match", "--list"): Why("repeatable, one list a use: together they are Matcher's lists"),
    ("scan", "--list"): Why("repeatable, one list a use: together they are ScanOptions.lists"),
    ("lists import", "--list"): Why("import_file's list_name, chosen with --list as match and scan choose lists"),
    ("lists import", "--allow"): Why(_KIND),
    ("lists add-media", "--allow"): Why(_KIND),
    ("lists set", "--allow"): Why(_KIND),
    ("lists import", "--setting"): Why(_SETTING),
    ("lists add-media", "--setting"): Why(_SETTING),
    ("lists set", "--setting"): Why(_SETTING),
    ("webhooks add", "--event"): Why("repeatable, one event a use: together they are add_webhook's events"),
    ("users require-totp", "--off"): Why("require_totp(required=False): a switch reads as the exception it is"),
    ("serve", "--max-body-mb"): Why("ServeSettings.max_body_bytes, given in MiB: nobody types a body limit in bytes"),
    ("scan", "--archive-depth"): Why("ArchiveLimits.max_depth: among the scan's limits, --max-depth would not "
                                     "say that archives in archives are what is deep"),
    # Earlier spellings, still accepted.
    ("match", "--expand"): Why("the flag's name before it took the library's", alias_of="--variants"),
    ("scan", "--expand"): Why("the flag's name before it took the library's", alias_of="--variants"),
    ("lists add-media", "--scheme"): Why("the flag's name before it took the library's", alias_of="--category-scheme"),
}


def library_names(feeds: tuple[object, ...]) -> set[str]:
    names: set[str] = set()
    for fed in feeds:
        if isinstance(fed, type) and dataclasses.is_dataclass(fed):
            names.update(f.name for f in dataclasses.fields(fed))
        else:
            names.update(inspect.signature(fed).parameters)  # type: ignore[arg-type]
    return names


def _why(words: str, flag: str) -> Why | None:
    return NOT_LIBRARY_NAMES.get((words, flag)) or NOT_LIBRARY_NAMES.get(("*", flag))


def _options(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option"]


def test_every_command_says_what_it_feeds() -> None:
    assert set(FEEDS) == set(commands())


@pytest.mark.parametrize("words", sorted(FEEDS))
def test_every_flag_is_named_like_the_library_argument_it_feeds(words: str) -> None:
    names = library_names(FEEDS[words])
    unexplained = []
    for option in _options(commands()[words]):
        flags = [f for f in option.opts if f.startswith("--")]  # --no-… and --block are the same option's off
        for flag in flags:
            why = _why(words, flag)
            if flag[2:].replace("-", "_") in names:
                continue
            if why is None:
                unexplained.append(flag)
            elif why.alias_of is not None:
                assert why.alias_of in flags, f"{words} {flag}: an earlier spelling of {why.alias_of}, which is missing"
    assert unexplained == [], f"vigil {words}: name these like the library's arguments ({sorted(names)}) " \
                              "or say why in NOT_LIBRARY_NAMES"


def test_the_table_names_only_flags_that_exist_and_differ() -> None:
    found = commands()
    for (words, flag), why in NOT_LIBRARY_NAMES.items():
        where = [w for w in found if w == words or words == "*"]
        having = [w for w in where if any(flag in o.opts for o in _options(found[w]))]
        assert having, f"{words or 'vigil'} {flag} is in NOT_LIBRARY_NAMES but no such option exists"
        for w in having:
            if _why(w, flag) is why:
                assert flag[2:].replace("-", "_") not in library_names(FEEDS[w]), \
                    f"{w} {flag} is named like the library's argument: take it out of NOT_LIBRARY_NAMES"


@pytest.fixture
def listed(tmp_path: Path) -> Path:
    """A database with the list ``x`` holding the PDQ of PHOTO (a list of hashes, as received), and a
    folder holding the photo mirrored: only its variants match."""
    db = tmp_path / "v.db"
    hashes = tmp_path / "x.txt"
    hashes.write_text(f"pdq {pdq.hash_photo(PHOTO, mode=pdq.Mode.EXACT).hash}\n")
    assert invoke("lists", "import", hashes, "--list", "x", "--db", db).returncode == 0
    (tmp_path / "evidence").mkdir()
    with Image.open(PHOTO) as photo:
        photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "evidence" / "mirrored.png")
    return db


@pytest.mark.parametrize("flag", [None, "--variants", "--expand", "--no-variants", "--no-expand"])
def test_match_variants_under_either_spelling(listed: Path, flag: str | None) -> None:
    mirrored = listed.parent / "evidence" / "mirrored.png"
    proc = invoke("match", mirrored, "--json", "--jobs", "1", "--db", listed, *([flag] if flag else []))
    assert proc.returncode == 0, proc.stderr
    [row] = json_lines(proc)
    assert [m["variant"] for m in row["matches"]] == ([] if flag and "--no-" in flag else ["flipy"])


@pytest.mark.parametrize("flag", ["--variants", "--no-expand"])
def test_scan_variants_under_either_spelling(listed: Path, flag: str) -> None:
    out = listed.parent / "case"
    proc = invoke("scan", listed.parent / "evidence", "--case", "c", "--out", out, "--jobs", "1", "-q",
                  "--db", listed, flag)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["hits"]["items"] == (0 if flag == "--no-expand" else 1)


@pytest.mark.parametrize("flag", ["--category-scheme", "--scheme"])
def test_add_media_category_scheme_under_either_spelling(tmp_path: Path, flag: str) -> None:
    db = tmp_path / "v.db"
    proc = invoke("lists", "add-media", "ours", PHOTO, "--category", "1", flag, "projectvic-us", "--jobs", "1",
                  "--db", db)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(invoke("lists", "show", "ours", "--json", "--db", db).stdout)
    [entry] = shown["entries"]
    assert (entry["category"], entry["category_scheme"]) == ("1", "projectvic-us")
