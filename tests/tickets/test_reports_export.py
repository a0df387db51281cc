"""Reports and the JSON-lines export, on synthetic tickets and on real Fuzhou 12345 tickets."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from tickets.export import SCHEMA, export_jsonl
from tickets.reports import build_report, month_bounds
from tickets.services import TicketService
from tickets.state import Dispatch, Reply, Satisfaction, Sign, VisitResult

from .conftest import FakeClock

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fuzhou12345" / "tickets.csv"


async def _cycle(
    service: TicketService, clock: FakeClock, dept: str, *, late: bool, result: Satisfaction
) -> int:
    t = await service.create(channel="phone", caller="13912345678", ticket_type="投诉", text=f"{dept}相关问题",
                             category="城乡建设")  # fmt: skip
    await service.act(t.id, Dispatch(department=dept), actor="agent")
    await service.act(t.id, Sign(), actor="dept")
    saved = clock.now
    if late:
        clock.advance(days=10)
    await service.act(t.id, Reply(text="已处理"), actor="dept")
    await service.act(t.id, VisitResult(satisfaction=result), actor="visit")
    clock.set(saved)
    return t.id


async def test_rates_and_ranking(service: TicketService, clock: FakeClock) -> None:
    await _cycle(service, clock, "住建局", late=False, result=Satisfaction.SATISFIED)
    await _cycle(service, clock, "住建局", late=False, result=Satisfaction.BASIC)
    await _cycle(service, clock, "水务局", late=True, result=Satisfaction.SATISFIED)
    await _cycle(
        service, clock, "水务局", late=False, result=Satisfaction.UNSATISFIED
    )  # back to 水务局, open
    direct = await service.create(channel="web", text="咨询公积金提取", ticket_type="咨询")
    await service.close_direct(direct.id, answer="见公积金中心网站")
    abandoned = await service.create(channel="phone", caller="13000000000")
    await service.mark_abandoned(abandoned.id, stage="menu")

    start, end = month_bounds("2026-11")
    rep = await build_report(service.sessionmaker, start, end, answer_rate=lambda s, e: 0.95)
    assert (rep.valid, rep.abandoned, rep.direct, rep.dispatched) == (5, 1, 1, 4)
    assert rep.closure_rate == 0.8  # 3 closed by visit + 1 direct of 5
    assert rep.satisfaction_rate == 0.75  # 3 of 4 visited
    # Three replies stand (one late); the re-dispatched ticket is unreplied and past due at the
    # month end, so it counts against the rate: 2 on time / (3 replied + 1 overdue).
    assert rep.on_time_rate == 0.5
    assert rep.answer_rate == 0.95
    assert [(r.department, r.rank, r.on_time_rate) for r in rep.ranking] == [
        ("住建局", 1, 1.0),
        ("水务局", 2, 0.0),
    ]
    assert rep.hot_categories == [("城乡建设", 4)]


async def test_answer_rate_accepts_an_async_tracker(service: TicketService) -> None:
    class Tracker:
        async def answer_rate(self, start: datetime, end: datetime) -> float:
            assert end > start
            return 0.9123456

    rep = await build_report(service.sessionmaker, *month_bounds("2026-11"), answer_rate=Tracker())
    assert rep.answer_rate == 0.9123
    assert rep.on_time_rate is None  # nothing dispatched: no rate rather than 0 or 100%


async def test_export_jsonl_format(service: TicketService, clock: FakeClock) -> None:
    first = await service.create(
        channel="phone", caller="13812345678", ticket_type="投诉", text="路灯不亮，电话13812345678"
    )
    clock.advance(days=1)
    second = await service.create(
        channel="phone", caller="13812345678", ticket_type="投诉", text="路灯不亮，电话13812345678"
    )
    await service.act(second.id, Dispatch(department="城管局", co_departments=("供电公司",)), actor="agent")
    out = io.StringIO()
    assert await export_jsonl(service.sessionmaker, out) == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["number"] for r in lines] == [first.number, second.number]
    rec = lines[1]
    assert rec["schema"] == SCHEMA
    assert rec["caller"] == "138****5678" and "13812345678" not in out.getvalue()
    assert rec["repeat_of"] == first.number
    assert rec["co_departments"] == ["供电公司"]
    assert rec["accepted_at"] == "2026-11-24T09:00:00+08:00"
    assert [h["action"] for h in rec["history"]] == ["create", "link_repeat", "dispatch"]
    unmasked = io.StringIO()
    await export_jsonl(service.sessionmaker, unmasked, mask=False, start=datetime(2026, 11, 24))
    assert [json.loads(x)["caller"] for x in unmasked.getvalue().splitlines()] == ["+8613812345678"]


@pytest.mark.skipif(not DATA.exists(), reason=f"real data not present: {DATA}")
async def test_real_fuzhou_tickets_report_and_export(service: TicketService, clock: FakeClock) -> None:
    """Load real 12345 tickets (type, channel, text, reply) and check the report counts them as the CSV does."""
    with DATA.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["性质"] in ("咨询", "求助", "投诉", "举报", "建议")][:150]
    expected_types: dict[str, int] = {}
    for r in rows:
        t = await service.create(channel="web", ticket_type=r["性质"], text=r["诉求件内容"][:5000],
                                 title=r["标题"][:200], category=r["河流"][:64])  # fmt: skip
        expected_types[r["性质"]] = expected_types.get(r["性质"], 0) + 1
        if r["回复1"]:
            await service.close_direct(t.id, answer=r["回复1"][:5000], actor="agent")
    rep = await build_report(service.sessionmaker, *month_bounds("2026-11"))
    assert rep.valid == len(rows)
    assert rep.by_type == expected_types
    answered = sum(1 for r in rows if r["回复1"])
    assert rep.closure_rate == round(answered / len(rows), 4)
    # The data is about urban rivers: the river names lead the hot categories, and
    # the segmenter finds river-related words among the hot terms.
    top_river = max(set(r["河流"] for r in rows), key=lambda k: sum(r["河流"] == k for r in rows))
    assert rep.hot_categories[0][0] == top_river
    assert any("河" in term for term, _ in rep.hot_terms)
    out = io.StringIO()
    assert await export_jsonl(service.sessionmaker, out) == len(rows)
