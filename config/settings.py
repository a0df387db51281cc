"""Typed settings: defaults -> one TOML file -> environment -> CLI flags, merged here only.

Every key is declared on a model; an unknown key or a malformed value stops start-up
with the dotted key name and the form that was expected.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infra.errors import DomainError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config" / "hotline.toml"
ENV_PREFIX = "HOTLINE_"


class ConfigError(DomainError):
    """A setting is missing, unknown or malformed; the message names the key."""

    error_id = "config-invalid"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineSettings(_Section):
    agi_host: str = "127.0.0.1"
    agi_port: int = Field(4573, ge=1, le=65535)
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = Field(4574, ge=1, le=65535)
    web_host: str = "127.0.0.1"
    web_port: int = Field(8080, ge=1, le=65535)
    max_calls: int = Field(1000, ge=1, description="concurrent AGI sessions before new ones are shed")
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field("text", pattern=r"^(text|json)$", description="text: key=value lines; json: one object a line")


class AmiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    username: str = "hotline"
    secret: str = Field("", description="empty: read the dev PBX's generated secret")
    reconnect_min: float = Field(0.5, gt=0)
    reconnect_max: float = Field(30.0, gt=0)


class DatabaseSettings(_Section):
    url: str = Field("", description="SQLAlchemy async URL; empty: sqlite+aiosqlite under var/")


class PbxSettings(_Section):
    dir: Path = Field(Path("/var/cache/hotline-pbx"), description="cache for the dev PBX chroot")
    mirror: str = "http://deb.debian.org/debian"
    suite: str = "sid"
    sip_bind: str = "0.0.0.0"
    sip_port: int = Field(5060, ge=1, le=65535)
    agents: int = Field(8, ge=1, le=500)
    trunk_ip: str = "127.0.0.1"
    emergency_contact: str = Field("sip:127.0.0.1:5070", description="SIP URI of the emergency gateway")
    outbound_contact: str = Field("sip:127.0.0.1:5070", description="SIP URI of the outbound gateway")
    emergency_dial: str = Field(
        "PJSIP/{number}@emergency", description="Dial() string for 110/119/120/122; {number} is replaced"
    )


class AsteriskSettings(_Section):
    """Where the production Asterisk's files are. Empty: the dev PBX's layout (`hotline pbx`).

    `*_dir` are paths as Asterisk sees them, `*_host_dir` the same folders as the engine sees
    them (a shared mount may differ; empty: the same path)."""

    config_dir: str = Field("", description="folder the compiled hotline-*.conf go to (engine's view), "
                            "#include'd by Asterisk's extensions.conf and queues.conf, e.g. /etc/asterisk/hotline")
    sounds_dir: str = Field("", description="rendered prompts, Asterisk's view, e.g. /usr/share/asterisk/sounds/hotline")
    sounds_host_dir: str = ""
    recordings_dir: str = Field("", description="voice mail recordings, Asterisk's view, e.g. "
                                "/var/spool/asterisk/hotline-recordings")
    recordings_host_dir: str = ""
    queue_log: str = Field("", description="Asterisk's queue_log as the engine reads it (reconciliation "
                           "after an outage); empty: /var/log/asterisk/queue_log in a production layout")

    @field_validator("*")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if value and not value.startswith("/"):
            raise ValueError("must be an absolute path (or empty for the dev PBX's layout)")
        return value.rstrip("/") if value != "/" else value


class DialplanSettings(_Section):
    path: Path = Field(PROJECT_ROOT / "dialplans", description="YAML file or folder the hotline runs")


class AsrSettings(_Section):
    vosk_model: str = Field("", description="path to a Vosk model folder; empty: speech off, DTMF only")
    threads: int = Field(0, ge=0, description="decoder threads; 0: one per core")
    mode: str = Field("grammar", pattern=r"^(grammar|free)$",
                      description="grammar: the dialplan's phrases + [unk]; free: open transcription")
    confidence: float = Field(0.6, ge=0, le=1)


class TicketSettings(_Section):
    policy: str = Field("wuwei", pattern=r"^[a-z][a-z0-9_]*$")
    calendar_file: Path | None = None


class Settings(_Section):
    var_dir: Path = PROJECT_ROOT / "var"
    engine: EngineSettings = EngineSettings()
    ami: AmiSettings = AmiSettings()
    database: DatabaseSettings = DatabaseSettings()
    pbx: PbxSettings = PbxSettings()
    asterisk: AsteriskSettings = AsteriskSettings()
    dialplan: DialplanSettings = DialplanSettings()
    asr: AsrSettings = AsrSettings()
    tickets: TicketSettings = TicketSettings()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.var_dir / 'hotline.db'}"

    @property
    def pbx_secrets_file(self) -> Path:
        return self.var_dir / "pbx-secrets.json"

    def ami_secret(self) -> str:
        if self.ami.secret:
            return self.ami.secret
        try:
            return json.loads(self.pbx_secrets_file.read_text())["ami_secret"]
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(
                f"ami.secret: empty and no generated secret in {self.pbx_secrets_file}"
                " (run `hotline pbx install` or set HOTLINE_AMI_SECRET)"
            ) from exc


# Aliases the issues and the README promise, outside the HOTLINE_<SECTION>_<KEY> scheme.
_ENV_ALIASES = {"HOTLINE_VOSK_MODEL": ("asr", "vosk_model"), "HOTLINE_DATABASE_URL": ("database", "url")}


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    sections = {name for name, f in Settings.model_fields.items() if isinstance(f.default, BaseModel)}
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == "HOTLINE_CONFIG":
            continue
        if key in _ENV_ALIASES:
            section, field = _ENV_ALIASES[key]
            out.setdefault(section, {})[field] = value
            continue
        rest = key[len(ENV_PREFIX) :].lower()
        section, _, field = rest.partition("_")
        if section in sections and field:
            out.setdefault(section, {})[field] = value
        elif rest == "var_dir":
            out["var_dir"] = value
        else:
            raise ConfigError(f"{key}: unknown setting (expected HOTLINE_<SECTION>_<KEY>, sections: {sorted(sections)})")
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown setting"
    return f"{key}: {error['msg']} (got {error.get('input')!r})"


def load_settings(
    path: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    path = path or Path(environ.get("HOTLINE_CONFIG", DEFAULT_CONFIG_FILE))
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    elif path != DEFAULT_CONFIG_FILE:
        raise ConfigError(f"{path}: config file not found")
    data = _merge(data, _env_overrides(environ))
    data = _merge(data, overrides or {})
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        lines = "; ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{path}: {lines}") from exc
    return _anchor_paths(settings)


def _anchor_paths(settings: Settings) -> Settings:
    """Relative paths in the file mean relative to the project, not to the caller's cwd."""

    def anchor(p: Path) -> Path:
        return p if p.is_absolute() else PROJECT_ROOT / p

    return settings.model_copy(
        update={
            "var_dir": anchor(settings.var_dir),
            "pbx": settings.pbx.model_copy(update={"dir": anchor(settings.pbx.dir)}),
            "dialplan": settings.dialplan.model_copy(update={"path": anchor(settings.dialplan.path)}),
        }
    )
