"""Browser tests: Debian's Chromium driven by Playwright for Python, the web app on a free port.

Fixtures (registered for every test by tests/conftest.py):
- `chromium`: one headless Chromium per session (skips with a reason when absent);
- `web_server`: the real web app (create_app) over a fresh SQLite database, on 127.0.0.1:<free port>;
  `await web_server.add_user("agent", seat="agent01")` makes an account and returns (username, password);
- `sign_in`: `page = await sign_in("agent")` (or `sign_in("department", department="住建局")`, or
  `sign_in("agent", server=my_server)`) makes a user of that role and signs a fresh 1366x768 zh-CN
  browser context in through the real /login form; returns the Playwright page, on the role's home;
- `screenshot`: `await screenshot(page, "name")` saves `<tmp>/screens/name.png` and returns its path.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from accounts.store import AccountStore

CHROMIUM = os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # The softphone asks for the microphone: grant it and feed a synthetic tone.
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]  # fmt: skip
VIEWPORT = {"width": 1366, "height": 768}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def serve(app: web.Application, host: str = "127.0.0.1") -> tuple[web.AppRunner, str]:
    """Start `app` on a free port; returns the runner (cleanup() stops it) and the base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, host, port).start()
    return runner, f"http://{host}:{port}"


@dataclass
class WebServer:
    base_url: str
    app: web.Application
    accounts: AccountStore
    tickets: Any
    clock: Any
    passwords: dict[str, str] = field(default_factory=dict)

    async def add_user(
        self, role: str, *, department: str | None = None, seat: str | None = None,
        username: str | None = None, display_name: str = "",
    ) -> tuple[str, str]:  # fmt: skip
        username = username or f"{role}-{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        await self.accounts.add(username, password, role=role, department=department, seat=seat,
                                display_name=display_name)  # fmt: skip
        self.passwords[username] = password
        return username, password


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (make test installs Debian's chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        await browser.close()


async def start_web_server(db_path: Path, **create_app_kwargs: Any) -> tuple[WebServer, Callable[[], Awaitable]]:
    """The real web app over a fresh database at `db_path`; returns it and its stop coroutine."""
    from hotline.schema import upgrade
    from infra.db import make_engine, make_sessionmaker
    from tests.tickets.conftest import FakeClock, make_service
    from web.app import create_app

    url = f"sqlite+aiosqlite:///{db_path}"
    await upgrade(url)
    engine = make_engine(url)
    clock = FakeClock(datetime(2026, 11, 23, 9, 0))
    tickets = make_service(engine, clock)
    accounts = AccountStore(make_sessionmaker(engine))
    app = create_app(tickets=tickets, accounts=accounts, **create_app_kwargs)
    runner, base = await serve(app)

    async def stop() -> None:
        await runner.cleanup()
        await engine.dispose()

    return WebServer(base, app, accounts, tickets, clock), stop


@pytest.fixture
async def web_server(tmp_path: Path) -> AsyncIterator[WebServer]:
    server, stop = await start_web_server(tmp_path / "web.db")
    yield server
    await stop()


async def sign_in_page(browser: Any, server: WebServer, username: str, password: str) -> Any:
    """A fresh context signed in as `username` through the /login form; returns its page."""
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = await context.new_page()
    await page.goto(server.base_url + "/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.click("#login-submit")
    if "/login" in page.url:
        raise AssertionError(f"sign-in of {username} failed: {await page.inner_text('body')}")
    return page


@pytest.fixture
async def sign_in(chromium: Any, web_server: WebServer) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    contexts: list[Any] = []

    async def _sign_in(
        role: str, *, department: str | None = None, seat: str | None = None,
        server: WebServer | None = None, display_name: str = "",
    ) -> Any:  # fmt: skip
        srv = server or web_server
        username, password = await srv.add_user(role, department=department, seat=seat,
                                                display_name=display_name)  # fmt: skip
        page = await sign_in_page(chromium, srv, username, password)
        contexts.append(page.context)
        return page

    yield _sign_in
    for ctx in contexts:
        await ctx.close()


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[..., Awaitable[Path]]:
    shots = tmp_path / "screens"
    shots.mkdir(exist_ok=True)

    async def _shot(page: Any, name: str, *, full_page: bool = False) -> Path:
        path = shots / f"{name}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        return path

    return _shot
