"""Operating figures from the ticket store: 接通率 (from the queue tracker), 办结率, 按时办结率, 满意率,
monthly department ranking and hot topics. Definitions are in each field's comment.
"""

from __future__ import annotations

import inspect
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra.phone import mask_phones
from tickets.models import Ticket
from tickets.state import Status

SATISFIED = ("satisfied", "basically_satisfied")
FINISHED = ("direct", "satisfied", "basically_satisfied", "lawful_reply")


class AnswerRateSource(Protocol):
    """The queue tracker (agent_queue) answers: share of offered calls answered by an agent, 0..1."""

    def answer_rate(self, start: datetime, end: datetime) -> float | None | Awaitable[float | None]: ...


AnswerRate = AnswerRateSource | Callable[[datetime, datetime], float | None | Awaitable[float | None]]


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


@dataclass(frozen=True)
class DepartmentRow:
    department: str
    rank: int
    dispatched: int
    replied: int
    on_time: int
    overdue_open: int
    on_time_rate: float | None
    visited: int
    satisfied: int
    satisfaction_rate: float | None
    returned: int
    supervised: int


@dataclass(frozen=True)
class Report:
    start: str
    end: str
    # 接通率: answered / offered calls, from the queue tracker; None when no tracker is wired.
    answer_rate: float | None
    # Tickets accepted in the period, without calls abandoned in the IVR or not accepted.
    valid: int
    abandoned: int
    not_accepted: int
    direct: int
    dispatched: int
    # 办结率: valid tickets closed (直办, satisfied, basically satisfied, lawful reply) / valid.
    closure_rate: float | None
    # 直办率: closed directly by the agent / valid.
    direct_rate: float | None
    # 按时办结率: dispatched tickets replied by their (extended) due time /
    #   (dispatched tickets replied + still unreplied ones already past due at the period end).
    on_time_rate: float | None
    # 满意率: (满意 + 基本满意) / tickets with a return-visit result.
    satisfaction_rate: float | None
    supervised: int
    by_type: dict[str, int] = field(default_factory=dict)
    ranking: list[DepartmentRow] = field(default_factory=list)
    hot_categories: list[tuple[str, int]] = field(default_factory=list)
    hot_terms: list[tuple[str, int]] = field(default_factory=list)

    def as_dict(self, *, mask: bool = True) -> dict[str, object]:
        """JSON-ready. Reports go to supervisors: every free text (categories, hot terms, department
        names) has its phone-like sequences masked unless `mask=False`."""
        data = asdict(self)
        if mask:
            data["by_type"] = {mask_phones(k): v for k, v in self.by_type.items()}
            data["hot_categories"] = [(mask_phones(c), n) for c, n in self.hot_categories]
            data["hot_terms"] = [(mask_phones(t), n) for t, n in self.hot_terms]
            for row in data["ranking"]:
                row["department"] = mask_phones(row["department"])
        return data


