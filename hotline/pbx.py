"""The dev/test PBX: install Asterisk, generate its config from asterisk/templates, start and stop it.

A system `asterisk` is used where one is installed. Otherwise Debian unstable's package is
installed into a debootstrap chroot cached under `settings.pbx.dir`; the chroot shares the
host's network, so SIP and AMI on 127.0.0.1 are reachable from the engine and the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from config.settings import PROJECT_ROOT
from hotline_merge.compiler import compile_path
from hotline_merge.exceptions import DialplanInvalid
from hotline_merge.loader import load_dialplan
from hotline_merge.prompts import pbx_prompts
from infra.errors import DomainError
from ivr.prompts import PromptError, PromptLibrary

TEMPLATES = PROJECT_ROOT / "asterisk" / "templates"
PACKAGES = ("asterisk", "asterisk-core-sounds-en-gsm", "asterisk-moh-opsound-gsm")
INSTALL_MARK = ".hotline-pbx-installed"
GENERATED_FILES = (
    "asterisk.conf",
    "modules.conf",
    "logger.conf",
    "manager.conf",
    "rtp.conf",
    "musiconhold.conf",
    "pjsip.conf",
    "queues.conf",
    "extensions.conf",
    "indications.conf",
    "features.conf",
    "cdr.conf",
    "cel.conf",
    "acl.conf",
    "udptl.conf",
    "pjproject.conf",
    "http.conf",
)
# Asterisk's HTTP server: wss://host:<sip port + 3029>/ws for the softphones (8089 beside 5060),
# plain HTTP on loopback one below; offset from the SIP port so a second PBX (bench) never collides.
WSS_OFFSET = 3029

Progress = Callable[[str], None]


class PbxError(DomainError):
    """The dev PBX cannot be installed or run; the message says why and what to do."""

    error_id = "pbx-failed"


def _stderr_progress(msg: str) -> None:
    print(f"[pbx] {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Layout:
    """Where Asterisk's files are, both as Asterisk sees them and as this process sees them."""

    root: Path | None  # the chroot, or None for a system asterisk
    etc_dir: str
    mod_dir: str
    varlib_dir: str
    data_dir: str
    spool_dir: str
    run_dir: str
    log_dir: str

    def host(self, pbx_path: str) -> Path:
        return Path(pbx_path) if self.root is None else self.root / pbx_path.lstrip("/")

    def command(self, *args: str) -> list[str]:
        base = ["/usr/sbin/asterisk" if self.root else shutil.which("asterisk") or "asterisk"]
        cmd = [*base, "-C", f"{self.etc_dir}/asterisk.conf", *args]
        return ["chroot", str(self.root), *cmd] if self.root else cmd

    @property
    def prompt_dir(self) -> str:
        """Where rendered prompts live (pbx view); played by absolute path without extension."""
        return f"{self.data_dir}/sounds/hotline"

    @property
    def recording_dir(self) -> str:
        return f"{self.spool_dir}/hotline-recordings"

    @property
    def log_file(self) -> Path:
        return self.host(f"{self.log_dir}/messages.log")


def _first_existing(root: Path | None, candidates: tuple[str, ...]) -> str:
    for cand in candidates:
        if (Path(cand) if root is None else root / cand.lstrip("/")).exists():
            return cand
    return candidates[0]


_MOD_DIRS = ("/usr/lib/x86_64-linux-gnu/asterisk/modules", "/usr/lib/aarch64-linux-gnu/asterisk/modules",
             "/usr/lib/asterisk/modules", "/usr/lib64/asterisk/modules")
_DATA_DIRS = ("/usr/share/asterisk", "/var/lib/asterisk")


def system_asterisk() -> str | None:
    if os.environ.get("HOTLINE_PBX_FORCE_CHROOT"):
        return None
    return shutil.which("asterisk")


