from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.store import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BUNDLED_REFDATA = DATA / "threatexchange"


def full_refdata() -> Path | None:
    """Meta's full reference set, when this machine has it (CI does: ../shared/refdata)."""
    env = os.environ.get("VIGIL_REFDATA")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "refdata" / "threatexchange")
    for c in candidates:
        if (c / "pdq-reference-hashes.csv").is_file():
            return c
    return None


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def refdata_full() -> Path:
    found = full_refdata()
    if found is None:
        pytest.skip("full ThreatExchange reference set not on this machine (set VIGIL_REFDATA)")
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store: a SQLite file always; PostgreSQL when VIGIL_TEST_POSTGRES_URL
    names a server (CI sets it), each test in a schema of its own, dropped afterwards."""
    if request.param == "sqlite":
        s = Store.open(tmp_path / "vigil.db")
        s.cache_dir = tmp_path / "cache"
        yield s
        s.close()
        return
    url = os.environ.get("VIGIL_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL backend not tested: set VIGIL_TEST_POSTGRES_URL (CI does)")
    schema = f"vigil_test_{uuid.uuid4().hex[:12]}"
    admin = Store.open(url, migrate=False)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    s = Store.open(f"{url}{sep}options=-csearch_path%3D{schema}")
    s.cache_dir = tmp_path / "cache"
    try:
        yield s
    finally:
        s.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.close()
