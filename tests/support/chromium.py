"""Debian's Chromium driven by Playwright for Python (no browser download): one headless
browser per test session, a fresh page per use, screenshots for the docs."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_missing() -> str | None:
    if not shutil.which("chromium"):
        return "Debian's chromium is not installed (make test installs it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright (the test extra) is not installed"
    return None


@asynccontextmanager
async def chromium_page(*, width: int = 1920, height: int = 1080) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
            page = await context.new_page()
            yield page
        finally:
            await browser.close()


async def screenshot(page: object, tmp_dir: Path, name: str) -> Path:
    """Into the test's temp folder; also into $SCREENSHOT_DIR (how docs/ screenshots are made)."""
    path = tmp_dir / name
    await page.screenshot(path=str(path))  # type: ignore[attr-defined]
    extra = os.environ.get("SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / name)
    return path