def layout_for(settings: Settings) -> Layout:
    if system_asterisk():
        base = settings.var_dir / "pbx"
        return Layout(
            root=None,
            etc_dir=str(base / "etc"),
            mod_dir=_first_existing(None, _MOD_DIRS),
            varlib_dir=str(base / "lib"),
            data_dir=_first_existing(None, _DATA_DIRS),
            spool_dir=str(base / "spool"),
            run_dir=str(base / "run"),
            log_dir=str(base / "log"),
        )
    root = settings.pbx.dir / "root"
    return Layout(
        root=root,
        etc_dir="/etc/hotline-asterisk",
        mod_dir=_first_existing(root, _MOD_DIRS),
        varlib_dir="/var/lib/asterisk",
        data_dir="/usr/share/asterisk",
        spool_dir="/var/spool/asterisk",
        run_dir="/var/run/asterisk",
        log_dir="/var/log/asterisk",
    )


# --------------------------------------------------------------------------- install


def _run(cmd: list[str], *, what: str, timeout: float = 900) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise PbxError(f"{what}: {cmd[0]} not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise PbxError(f"{what}: timed out after {timeout:.0f} s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise PbxError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def _check_mirror(mirror: str, suite: str) -> None:
    url = f"{mirror.rstrip('/')}/dists/{suite}/InRelease"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=20):
            pass
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PbxError(
            f"Debian mirror unreachable: {url}: {exc}. Set pbx.mirror (HOTLINE_PBX_MIRROR) to a reachable "
            "mirror, or install asterisk on the system."
        ) from exc


def mount_proc(root: Path) -> None:
    proc_dir = root / "proc"
    if not os.path.ismount(proc_dir):
        _run(["mount", "-t", "proc", "proc", str(proc_dir)], what="mount /proc in the PBX chroot")


def _processes_rooted_in(root: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "root") == str(root):
                    found.append(int(entry.name))
    return found


def _umount_proc(root: Path) -> None:
    # Another Asterisk may run in the same chroot on its own layout (bench/bench_ivr.py).
    proc_dir = root / "proc"
    if os.path.ismount(proc_dir) and not _processes_rooted_in(root):
        subprocess.run(["umount", "-l", str(proc_dir)], capture_output=True)


def is_installed(settings: Settings) -> bool:
    if system_asterisk():
        return True
    root = settings.pbx.dir / "root"
    return (root / INSTALL_MARK).exists() and (root / "usr/sbin/asterisk").exists()


def install(settings: Settings, progress: Progress = _stderr_progress) -> str:
    """Make an Asterisk available; a second call is a no-op. Returns what was done."""
    if system_asterisk():
        progress(f"using the system asterisk at {system_asterisk()}")
        ensure_secrets(settings)
        return "system"
    root = settings.pbx.dir / "root"
    if is_installed(settings):
        progress(f"already installed in {root}")
        ensure_hosts(root)
        ensure_secrets(settings)
        return "cached"
    if os.geteuid() != 0:
        raise PbxError(
            "installing the dev PBX needs root (debootstrap and chroot); run as root or install asterisk "
            "on the system"
        )
    if not shutil.which("debootstrap"):
        raise PbxError("debootstrap is missing: apt-get install debootstrap (or install asterisk on the system)")
    started = time.monotonic()
    _check_mirror(settings.pbx.mirror, settings.pbx.suite)
    if not (root / "usr/bin/apt-get").exists():
        if root.exists():
            shutil.rmtree(root)  # a half-made tree from an interrupted run
        root.parent.mkdir(parents=True, exist_ok=True)
        progress(f"debootstrap {settings.pbx.suite} into {root} (about a minute)")
        _run(
            ["debootstrap", "--variant=minbase", settings.pbx.suite, str(root), settings.pbx.mirror],
            what="debootstrap",
        )
    # The mirror may serve a snapshot whose Release file has expired; apt would refuse it.
    (root / "etc/apt/apt.conf.d/99hotline").write_text(
        'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n'
    )
    (root / "usr/sbin/policy-rc.d").write_text("#!/bin/sh\nexit 101\n")
    (root / "usr/sbin/policy-rc.d").chmod(0o755)
    mount_proc(root)
    try:
        progress(f"apt-get install {' '.join(PACKAGES)} in the chroot")
        env = "DEBIAN_FRONTEND=noninteractive"
        _run(["chroot", str(root), "/bin/sh", "-c", f"{env} apt-get update -qq"], what="apt-get update")
        _run(
            ["chroot", str(root), "/bin/sh", "-c", f"{env} apt-get install -y -qq {' '.join(PACKAGES)}"],
            what="apt-get install asterisk",
        )
        _run(["chroot", str(root), "apt-get", "clean"], what="apt-get clean")
    finally:
        _umount_proc(root)
    ensure_hosts(root)
    (root / INSTALL_MARK).write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))
    ensure_secrets(settings)
    progress(f"installed in {time.monotonic() - started:.0f} s")
    return "installed"


