"""Many boxes of one photo hashed in one call (signals/_pdqbatch.py): each box's hash, quality and
mirrored hash exactly as the per-box path gives them."""

from __future__ import annotations

import numpy as np

from vigil.signals import _pdqbatch, _pdqcore


def _luma() -> np.ndarray:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:300, 0:410].astype(np.float32)
    scene = 120 + 60 * np.sin(x / 37) * np.cos(y / 23) + 40 * (x > 200) - 30 * ((y - 150) ** 2 + (x - 90) ** 2 < 900)
    return (scene + rng.normal(0, 2, scene.shape)).astype(np.float32)


def test_each_box_hashes_as_alone_mirrored_too() -> None:
    luma = _luma()
    rng = np.random.default_rng(1)
    boxes = [[0, 300, 0, 410], [0, 4, 0, 410], [5, 11, 7, 13]]  # whole, too thin to hash, the smallest hashable
    while len(boxes) < 40:
        top, bottom = sorted(rng.integers(0, 301, 2))
        left, right = sorted(rng.integers(0, 411, 2))
        if bottom - top >= 5 and right - left >= 5:
            boxes.append([top, bottom, left, right])
    hashes, mirrored, quality = _pdqbatch.hash_boxes(luma, np.array(boxes), mirrored=True)
    assert mirrored is not None
    for k, (top, bottom, left, right) in enumerate(boxes):
        region = luma[top:bottom, left:right]
        assert (hashes[k], int(quality[k])) == _pdqcore.hash_from_luma(region), boxes[k]
        assert mirrored[k] == _pdqcore.dihedral_from_luma(region)[0]["flipy"], boxes[k]
    assert hashes[1] == _pdqcore.ZERO_HASH and quality[1] == 0
    assert _pdqbatch.agrees()


def test_boxes_under_the_quality_floor_get_only_their_quality() -> None:
    luma = _luma()
    flat = np.full((200, 200), 90, np.float32)
    boxes = np.array([[0, 300, 0, 410], [0, 150, 0, 200]])
    hashes, _, quality = _pdqbatch.hash_boxes(np.hstack([luma[:200, :200], flat]), boxes[1:], min_quality=50)
    assert hashes == [_pdqcore.hash_from_luma(luma[:150, :200])[0]]
    hashes, _, quality = _pdqbatch.hash_boxes(np.hstack([flat, luma[:200, :200]]), boxes[1:], min_quality=50)
    assert quality[0] < 50 and hashes == [_pdqcore.ZERO_HASH]
