"""The dialplan schema: what an admin may write in dialplans/*.yaml.

Shape rules live here (types, patterns, unknown keys); rules that need the whole
document (references, duplicates, reachability, per-mode fields) live in checks.py,
so each error can point at the exact key that breaks it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

SCHEMA_FILE_NAME = "hotline-dialplan.schema.json"


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("prompt text is empty")
    return text


_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def parse_time_range(text: str) -> tuple[dt.time, dt.time | None]:
    """`HH:MM-HH:MM` -> (start, end); end None means midnight at the end of the day (24:00)."""
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"invalid time range {text!r}: expected HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ValueError(
            f"invalid time range {text!r}: hours run 00-23 (24:00 only as an end), minutes 00-59"
        )
    start = dt.time(h1, m1)
    end = None if h2 == 24 else dt.time(h2, m2)
    if end is not None and end <= start:
        raise ValueError(
            f"invalid time range {text!r}: it ends before it starts (split ranges over midnight)"
        )
    return start, end


def _valid_range(text: str) -> str:
    parse_time_range(text)
    return text


Prompt = Annotated[
    str, AfterValidator(_not_blank), Field(description="text read to the caller (TTS or recorded)")
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]
QueueName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=48)]
PhoneNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{3,20}$"),
    Field(description="digits only, quoted so a leading 0 survives"),
]
OptionDigit = Annotated[str, StringConstraints(pattern=r"^[1-9]$")]
TimeRange = Annotated[str, AfterValidator(_valid_range), Field(description="HH:MM-HH:MM, local time")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Mode = Literal["main", "merged", "parallel", "subcenter"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Department(_Model):
    name: Name = Field(description="责任单位 exactly as the merge list writes it, e.g. 市人社局")
    aliases: list[Name] = Field(default_factory=list, description="other spoken names for speech matching")


class Transition(_Model):
    announcement: Prompt
    until: dt.date = Field(description="last day the announcement is played (inclusive)")


class Handoff(_Model):
    """How 12345 hands a sub-center's matters over: to its queue here, or out over a trunk."""

    queue: QueueName | None = None
    trunk: Name | None = Field(None, description="Asterisk Dial() string, e.g. PJSIP/12366@tax-trunk")
    ticket_variable: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")] = Field(
        "TICKET_ID", description="channel variable that carries the 12345 ticket id to the sub-center"
    )

    @model_validator(mode="after")
    def _one_target(self) -> Handoff:
        if (self.queue is None) == (self.trunk is None):
            raise ValueError("handoff needs exactly one of 'queue' or 'trunk'")
        return self


class Line(_Model):
    number: PhoneNumber
    name: Name
    department: Name
    mode: Mode = Field(description="main | merged (整体并入) | parallel (双号并行) | subcenter (设分中心)")
    id: Ident | None = Field(
        None, description="needed only when lines share a number; defaults to the number"
    )
    queue: QueueName | None = Field(None, description="main: the 12345 queue; parallel/subcenter: own queue")
    menu: Ident | None = Field(None, description="main: top menu; parallel/subcenter: optional short menu")
    shared_menu: Ident | None = Field(None, description="menu that chooses between lines sharing this number")
    hours: Ident | None = Field(None, description="opening-hours profile; default settings.default_hours")
    transition: Transition | None = None
    handoff: Handoff | None = Field(None, description="subcenter: where 12345 sends its matters")
    level: str = Field("", description="办理层级")
    remarks: str = Field("", description="备注")

    @property
    def key(self) -> str:
        return self.id or self.number


class Agent(_Model):
    id: Ident
    interface: Name = Field(description="Asterisk device, e.g. PJSIP/agent01")
    name: str = ""
    skills: list[Ident] = Field(default_factory=list)


class Member(_Model):
    agent: Ident
    penalty: int = Field(0, ge=0, le=99)


class SkillMember(_Model):
    skill: Ident
    penalty: int = Field(
        0, ge=0, le=99, description="12345 seats joining a department queue use a higher penalty"
    )


