"""PDQ agrees with the field's references: bit for bit in exact mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pdqhash
import pytest

from conftest import BUNDLED_REFDATA, full_refdata, read_csv
from vigil.signals import pdq
from vigil.signals.mode import Mode

REFERENCE = read_csv(BUNDLED_REFDATA / "pdq-reference-hashes.csv")
PUBLISHED = read_csv(BUNDLED_REFDATA / "pdq-published-hashes.csv")
BUNDLED = [r for r in REFERENCE if (BUNDLED_REFDATA / r["path"]).is_file()]


def test_bundled_subset_is_meaningful() -> None:
    assert len(BUNDLED) >= 12


@pytest.mark.parametrize("row", BUNDLED, ids=lambda r: r["path"])
def test_exact_mode_equals_reference(row: dict[str, str]) -> None:
    got = pdq.hash_photo(BUNDLED_REFDATA / row["path"], mode=Mode.EXACT)
    assert got.hash == row["pdq_hex"]
    assert got.quality == int(row["quality"])


def test_exact_mode_equals_reference_for_every_photo(refdata_full: Path) -> None:
    rows = read_csv(refdata_full / "pdq-reference-hashes.csv")
    assert len(rows) >= 49
    wrong = [r["path"] for r in rows
             if pdq.hash_photo(refdata_full / r["path"], mode=Mode.EXACT)
             != pdq.PdqHash(r["pdq_hex"], int(r["quality"]))]
    assert wrong == []


def _published_rows() -> list[tuple[Path, dict[str, str]]]:
    base = full_refdata() or BUNDLED_REFDATA
    return [(base, r) for r in PUBLISHED if (base / r["path"]).is_file()]


@pytest.mark.parametrize("base,row", _published_rows(), ids=lambda x: x["path"] if isinstance(x, dict) else "")
def test_within_16_bits_of_published(base: Path, row: dict[str, str]) -> None:
    got = pdq.hash_photo(base / row["path"], mode=Mode.EXACT)
    assert pdq.distance(got.hash, row["pdq_hex"]) <= 16


def _reference_hex(rgb: np.ndarray) -> tuple[str, int]:
    bits, quality = pdqhash.compute(rgb)
    return f"{int(''.join(str(int(b)) for b in bits), 2):064x}", int(quality)


@pytest.mark.parametrize("shape", [(1, 1), (4, 9), (5, 5), (64, 64), (63, 65), (127, 129), (300, 97), (720, 1280)])
def test_hash_rgb_equals_pdqhash_on_any_shape(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    smooth = rng.integers(0, 256, (max(1, shape[0] // 8), max(1, shape[1] // 8), 3)).astype(np.float64)
    img = np.kron(smooth, np.ones((8, 8, 1)))[: shape[0], : shape[1]]
    img = np.pad(img, ((0, shape[0] - img.shape[0]), (0, shape[1] - img.shape[1]), (0, 0)), mode="edge")
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    got = pdq.hash_rgb(img)
    assert (got.hash, got.quality) == _reference_hex(img)


def test_tiny_images_hash_to_zero_with_quality_zero() -> None:
    got = pdq.hash_rgb(np.full((4, 100, 3), 200, np.uint8))
    assert got == pdq.PdqHash("0" * 64, 0)


def test_dihedral_hashes_equal_pdqhash_and_find_rotated_and_mirrored_copies() -> None:
    from vigil.media.photo import load_rgb

    rgb = load_rgb(BUNDLED_REFDATA / "pdq-images/bridge-mods/square-512x512.jpg")
    hashes, quality = pdq.dihedral_rgb(rgb)
    vectors, ref_quality = pdqhash.compute_dihedral(rgb)
    assert list(hashes.values()) == [f"{int(''.join(str(int(b)) for b in v), 2):064x}" for v in vectors]
    assert quality == ref_quality == 100 and hashes["original"] == pdq.hash_rgb(rgb).hash
    # PDQ names flips by the axis they keep: its "flipx" turns the image upside down.
    transformed = {
        "rotate90": np.rot90(rgb, 1),
        "rotate180": np.rot90(rgb, 2),
        "rotate270": np.rot90(rgb, 3),
        "flipx": rgb[::-1, :],
        "flipy": rgb[:, ::-1],
        "flipplus1": np.transpose(rgb, (1, 0, 2)),
        "flipminus1": np.rot90(np.transpose(rgb, (1, 0, 2)), 2),
    }
    for name, image in transformed.items():
        direct = pdq.hash_rgb(np.ascontiguousarray(image)).hash
        assert pdq.distance(direct, hashes[name]) <= 31, name
        others = [pdq.distance(direct, h) for n, h in hashes.items() if n != name]
        assert min(others) > 64, name


# Near-flat photos (quality under 50) hash to noise and are never matched: not compared.
@pytest.mark.parametrize("row", [r for r in BUNDLED if int(r["quality"]) >= 50], ids=lambda r: r["path"])
def test_fast_mode_stays_close_to_exact(row: dict[str, str]) -> None:
    path = BUNDLED_REFDATA / row["path"]
    fast = pdq.hash_photo(path, mode=Mode.FAST)
    assert pdq.distance(fast.hash, row["pdq_hex"]) <= 8
    assert fast.quality >= 50


@pytest.mark.parametrize("size", [(1600, 2560), (1001, 1503), (300, 5000), (129, 130)])
def test_fast_downscale_weights_are_pdqs_filter(size: tuple[int, int]) -> None:
    """At scale 1 the banded weights must reproduce PDQ's own Jarosz downscale."""
    from vigil.signals import _pdqcore, _pdqfast

    h, w = size
    rng = np.random.default_rng(h * w)
    luma = (rng.random((h, w)) * 255).astype(np.float32)
    exact = _pdqcore.downscale64(luma)
    approx = _pdqfast.buffer64_from_reduced(luma, w, h, 1)
    assert np.abs(exact - approx).max() < 1e-3


def test_fast_mode_reduction_is_bounded_by_the_filter_window() -> None:
    from vigil.signals._pdqfast import reduction_for

    assert reduction_for(2560, 1600) == 8
    assert reduction_for(4032, 3024) == 8
    assert reduction_for(1024, 768) == 4
    assert reduction_for(640, 480) == 2
    assert reduction_for(300, 256) == 1


def test_distance_rejects_non_hashes() -> None:
    with pytest.raises(ValueError):
        pdq.distance("00", "f" * 64)
    assert pdq.distance("0" * 64, "F" * 64) == 256


def test_fallback_through_the_public_pdqhash_api_gives_the_same_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """If pdqhash's exported C++ could not be bound, results must not change (only speed)."""
    from vigil.media.photo import load_rgb
    from vigil.signals import _pdqcheck

    rgb = load_rgb(BUNDLED_REFDATA / "pdq-images/bridge-mods/square-256x256.jpg")
    fast = pdq.hash_rgb(rgb), pdq.dihedral_rgb(rgb)
    monkeypatch.setattr(_pdqcheck, "AVAILABLE", False)
    assert (pdq.hash_rgb(rgb), pdq.dihedral_rgb(rgb)) == fast
