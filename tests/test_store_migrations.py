"""The store's migration heads come from the scripts, so a new migration is never skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vigil.errors import StoreUnusable
from vigil.store import Store, migration_heads

VERSIONS = Path(__file__).resolve().parents[1] / "src" / "vigil" / "store" / "migrations" / "versions"


def test_the_head_is_read_from_the_scripts(tmp_path: Path) -> None:
    assert migration_heads() == frozenset({"0003", "s006"})  # lists; the service's tables
    versions = tmp_path / "versions"
    shutil.copytree(VERSIONS, versions, ignore=shutil.ignore_patterns("__pycache__"))
    (versions / "0004_more.py").write_text('revision = "0004"\ndown_revision: str | None = "0003"\n')
    assert migration_heads(versions) == frozenset({"0004", "s006"})
    # A table set of its own (a later app's) is a second line: both heads must be there.
    (versions / "0100_service.py").write_text('revision = "0100"\ndown_revision = None\nbranch_labels = ("service",)\n')
    assert migration_heads(versions) == frozenset({"0004", "s006", "0100"})
    (versions / "0200_bad.py").write_text("down_revision = None\n")
    with pytest.raises(StoreUnusable, match=r"0200_bad\.py names no revision"):
        migration_heads(versions)


def test_a_store_at_the_heads_opens_without_migrating(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "v.db"))
    with store.connect() as conn:
        assert Store._revisions(conn) == migration_heads()
    store.close()
