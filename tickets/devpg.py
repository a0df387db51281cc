"""A throwaway PostgreSQL server for tests and benchmarks (initdb into a temp dir, unix socket only).

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` account via runuser.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path


def pg_bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DevPostgres:
    bindir: Path
    base: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="hotline-pg-"))
    port: int = field(default_factory=_free_port)

    @property
    def sockdir(self) -> str:
        return os.path.join(self.base, "sock")

    @property
    def datadir(self) -> str:
        return os.path.join(self.base, "data")

    @property
    def as_user(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> DevPostgres:
        os.makedirs(self.sockdir, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.sockdir, "postgres")
        self._run(str(self.bindir / "initdb"), "-D", self.datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        opts = f"-p {self.port} -k {self.sockdir} -c listen_addresses='' -c max_connections=200"
        log = os.path.join(self.base, "log")
        self._run(str(self.bindir / "pg_ctl"), "-D", self.datadir, "-o", opts, "-l", log, "-w", "start")
        return self

    def restart(self, mode: str = "immediate") -> None:
        """Stop (`immediate` = no shutdown checkpoint, recovery from WAL on start, like a crash) and start."""
        pg_ctl = str(self.bindir / "pg_ctl")
        self._run(pg_ctl, "-D", self.datadir, "-m", mode, "-w", "stop")
        opts = f"-p {self.port} -k {self.sockdir} -c listen_addresses='' -c max_connections=200"
        self._run(pg_ctl, "-D", self.datadir, "-o", opts, "-l", os.path.join(self.base, "log"), "-w", "start")

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", self.datadir, "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgresql+asyncpg://postgres@/{dbname}?host={self.sockdir}&port={self.port}"

    def create_db(self) -> str:
        """A fresh database; returns its async URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._run(
            str(self.bindir / "createdb"), "-h", self.sockdir, "-p", str(self.port), "-U", "postgres", name
        )
        return self.url(name)
