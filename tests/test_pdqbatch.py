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


def test_reduced_buffers_are_pdq_filter_on_block_means() -> None:
    # A luma constant within each 2x2 block (in the photo's own grid): block means lose nothing, so
    # the mapped filter gives PDQ's 64x64 buffer of each box to float rounding, whatever the box's
    # offset (odd or even sides) and size, partial blocks at the photo's far edges included.
    rng = np.random.default_rng(5)
    small = (rng.random((151, 203)) * 255).astype(np.float32)
    luma = np.ascontiguousarray(np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)[:301, :405])
    means_t = np.ascontiguousarray(_pdqbatch._block_means(luma, 2).T)
    band_y, band_x = np.empty((64, 37)), np.empty((64, 37))
    rows_t, out = np.empty((64, means_t.shape[1])), np.empty((64, 64), np.float32)
    for top, bottom, left, right in [(0, 301, 0, 405), (1, 300, 3, 404), (7, 290, 0, 391), (40, 301, 11, 405)]:
        assert _pdqbatch._buffer64_reduced(means_t, 2, top, bottom, left, right, band_y, band_x, rows_t, out)
        exact = _pdqcore.downscale64(luma[top:bottom, left:right])
        assert np.allclose(out, exact, atol=1e-3), (top, bottom, left, right)


def test_reduced_hashes_stay_near_exact_and_small_boxes_are_exact() -> None:
    luma = _luma()
    boxes = np.array([[0, 300, 0, 410], [10, 290, 30, 400], [3, 250, 7, 333], [0, 120, 0, 410], [50, 110, 20, 90]])
    exact, exact_flipped, exact_quality = _pdqbatch.hash_boxes(luma, boxes, mirrored=True)
    near, near_flipped, near_quality = _pdqbatch.hash_boxes_reduced(luma, boxes, 2, mirrored=True)
    assert exact_flipped is not None and near_flipped is not None
    for k in range(3):  # PDQ's filter spans 3-4 pixels: from the means
        assert (int(exact[k], 16) ^ int(near[k], 16)).bit_count() <= 16, k
        assert (int(exact_flipped[k], 16) ^ int(near_flipped[k], 16)).bit_count() <= 16, k
        assert abs(int(exact_quality[k]) - int(near_quality[k])) <= 10
    # Filters under a block (120 and 60 rows: 1 pixel): hashed from the luma itself, exactly
    assert near[3:] == exact[3:] and near_flipped[3:] == exact_flipped[3:]
    assert list(near_quality[3:]) == list(exact_quality[3:])
