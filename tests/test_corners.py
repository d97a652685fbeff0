"""The corner kernels (``vigil.signals._corners``) give numpy's strengths and maxima bit for bit, so the
anchors, windows and hashes of lists made before them stay the same."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.signals import _corners


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = []
    for h, w in ((12, 12), (13, 40), (97, 128), (192, 256), (256, 171)):
        noise = (rng.random((h, w)) * 255).astype(np.float32)
        smooth = np.cumsum(np.cumsum(noise, 0), 1) / (h * w) * 255
        out += [noise, smooth.astype(np.float32), np.zeros((h, w), np.float32)]
    return out


@pytest.mark.parametrize("image", _images(), ids=lambda a: f"{a.shape[0]}x{a.shape[1]}")
def test_corner_strength_is_numpys_bit_for_bit(image: np.ndarray) -> None:
    fast = _corners.corner_strength(image)
    slow = _corners.numpy_corner_strength(image)
    assert fast.dtype == np.float32 and fast.shape == image.shape
    assert np.array_equal(fast.view(np.uint32), slow.view(np.uint32))


@pytest.mark.parametrize("image", _images()[::3], ids=lambda a: f"{a.shape[0]}x{a.shape[1]}")
def test_local_maxima_are_numpys(image: np.ndarray) -> None:
    strength = _corners.corner_strength(image)
    h, w = strength.shape
    floor, margin = 0.001 * float(strength.max()), 3
    padded = np.pad(strength, 1, mode="edge")
    best = np.max([padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], axis=0)
    expected = (strength >= best) & (strength > floor)
    expected[:margin] = expected[-margin:] = False
    expected[:, :margin] = expected[:, -margin:] = False
    found = _corners.local_maxima(strength, floor, margin)
    assert found.any()
    assert np.array_equal(found, expected)


def test_a_flat_image_has_no_maxima_above_its_floor() -> None:
    flat = np.full((40, 40), 128.0, np.float32)
    assert not _corners.local_maxima(_corners.corner_strength(flat), 0.0, 3).any()