class Queue(_Model):
    name: QueueName
    description: str = ""
    strategy: Literal["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear", "wrandom"] = (
        "rrmemory"
    )
    members: list[Member] = Field(default_factory=list)
    skills: list[SkillMember] = Field(default_factory=list, description="every agent with the skill joins")
    experts: list[Member] = Field(
        default_factory=list, description="expert seats, compiled as queue <name>-expert"
    )
    ring_timeout_s: int = Field(15, ge=1, le=300)
    retry_s: int = Field(5, ge=0, le=300)
    wrapup_s: int = Field(10, ge=0, le=3600)
    max_wait_s: int = Field(600, ge=0, le=7200, description="0: no limit")
    max_callers: int = Field(0, ge=0, description="0: no limit")
    announce_frequency_s: int = Field(30, ge=0, le=3600)

    @property
    def expert_queue(self) -> str:
        return f"{self.name}-expert"


class Option(_Model):
    """One digit of a menu; exactly one target key."""

    label: str = ""
    menu: Ident | None = None
    queue: QueueName | None = None
    department: Name | None = None
    selfservice: Ident | None = None
    progress: bool = False
    agent: bool = False
    line: Ident | None = Field(None, description="in a shared-number menu: the line (id) the caller chose")
    expert: QueueName | None = Field(None, description="a queue whose expert seats take the call")

    @property
    def target_kind(self) -> str:
        return next(k for k in TARGET_KEYS if getattr(self, k) not in (None, False))

    @property
    def target(self) -> str:
        value = getattr(self, self.target_kind)
        return "" if value is True else str(value)

    @model_validator(mode="after")
    def _one_target(self) -> Option:
        chosen = [k for k in TARGET_KEYS if getattr(self, k) not in (None, False)]
        if len(chosen) != 1:
            raise ValueError(
                f"an option needs exactly one of {', '.join(TARGET_KEYS)} (got {chosen or 'none'})"
            )
        return self


TARGET_KEYS = ("menu", "queue", "department", "selfservice", "progress", "agent", "line", "expert")


class Menu(_Model):
    id: Ident
    prompt: Prompt
    options: dict[OptionDigit, Option] = Field(
        default_factory=dict, description="1-9; 0 (agent), * (repeat) and # (back) work in every menu"
    )
    speech: bool = Field(False, description="also listen for speech and route by intent")
    timeout_s: int = Field(6, ge=1, le=60)
    retries: int = Field(
        2, ge=0, le=9, description="timeouts or wrong keys before the caller goes to an agent"
    )
    invalid_prompt: Prompt = "对不起，您的按键有误，请重新选择。"


class HoursProfile(_Model):
    id: Ident
    description: str = ""
    always_open: bool = False
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))
    open: list[TimeRange] = Field(default_factory=list)
    holidays: Literal["open", "closed"] = "open"
    after_hours: Literal["voicemail"] = "voicemail"
    after_hours_prompt: Prompt | None = None


class Holiday(_Model):
    date: dt.date
    until: dt.date | None = Field(None, description="last day of a multi-day holiday (inclusive)")
    name: Name

    def days(self) -> list[dt.date]:
        last = self.until or self.date
        return [self.date + dt.timedelta(days=n) for n in range((last - self.date).days + 1)]


class Emergency(_Model):
    number: PhoneNumber
    name: Name
    words: list[Name] = Field(min_length=1, description="trigger words that send the caller there at once")


class NotAcceptedMatter(_Model):
    id: Ident
    name: Name
    words: list[Name] = Field(min_length=1)
    explanation: Prompt
    channel: Name = Field(description="where the citizen should go instead")


class SelfServiceAnswer(_Model):
    id: Ident
    title: Name
    department: Name | None = None
    text: Prompt


class Intent(_Model):
    """Phrases the speech matcher maps to a kind (and a department / self-service answer)."""

    name: Ident
    kind: Literal["department", "progress", "agent"] = "department"
    department: Name | None = None
    answer: Ident | None = Field(None, description="self-service answer played for this consultation")
    phrases: list[Name] = Field(min_length=1)


class Duty(_Model):
    """A department's duty vocabulary (职责/权责清单 terms) that the speech model learns from."""

    department: Name
    label: Name | None = Field(None, description="the matter as the caller hears it asked back, e.g. 社保")
    terms: list[Name] = Field(min_length=1, description="matters this department handles, in callers' words")
    examples: list[Name] = Field(default_factory=list, description="whole requests, as callers say them")


