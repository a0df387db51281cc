"""Fixtures for the dialplan tests: the shipped 武威 dialplan and a small hand-made one."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline_merge.loader import load_dialplan
from hotline_merge.models import Dialplan, Option

PROJECT = Path(__file__).resolve().parents[2]
DIALPLANS = PROJECT / "dialplans"

# 03:00 on a Monday: outside any daytime profile, inside the shipped transition period.
NIGHT = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

# A small dialplan with one line of each mode; tests edit copies of it to provoke one error each.
SMALL = """\
lines:
  - number: "12345"
    name: 测试12345
    department: 市政务服务中心
    mode: main
    queue: general
    menu: main
  - number: "12349"
    name: 养老服务热线
    department: 市民政局
    mode: merged
    transition: {announcement: "您拨打的{name}已并入12345。", until: 2026-12-31}
  - number: "12333"
    name: 人社热线
    department: 市人社局
    mode: parallel
    queue: hrss
    menu: hrss
  - number: "12366"
    name: 税务热线
    department: 市税务局
    mode: subcenter
    queue: tax
    handoff: {queue: tax}
departments:
  - name: 市政务服务中心
  - name: 市民政局
  - name: 市人社局
  - name: 市税务局
agents:
  - {id: a1, interface: PJSIP/agent01, skills: [general]}
  - {id: a2, interface: PJSIP/agent02, skills: [hrss]}
  - {id: a3, interface: PJSIP/agent03, skills: [tax]}
queues:
  - {name: general, skills: [{skill: general}]}
  - {name: hrss, skills: [{skill: hrss}, {skill: general, penalty: 2}], experts: [{agent: a2}]}
  - {name: tax, skills: [{skill: tax}]}
hours:
  - {id: 7x24, always_open: true}
  - id: day
    open: ["08:00-20:00"]
    after_hours_prompt: 现在是非工作时间，请留言。
menus:
  - id: main
    prompt: 人社请按1，税务请按2，更多请按3。
    speech: true
    retries: 2
    options:
      "1": {department: 市人社局}
      "2": {department: 市税务局}
      "3": {menu: more}
  - id: more
    prompt: 自助请按1，进度请按2，养老请按3。
    invalid_prompt: 按键有误。
    options:
      "1": {selfservice: answer}
      "2": {progress: true}
      "3": {department: 市民政局}
  - id: hrss
    prompt: 专家请按1。
    options:
      "1": {expert: hrss}
selfservice:
  - {id: answer, title: 答案, text: 这是自助答案。}
emergencies:
  - {number: "119", name: 火警, words: [着火了]}
not_accepted:
  - {id: litigation, name: 诉讼, words: [起诉], explanation: 诉讼事项不受理。, channel: 请向法院起诉。}
intents:
  - {name: hrss, department: 市人社局, phrases: [社保]}
  - {name: fund, department: 市人社局, answer: answer, phrases: [提取条件]}
"""


@pytest.fixture(scope="session")
def wuwei() -> Dialplan:
    return load_dialplan(DIALPLANS)


@pytest.fixture
def small_text() -> str:
    return SMALL


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def small(write_yaml: Callable[..., Path]) -> Dialplan:
    return load_dialplan(write_yaml(SMALL))


def locate(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the nth occurrence of `needle` in `text`."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    return line, col


def keys_to(plan: Dialplan, root: str, wanted: Callable[[Option], bool]) -> str | None:
    """The shortest key sequence from menu `root` to an option satisfying `wanted` (BFS over menus)."""
    menus = {m.id: m for m in plan.menus}
    queue: deque[tuple[str, str]] = deque([(root, "")])
    seen = {root}
    while queue:
        menu_id, path = queue.popleft()
        for digit, option in sorted(menus[menu_id].options.items()):
            if wanted(option):
                return path + digit
            if option.menu and option.menu not in seen:
                seen.add(option.menu)
                queue.append((option.menu, path + digit))
    return None
