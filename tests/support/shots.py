"""Screenshots of pages under test, and signing a browser into any running web app.

`screenshot()` saves into the test's temp folder and, when $SCREENSHOT_DIR is set, copies
there too (how the screenshots in docs/ are made from a real test run).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from accounts.store import AccountStore
from tests.support.browser import sign_in_page


async def screenshot(page: Any, tmp_dir: Path, name: str) -> Path:
    path = tmp_dir / name
    await page.screenshot(path=str(path))
    extra = os.environ.get("SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / name)
    return path


async def signed_in_page(browser: Any, base_url: str, sessionmaker: Any, role: str, *,
                         width: int = 1920, height: int = 1080) -> Any:
    """A new account of `role` in the app's database, signed in through the real /login form."""
    username, password = f"{role}-{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    await AccountStore(sessionmaker).add(username, password, role=role)
    page = await sign_in_page(browser, SimpleNamespace(base_url=base_url), username, password)
    await page.set_viewport_size({"width": width, "height": height})
    return page
