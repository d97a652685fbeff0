from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

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
