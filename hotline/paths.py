"""Where Asterisk's files are for this engine: the production settings, or the dev PBX's layout.

`asterisk.*` settings name a production Asterisk's folders; when they are all empty the dev
PBX (hotline/pbx.py, a dev tool) supplies its chroot layout. The engine only ever reads an
`AsteriskPaths`, so a reload compiles into whichever Asterisk it is configured for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config import ConfigError, Settings


@dataclass(frozen=True)
class AsteriskPaths:
    config_dir: Path  # the engine writes compiled hotline-*.conf here
    sounds_dir: str  # Asterisk plays rendered prompts from here
    sounds_host_dir: Path
    recordings_dir: str  # Asterisk records voice mail here
    recordings_host_dir: Path
    origin: str  # "settings" or "dev-pbx"
    queue_log: Path = Path("/var/log/asterisk/queue_log")  # read to reconcile calls the engine missed

    def recording_host(self, pbx_path: str) -> Path:
        """A recording's path as the engine reads it."""
        base = self.recordings_dir.rstrip("/")
        if pbx_path == base or pbx_path.startswith(base + "/"):
            return self.recordings_host_dir / pbx_path[len(base):].lstrip("/")
        return Path(pbx_path)

    def as_dict(self) -> dict[str, str]:
        return {"config_dir": str(self.config_dir), "sounds_dir": self.sounds_dir,
                "sounds_host_dir": str(self.sounds_host_dir), "recordings_dir": self.recordings_dir,
                "recordings_host_dir": str(self.recordings_host_dir), "origin": self.origin,
                "queue_log": str(self.queue_log)}


def asterisk_paths(settings: Settings) -> AsteriskPaths:
    a = settings.asterisk
    given = {k: v for k, v in a.model_dump().items() if v}
    if not given:
        from hotline import pbx

        layout = pbx.layout_for(settings)
        return AsteriskPaths(
            config_dir=layout.host(layout.etc_dir) / "hotline",
            sounds_dir=layout.prompt_dir, sounds_host_dir=layout.host(layout.prompt_dir),
            recordings_dir=layout.recording_dir, recordings_host_dir=layout.host(layout.recording_dir),
            origin="dev-pbx", queue_log=layout.host(f"{layout.log_dir}/queue_log"),
        )
    missing = [k for k in ("config_dir", "sounds_dir", "recordings_dir") if not getattr(a, k)]
    if missing:
        raise ConfigError(
            f"asterisk.{missing[0]}: empty while asterisk.{next(iter(given))} is set; a production layout "
            "names config_dir, sounds_dir and recordings_dir (or leave all empty for the dev PBX)"
        )
    return AsteriskPaths(
        config_dir=Path(a.config_dir),
        sounds_dir=a.sounds_dir, sounds_host_dir=Path(a.sounds_host_dir or a.sounds_dir),
        recordings_dir=a.recordings_dir, recordings_host_dir=Path(a.recordings_host_dir or a.recordings_dir),
        origin="settings", queue_log=Path(a.queue_log or "/var/log/asterisk/queue_log"),
    )