class Prompts(_Model):
    agent: Prompt = "正在为您转接人工服务，请稍候。"
    timeout: Prompt = "对不起，没有收到您的按键。"
    selfservice_offer: Prompt = "如需人工服务请按0，重听请按星号键，返回上级菜单请按井号键。"
    explain_offer: Prompt = "如仍需人工服务请按0。"
    progress_entry: Prompt = "请输入您的工单编号，以井号键结束。"
    emergency: Prompt = Field(
        "您反映的是紧急情况，正在为您转接{number}。", description="{number} is replaced"
    )
    handoff: Prompt = Field("正在为您转接{department}，请稍候。", description="{department} is replaced")
    # Played by Asterisk itself (dialplan and queues), also while the engine is down.
    hold: Prompt = Field("您好，正在为您转接人工服务，请稍候。",
                         description="answered by the PBX alone (engine down), before the fallback queue")
    queue_hold: Prompt = Field(
        "现在座席全忙，请您耐心等候。如需稍后给您回电，请按1，我们会按您现在的排队顺序回电。",
        description="repeated to callers waiting in a queue (periodic announcement)",
    )
    fallback_hold: Prompt = Field("现在座席全忙，请您耐心等候，请不要挂机。",
                                  description="repeated in the fallback queue, which offers no call-back")
    callback_accepted: Prompt = "好的，已为您保留排队顺序，轮到您时座席会给您回电，请挂机等候。"
    callback_unavailable: Prompt = "对不起，您的来电没有显示可以回拨的号码，无法为您回电，请继续等候。"
    confirm: Prompt = Field(
        "您要反映的是{topic}方面的问题吗？是请按1，不是请按2。",
        description="asked when speech is understood with middling confidence; {topic} is the duty label",
    )
    reask: Prompt = Field(
        "请您再简单说一下要办的事，也可以按键选择，人工服务请按0。",
        description="after a 'no' or an unclear answer: the one second try before an agent",
    )


class PromptLimits(_Model):
    """What a caller is asked to sit through; `hotline dialplan check` measures the rendered audio."""

    menu_s: float = Field(
        20, gt=0, le=120, description="longest menu prompt in seconds (the main menu includes the greeting)"
    )
    transition_s: float = Field(
        10, gt=0, le=60, description="longest transition announcement of a merged number, in seconds"
    )
    menu_options: int = Field(5, ge=1, le=9, description="most digit options per menu (0 = agent comes on top)")


class SpeechDecision(_Model):
    """How sure the department model must be: decide, ask the caller back, or not understood."""

    accept: float = Field(0.5, ge=0, le=1, description="model confidence that routes without asking")
    confirm_floor: float = Field(
        0.25, ge=0, le=1, description="below this the request is not understood; between: ask back once"
    )


class Settings(_Model):
    timezone: Literal["Asia/Shanghai"] = "Asia/Shanghai"
    default_hours: Ident = "7x24"
    fallback_queue: QueueName = Field("hotline-fallback", description="static queue when the engine is down")
    prompts: Prompts = Prompts()
    limits: PromptLimits = PromptLimits()
    speech: SpeechDecision = SpeechDecision()


class Dialplan(_Model):
    """The whole hotline: every section, merged from one file or a folder of files."""

    version: Literal[1] = 1
    settings: Settings = Settings()
    departments: list[Department] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)
    queues: list[Queue] = Field(default_factory=list)
    menus: list[Menu] = Field(default_factory=list)
    hours: list[HoursProfile] = Field(default_factory=list)
    holidays: list[Holiday] = Field(default_factory=list)
    emergencies: list[Emergency] = Field(default_factory=list)
    not_accepted: list[NotAcceptedMatter] = Field(default_factory=list)
    selfservice: list[SelfServiceAnswer] = Field(default_factory=list)
    intents: list[Intent] = Field(default_factory=list)
    duties: list[Duty] = Field(default_factory=list)

    # Lookup tables built once per loaded dialplan (see registry.py); not part of the data.
    _cache: dict[str, Any] = PrivateAttr(default_factory=dict)