def ensure_hosts(root: Path, hostname: str | None = None) -> bool:
    """The chroot's /etc/hosts names this host, so Asterisk resolves its own name locally.

    Asterisk looks its host name up on every call (acl.c, finding the address it speaks from);
    a name the resolver does not know costs two failing DNS lookups per call, and a stalled
    resolver blocks PJSIP's tasks: calls fail above ~10 calls/s. Idempotent; True if changed.
    """
    name = hostname or socket.gethostname()
    path = root / "etc/hosts"
    text = path.read_text() if path.exists() else ""
    known = {tok for line in text.splitlines() for tok in line.split("#", 1)[0].split()[1:]}
    wanted = [("127.0.0.1", "localhost"), ("127.0.1.1", name)]
    missing = [f"{addr}\t{host}\n" for addr, host in wanted if host not in known]
    if not missing:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    if text and not text.endswith("\n"):
        text += "\n"
    tmp = path.with_name(".hosts.tmp")
    tmp.write_text(text + "".join(missing))
    tmp.replace(path)
    return True


# --------------------------------------------------------------------------- config


def ensure_secrets(settings: Settings) -> dict:
    """Generated once and kept: the AMI secret and one SIP password per agent endpoint."""
    path = settings.pbx_secrets_file
    data: dict = {}
    if path.exists():
        data = json.loads(path.read_text())
    changed = False
    if not data.get("ami_secret"):
        data["ami_secret"] = secrets.token_urlsafe(18)
        changed = True
    agents = data.setdefault("agents", {})
    for n in range(1, settings.pbx.agents + 1):
        name = agent_name(n)
        if name not in agents:
            agents[name] = secrets.token_urlsafe(9)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.chmod(0o600)
        tmp.replace(path)
    return data


def agent_name(n: int) -> str:
    return f"agent{n:02d}"


def wss_port(settings: Settings) -> int:
    return settings.pbx.sip_port + WSS_OFFSET


def web_endpoint(agent: str) -> str:
    """The PJSIP endpoint of an agent seat's softphone in the browser."""
    return f"{agent}-web"


def ensure_dev_certificate(layout: Layout) -> tuple[str, str]:
    """A self-signed certificate for the dev PBX's WSS (made once, kept); paths as the PBX sees them.

    Production sets its own certificate in http.conf; browsers must be told to trust this one
    (the tests start Chromium with --ignore-certificate-errors).
    """
    keys = f"{layout.etc_dir}/keys"
    host_keys = layout.host(keys)
    cert, key = host_keys / "hotline-dev.crt", host_keys / "hotline-dev.key"
    if not (cert.exists() and key.exists()):
        host_keys.mkdir(parents=True, exist_ok=True)
        _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825", "-subj",
              "/CN=hotline12345-dev", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
              "-keyout", str(key), "-out", str(cert)], what="openssl (dev WSS certificate)")  # fmt: skip
        key.chmod(0o600)
    return f"{keys}/hotline-dev.crt", f"{keys}/hotline-dev.key"


