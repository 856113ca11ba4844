"""A real headless browser for the page tests: Debian's chromium driven by Playwright.

Playwright's own browser download fails on these machines, so the system chromium is launched through
``executable_path``. ``make test`` installs it when missing (scripts/ensure_chromium.sh); a machine without it
fails these tests with a message saying so, never skips them.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# Chromium opens connections to Google's services at start unless told not to; this network refuses them.
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("页面测试需要 chromium：sudo apt-get install chromium fonts-noto-cjk "
                    "(the page tests need Debian's chromium; `make test` installs it when run as root)")
    return path


@contextmanager
def browser_page(width: int = 1280, height: int = 900) -> Iterator["object"]:
    """A fresh page in a fresh headless chromium (closed on exit)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
            yield page
        finally:
            browser.close()