async def _answer_rate(source: AnswerRate | None, start: datetime, end: datetime) -> float | None:
    if source is None:
        return None
    fn = getattr(source, "answer_rate", source)
    value = fn(start, end)
    if inspect.isawaitable(value):
        value = await value
    return None if value is None else round(float(value), 4)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """`2026-11` -> [2026-11-01 00:00, 2026-12-01 00:00)."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise ValueError(f"month: {month!r} is not YYYY-MM") from exc
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return datetime.combine(first, datetime.min.time()), datetime.combine(nxt, datetime.min.time())


async def build_report(
    sessionmaker: async_sessionmaker[AsyncSession],
    start: datetime,
    end: datetime,
    *,
    answer_rate: AnswerRate | None = None,
    top: int = 10,
    terms: bool = True,
) -> Report:
    async with sessionmaker() as session:
        stmt = select(Ticket).where(
            or_(
                (Ticket.accepted_at >= start) & (Ticket.accepted_at < end),
                (Ticket.dispatched_at >= start) & (Ticket.dispatched_at < end),
            )
        )
        rows = list((await session.execute(stmt)).scalars())
    accepted = [t for t in rows if start <= t.accepted_at < end]
    abandoned = sum(t.status == Status.ABANDONED for t in accepted)
    not_accepted = sum(t.status == Status.NOT_ACCEPTED for t in accepted)
    valid = [t for t in accepted if t.status not in (Status.ABANDONED, Status.NOT_ACCEPTED)]
    closed = [t for t in valid if t.closure in FINISHED]
    direct = sum(t.closure == "direct" for t in valid)
    dispatched = [t for t in rows if t.dispatched_at is not None and start <= t.dispatched_at < end]

    ranking = _ranking(dispatched, end)
    replied = sum(r.replied for r in ranking)
    on_time = sum(r.on_time for r in ranking)
    overdue_open = sum(r.overdue_open for r in ranking)
    visited = [t for t in valid if t.satisfaction]
    cats = Counter(t.category for t in valid if t.category)
    return Report(
        start=start.isoformat(),
        end=end.isoformat(),
        answer_rate=await _answer_rate(answer_rate, start, end),
        valid=len(valid),
        abandoned=abandoned,
        not_accepted=not_accepted,
        direct=direct,
        dispatched=len(dispatched),
        closure_rate=_ratio(len(closed), len(valid)),
        direct_rate=_ratio(direct, len(valid)),
        on_time_rate=_ratio(on_time, replied + overdue_open),
        satisfaction_rate=_ratio(sum(t.satisfaction in SATISFIED for t in visited), len(visited)),
        supervised=sum(t.supervision_count > 0 for t in valid),
        by_type=dict(Counter(t.ticket_type for t in valid)),
        ranking=ranking,
        hot_categories=cats.most_common(top),
        hot_terms=hot_terms([t.text for t in valid], top) if terms else [],
    )


def _ranking(dispatched: list[Ticket], end: datetime) -> list[DepartmentRow]:
    groups: dict[str, list[Ticket]] = defaultdict(list)
    for t in dispatched:
        groups[t.lead_department or "?"].append(t)
    rows = []
    for dept, ts in groups.items():
        replied = [t for t in ts if t.replied_at is not None]
        on_time = sum(t.handle_due is not None and t.replied_at <= t.handle_due for t in replied)
        overdue = sum(t.replied_at is None and t.handle_due is not None and t.handle_due < end for t in ts)
        visited = [t for t in ts if t.satisfaction]
        sat = sum(t.satisfaction in SATISFIED for t in visited)
        rows.append(
            DepartmentRow(
                department=dept,
                rank=0,
                dispatched=len(ts),
                replied=len(replied),
                on_time=on_time,
                overdue_open=overdue,
                on_time_rate=_ratio(on_time, len(replied) + overdue),
                visited=len(visited),
                satisfied=sat,
                satisfaction_rate=_ratio(sat, len(visited)),
                returned=sum(t.return_count for t in ts),
                supervised=sum(t.supervision_count > 0 for t in ts),
            )
        )
    # Ranking: on-time first (the seeds' 按时办结), then satisfaction, then fewer supervisions.
    rows.sort(key=lambda r: (-(r.on_time_rate or 0), -(r.satisfaction_rate or 0), r.supervised, r.department))
    return [DepartmentRow(**{**asdict(r), "rank": i + 1}) for i, r in enumerate(rows)]


_STOP = frozenset(
    "反映 问题 情况 市民 来电 咨询 投诉 举报 建议 求助 请求 希望 要求 相关 部门 进行 没有 现在 已经 我们 他们 这个 一个".split()
)


def hot_terms(texts: list[str], top: int = 10) -> list[tuple[str, int]]:
    """Most frequent words (two characters or more) over the period's texts, segmented by jieba."""
    if not texts:
        return []
    import jieba  # imported here: loading its dictionary costs a second the rest of the package never needs

    jieba.setLogLevel(60)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({w for w in jieba.lcut(text) if len(w) >= 2 and w not in _STOP and not w.isdigit()})
    return counts.most_common(top)