def _agent_endpoints(settings: Settings, passwords: dict[str, str]) -> str:
    blocks = []
    for n in range(1, settings.pbx.agents + 1):
        name = agent_name(n)
        blocks.append(
            f"[{name}]\ntype = endpoint\ncontext = hotline-agents\ndisallow = all\nallow = ulaw,alaw\n"
            f"auth = {name}\naors = {name}\ndtmf_mode = rfc4733\ndirect_media = no\nrtp_symmetric = yes\n"
            f"force_rport = yes\nrewrite_contact = yes\ncallerid = \"{name}\" <{name}>\n\n"
            f"[{name}]\ntype = auth\nauth_type = userpass\nusername = {name}\npassword = {passwords[name]}\n\n"
            f"[{name}]\ntype = aor\nmax_contacts = 1\nremove_existing = yes\nqualify_frequency = 0\n"
        )
        # The same seat's WebRTC softphone in the agent desktop (same password): DTLS-SRTP, ICE,
        # AVPF and rtcp-mux, which `webrtc = yes` turns on together.
        web = web_endpoint(name)
        blocks.append(
            f"[{web}]\ntype = endpoint\ncontext = hotline-agents\ndisallow = all\nallow = ulaw,alaw\n"
            f"auth = {web}\naors = {web}\nwebrtc = yes\ndtls_auto_generate_cert = yes\n"
            f"callerid = \"{name}\" <{name}>\n\n"
            f"[{web}]\ntype = auth\nauth_type = userpass\nusername = {web}\npassword = {passwords[name]}\n\n"
            f"[{web}]\ntype = aor\nmax_contacts = 1\nremove_existing = yes\nqualify_frequency = 0\n"
        )
    return "\n".join(blocks)


_PLACEHOLDER = re.compile(r"@([a-z_]+)@")


def render(template: str, values: dict[str, str], *, name: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise PbxError(f"asterisk/templates/{name}: unknown placeholder @{m.group(1)}@")
        return values[m.group(1)]

    return _PLACEHOLDER.sub(sub, template)


def hotline_dir(settings: Settings, layout: Layout) -> tuple[Path, str]:
    """The compiled config's folder as this process writes it and as Asterisk includes it:
    `asterisk.config_dir` when set (the production way), else the dev layout's etc/hotline."""
    configured = settings.asterisk.config_dir
    if not configured:
        return layout.host(layout.etc_dir) / "hotline", f"{layout.etc_dir}/hotline"
    host = Path(configured)
    if layout.root is None:
        return host, configured
    try:
        return host, "/" + str(host.resolve().relative_to(layout.root.resolve()))
    except ValueError:
        raise PbxError(f"asterisk.config_dir: {configured} is outside the dev PBX's chroot {layout.root}; "
                       "the chroot's Asterisk cannot include it") from None


def template_values(settings: Settings, layout: Layout, data: dict) -> dict[str, str]:
    return {
        "hotline_dir": hotline_dir(settings, layout)[1],
        "etc_dir": layout.etc_dir,
        "mod_dir": layout.mod_dir,
        "varlib_dir": layout.varlib_dir,
        "data_dir": layout.data_dir,
        "spool_dir": layout.spool_dir,
        "run_dir": layout.run_dir,
        "log_dir": layout.log_dir,
        "ami_port": str(settings.ami.port),
        "ami_user": settings.ami.username,
        "ami_secret": settings.ami.secret or data["ami_secret"],
        "sip_bind": settings.pbx.sip_bind,
        "sip_port": str(settings.pbx.sip_port),
        "trunk_ip": settings.pbx.trunk_ip,
        "emergency_contact": settings.pbx.emergency_contact,
        "outbound_contact": settings.pbx.outbound_contact,
        "agi_host": settings.engine.agi_host,
        "agi_port": str(settings.engine.agi_port),
        "agent_endpoints": _agent_endpoints(settings, data["agents"]),
        "http_port": str(settings.pbx.sip_port + WSS_OFFSET - 1),
        "wss_host": "0.0.0.0",
        "wss_port": str(wss_port(settings)),
    }


def write_config(settings: Settings, layout: Layout | None = None,
                 progress: Progress = _stderr_progress) -> Path:
    """Render every template and compile the dialplan into the PBX's config directory."""
    layout = layout or layout_for(settings)
    data = ensure_secrets(settings)
    values = template_values(settings, layout, data)
    values["tls_cert"], values["tls_key"] = ensure_dev_certificate(layout)
    etc = layout.host(layout.etc_dir)
    include_dir = hotline_dir(settings, layout)[0]
    include_dir.mkdir(parents=True, exist_ok=True)
    for name in GENERATED_FILES:
        text = render((TEMPLATES / name).read_text(encoding="utf-8"), values, name=name)
        _write_if_changed(etc / name, text)
    features = TEMPLATES / "agent-features.conf"
    if features.exists():
        _write_if_changed(include_dir / "agent-features.conf", features.read_text(encoding="utf-8"))
    compile_dialplan(settings, include_dir)
    for pbx_dir in (layout.varlib_dir, layout.spool_dir, layout.run_dir, layout.log_dir, layout.prompt_dir,
                    layout.recording_dir):
        layout.host(pbx_dir).mkdir(parents=True, exist_ok=True)
    write_silence(layout)
    render_pbx_prompts(settings, layout, progress)
    return etc


MANDARIN = "zh"  # CHANNEL(language) of callers; see asterisk/templates/extensions.conf


def _tone(seconds: float, hz: float) -> bytes:
    samples = (round(8000 * 0.3 * math.sin(2 * math.pi * hz * n / 8000)) if hz else 0
               for n in range(int(8000 * seconds)))
    return b"".join(struct.pack("<h", v) for v in samples)


# Language-neutral sounds Asterisk itself plays to callers: GET DATA without a prompt plays
# silence/1, RECORD FILE's BEEP plays beep. With the callers' language zh they are found here,
# never in Asterisk's English core sounds.
_NEUTRAL_SOUNDS = {"silence/1": (1.0, 0.0), "beep": (0.25, 1000.0)}


def write_silence(layout: Layout) -> list[Path]:
    """sounds/zh/silence/1 and sounds/zh/beep (written once)."""
    out = []
    for name, (seconds, hz) in _NEUTRAL_SOUNDS.items():
        target = layout.host(f"{layout.data_dir}/sounds/{MANDARIN}/{name}.wav")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(_tone(seconds, hz))
            tmp.replace(target)
        out.append(target)
    return out


def render_pbx_prompts(settings: Settings, layout: Layout, progress: Progress = _stderr_progress) -> bool:
    """Render the prompts Asterisk plays by itself (hold, queue announcement, call-back), with
    the engine's prompt library, before Asterisk starts: they must play while the engine is down."""
    try:
        texts = pbx_prompts(load_dialplan(settings.dialplan.path))
    except DialplanInvalid:
        return False  # compile_dialplan has already said why

    async def render() -> None:
        recordings = settings.dialplan.path / "recordings"
        lib = PromptLibrary(host_dir=layout.host(layout.prompt_dir), pbx_dir=layout.prompt_dir,
                            recordings_dir=recordings if recordings.is_dir() else None)
        await lib.render_all(texts)

    try:
        # Own thread, own event loop: callers may already run one (the bench, async tests).
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, render()).result()
    except PromptError as exc:
        progress(f"PBX prompts not rendered, the PBX plays no hold prompt: {exc}")
        return False
    return True


