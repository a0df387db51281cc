"""Deadline policies as data: `config/policies/<name>.toml`, validated here with key names in errors.

Durations are strings: ``"2h"`` clock hours, ``"30m"`` minutes, ``"1d"`` calendar days,
``"3wd"`` working days (close of the 3rd working day after the reference day).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tickets.exceptions import PolicyError

POLICY_DIR = Path(__file__).resolve().parent.parent / "config" / "policies"
TICKET_TYPES = ("咨询", "求助", "投诉", "举报", "建议")
_DURATION = re.compile(r"^(\d+)(wd|h|m|d)$")


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: Literal["wd", "h", "m", "d"]

    @classmethod
    def parse(cls, text: str) -> Duration:
        m = _DURATION.match(text.strip())
        if not m:
            raise ValueError(f"{text!r} is not a duration (e.g. 2h, 30m, 1d, 3wd)")
        return cls(int(m.group(1)), m.group(2))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def _duration(v: object) -> Duration:
    if isinstance(v, Duration):
        return v
    return Duration.parse(str(v))


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, populate_by_name=True
    )


class DispatchRule(_Model):
    limit: Duration = Duration(1, "wd")
    # Yunnan: accepted before the cutoff -> dispatched the same day; later -> next day by next_day_by.
    cutoff: time | None = None
    next_day_by: time | None = None

    _v = field_validator("limit", mode="before")(_duration)

    @model_validator(mode="after")
    def _pair(self) -> DispatchRule:
        if (self.cutoff is None) != (self.next_day_by is None):
            raise ValueError("cutoff and next_day_by go together")
        return self


class WindowRule(_Model):
    limit: Duration
    start: Literal["dispatched", "signed"] = Field("dispatched", alias="from")
    complex_limit: Duration | None = None

    _v = field_validator("limit", "complex_limit", mode="before")(
        lambda v: None if v is None else _duration(v)
    )


class SignRule(_Model):
    limit: Duration
    _v = field_validator("limit", mode="before")(_duration)


class Level(_Model):
    limit: Duration
    min: Duration | None = None
    complex: bool = False
    note: str = ""

    _v = field_validator("limit", "min", mode="before")(lambda v: None if v is None else _duration(v))


class ExtensionRule(_Model):
    max_count: int = Field(1, ge=0)
    # "original": no longer than the ticket's original handling limit (Ganzhou).
    max_each: Duration | Literal["original"]
    max_total: Duration | None = None
    # Ganzhou: the request must come within this long before the due time.
    request_within: Duration | None = None

    @field_validator("max_each", mode="before")
    @classmethod
    def _each(cls, v: object) -> object:
        return v if v == "original" else _duration(v)

    _v = field_validator("max_total", "request_within", mode="before")(
        lambda v: None if v is None else _duration(v)
    )


class SupervisionRule(_Model):
    returned_times: int = Field(2, ge=1)
    redone_times: int = Field(2, ge=1)
    repeat_reports: int = Field(3, ge=2)


class RepeatRule(_Model):
    window_days: int = Field(30, ge=1)
    similarity: float = Field(0.6, gt=0, le=1)


class ReturnVisitRule(_Model):
    retries: tuple[Duration, ...] = (Duration(30, "m"), Duration(2, "h"), Duration(1, "d"))
    _v = field_validator("retries", mode="before")(lambda v: tuple(_duration(x) for x in v))


class Policy(_Model):
    name: str
    title: str = ""
    source: str = ""
    dispatch: DispatchRule = DispatchRule()
    sign: SignRule | None = None
    return_window: WindowRule | None = None
    levels: dict[str, Level]
    types: dict[str, str]
    multi_department_level: str | None = None
    extension: ExtensionRule
    supervision: SupervisionRule = SupervisionRule()
    repeat: RepeatRule = RepeatRule()
    return_visit: ReturnVisitRule = ReturnVisitRule()

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        missing = [t for t in TICKET_TYPES if t not in self.types]
        if missing:
            raise ValueError(f"types: no level for {missing}")
        unknown = [t for t in self.types if t not in TICKET_TYPES]
        if unknown:
            raise ValueError(f"types: unknown ticket type(s) {unknown} (expected {list(TICKET_TYPES)})")
        for t, level in self.types.items():
            if level not in self.levels:
                raise ValueError(f"types.{t}: no level named {level!r} (levels: {sorted(self.levels)})")
        if self.multi_department_level and self.multi_department_level not in self.levels:
            raise ValueError(f"multi_department_level: no level named {self.multi_department_level!r}")
        return self

    def level_for(self, ticket_type: str, *, level: str | None = None, co_departments: int = 0) -> str:
        if level is not None:
            if level not in self.levels:
                raise PolicyError(
                    f"policy {self.name}: no level {level!r} (levels: {sorted(self.levels)})", field="level"
                )
            return level
        if ticket_type not in self.types:
            raise PolicyError(f"policy {self.name}: unknown ticket type {ticket_type!r}", field="type")
        if co_departments and self.multi_department_level:
            return self.multi_department_level
        return self.types[ticket_type]


def load_policy(name: str, *, directory: Path = POLICY_DIR) -> Policy:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise PolicyError(
            f"policy name {name!r}: expected lower-case letters, digits, underscore", field="policy"
        )
    path = directory / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = sorted(p.stem for p in directory.glob("*.toml"))
        raise PolicyError(f"{path}: no such policy (known: {known})", field="policy") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: {exc}", field="policy") from exc
    data.setdefault("name", name)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        lines = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise PolicyError(f"{path}: {lines}", field="policy") from exc


def policy_names(directory: Path = POLICY_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))
