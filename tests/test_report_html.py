"""report.html in a real browser (headless Chromium from Debian's package, driven by Playwright):
pictures of hits start blurred and greyscale; one click reveals that one only; nothing plays."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from test_scan import _scan, build_evidence, listed  # noqa: F401 (listed is a fixture)
from vigil.store import Store


def _chromium() -> str:
    path = os.environ.get("VIGIL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the browser test: install Debian's chromium (./dev test does, as root)")
        pytest.skip("no chromium here: apt-get install chromium (./dev test does, as root)")
    return path


def test_thumbnails_start_blurred_and_reveal_one_at_a_time(listed: Store, tmp_path: Path) -> None:  # noqa: F811
    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    ev = build_evidence(tmp_path)
    out = tmp_path / "out"
    _scan(listed, [ev], out)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(offline=True)  # the page must need nothing from a network
            page = context.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri())
            thumbs = page.locator(".thumb img")
            assert thumbs.count() == 3  # bridge (5 copies), its mirrored copy, the clip (2 copies)

            def filters() -> list[str]:
                return [thumbs.nth(i).evaluate("e => getComputedStyle(e).filter") for i in range(thumbs.count())]

            assert all("blur" in f and "grayscale" in f for f in filters())
            page.locator(".thumb").nth(1).click()
            after = filters()
            assert after[1] == "none"
            assert all("blur" in f and "grayscale" in f for i, f in enumerate(after) if i != 1)
            page.locator(".thumb").nth(1).click()  # and hides again
            assert "blur" in filters()[1]
            assert page.locator("video, audio").count() == 0
            assert page.locator("text=video").count() >= 1
            assert all(url.startswith(("file:", "data:")) for url in requests)
        finally:
            browser.close()