def compile_dialplan(settings: Settings, out_dir: Path) -> None:
    compile_path(settings.dialplan.path, out_dir)


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------- run


def _port_owner(port: int, proto: str) -> str:
    flag = "-lunpH" if proto == "udp" else "-ltnpH"
    try:
        out = subprocess.run(["ss", flag, f"sport = :{port}"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return ""
    m = re.search(r'users:\(\("([^"]+)",pid=(\d+)', out)
    return f" by {m.group(1)} (pid {m.group(2)})" if m else ""


def check_port_free(host: str, port: int, proto: str) -> None:
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        if proto == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise PbxError(
                f"port {port}/{proto} on {host} is taken{_port_owner(port, proto)}: stop that service or "
                f"choose another port (pbx.sip_port / ami.port)"
            ) from exc


def _pid_file(settings: Settings) -> Path:
    return settings.var_dir / "pbx.pid"


def running_pid(settings: Settings) -> int | None:
    try:
        pid = int(_pid_file(settings).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def rx(settings: Settings, command: str, *, layout: Layout | None = None, timeout: float = 20) -> str:
    layout = layout or layout_for(settings)
    proc = subprocess.run(layout.command("-rx", command), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise PbxError(f"asterisk -rx {command!r} failed: {(proc.stderr or proc.stdout).strip()}")
    return proc.stdout


def start(settings: Settings, progress: Progress = _stderr_progress, *, boot_timeout: float = 60,
          layout: Layout | None = None, extra_config: Mapping[str, str] | None = None) -> int:
    """Start Asterisk with freshly generated config; returns its pid. Already running: no-op.

    `layout` runs it on other config/run/spool/log dirs than the settings' (the IVR benchmark's
    private PBX); `extra_config` writes more files (name -> text) into its config dir. The pid
    file is in settings.var_dir, so settings with their own var_dir give an independent PBX.
    """
    if not is_installed(settings):
        raise PbxError("the dev PBX is not installed: run `hotline pbx install` first")
    pid = running_pid(settings)
    if pid:
        progress(f"already running (pid {pid})")
        return pid
    layout = layout or layout_for(settings)
    if layout.root is not None:
        ensure_hosts(layout.root)
    check_port_free(settings.pbx.sip_bind, settings.pbx.sip_port, "udp")
    check_port_free("127.0.0.1", settings.ami.port, "tcp")
    etc = write_config(settings, layout, progress)
    for name, text in (extra_config or {}).items():
        (etc / name).write_text(text, encoding="utf-8")
    if layout.root is not None:
        if os.geteuid() != 0:
            raise PbxError("running the chroot PBX needs root")
        mount_proc(layout.root)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    console_log = open(settings.var_dir / "pbx-console.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        layout.command("-f", "-n", "-q"),
        stdin=subprocess.DEVNULL,
        stdout=console_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    console_log.close()
    _pid_file(settings).write_text(str(proc.pid))
    deadline = time.monotonic() + boot_timeout
    while True:
        if proc.poll() is not None:
            _pid_file(settings).unlink(missing_ok=True)
            raise PbxError(
                f"asterisk exited at start (code {proc.returncode}); see {settings.var_dir / 'pbx-console.log'} "
                f"and {layout.log_file}"
            )
        try:
            rx(settings, "core waitfullybooted", layout=layout, timeout=10)
            break
        except (PbxError, subprocess.TimeoutExpired):
            if time.monotonic() > deadline:
                stop(settings, progress=lambda _m: None, layout=layout)
                raise PbxError(f"asterisk did not finish booting in {boot_timeout:.0f} s") from None
            time.sleep(0.2)
    progress(f"asterisk running (pid {proc.pid}), SIP {settings.pbx.sip_bind}:{settings.pbx.sip_port}, "
             f"AMI 127.0.0.1:{settings.ami.port}")
    return proc.pid


def reload(settings: Settings, what: str = "dialplan reload") -> str:
    return rx(settings, what)


def stop(settings: Settings, progress: Progress = _stderr_progress, *, timeout: float = 15,
         layout: Layout | None = None) -> bool:
    pid = running_pid(settings)
    layout = layout or layout_for(settings)
    if pid is None:
        _pid_file(settings).unlink(missing_ok=True)
        progress("not running")
        if layout.root is not None:
            _umount_proc(layout.root)
        return False
    try:
        rx(settings, "core stop now", layout=layout, timeout=10)
    except (PbxError, subprocess.TimeoutExpired):
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    _pid_file(settings).unlink(missing_ok=True)
    if layout.root is not None:
        _umount_proc(layout.root)
    progress(f"stopped (pid {pid})")
    return True


def _alive(pid: int) -> bool:
    try:
        waited, _status = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def status(settings: Settings) -> dict:
    layout = layout_for(settings)
    pid = running_pid(settings)
    info: dict = {
        "installed": is_installed(settings),
        "mode": "system" if layout.root is None else "chroot",
        "root": str(layout.root) if layout.root else None,
        "running": bool(pid),
        "pid": pid,
        "sip": f"{settings.pbx.sip_bind}:{settings.pbx.sip_port}",
        "ami": f"127.0.0.1:{settings.ami.port}",
        "config_dir": str(layout.host(layout.etc_dir)),
    }
    if pid:
        try:
            info["version"] = rx(settings, "core show version", layout=layout).strip()
        except (PbxError, subprocess.TimeoutExpired) as exc:
            info["error"] = str(exc)
    return info
