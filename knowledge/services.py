"""Knowledge-base domain logic: writing, reviewing, publishing, searching, import/export.

`KnowledgeService(sessionmaker=..., clock=...)`. Every change writes a version snapshot (content)
and an audit event (who, when, from which status to which). Only the published version is read
by `search`, `published` and `spoken` (the IVR's self-service text), so an edit under review
changes nothing callers hear until the hotline approves it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra.chinese import search_tokens
from infra.logs import log_event
from knowledge import repository as repo
from knowledge.exceptions import Forbidden, InvalidArticle, NoSuchArticle
from knowledge.models import Article, ArticleVersion
from knowledge.state import Action, Actor, Status, apply, may_edit

log = logging.getLogger("knowledge")
CST = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor("system", "admin")
# The starter set shipped with the code (hotline kb import; the engine seeds an empty base with it).
STARTER = Path(__file__).resolve().parent / "data" / "articles.jsonl"
CONTENT_FIELDS = ("title", "body", "spoken", "department", "category", "keywords", "valid_from", "valid_to",
                  "review_due", "legal_basis", "source")  # fmt: skip
# Flag articles whose validity ends this soon, as well as those past their review date.
EXPIRY_WARNING = timedelta(days=30)


def system_clock() -> datetime:
    return datetime.now(CST).replace(tzinfo=None)


class ArticleInput(BaseModel):
    """One article as written by a department (or one line of an import file)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$", description="stable id the dialplan references")
    title: str = Field(min_length=2, max_length=200)
    body: str = Field(min_length=10, max_length=20_000)
    spoken: str = Field("", max_length=2000, description="what the IVR reads; empty: the body")
    department: str = Field(min_length=2, max_length=64)
    category: str = Field("", max_length=64)
    keywords: list[str] = Field(default_factory=list, max_length=40)
    valid_from: date | None = None
    valid_to: date | None = None
    review_due: date | None = None
    legal_basis: str = Field("", max_length=4000)
    source: str = Field("", max_length=200)
    status: Status = Status.DRAFT

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        out = [k.strip() for k in v if k.strip()]
        if any(len(k) > 40 for k in out):
            raise ValueError("a keyword is longer than 40 characters")
        return out

    @model_validator(mode="after")
    def _dates(self) -> ArticleInput:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        if self.status not in (Status.DRAFT, Status.PUBLISHED):
            raise ValueError("status: an import line is draft or published")
        return self

    def content(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in CONTENT_FIELDS}


@dataclass(frozen=True)
class ArticleView:
    id: str
    status: str
    version: int
    live_version: int | None
    title: str
    body: str
    spoken: str
    department: str
    category: str
    keywords: list[str]
    valid_from: date | None
    valid_to: date | None
    review_due: date | None
    legal_basis: str
    source: str
    author: str
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def of(cls, row: Article | ArticleVersion, article: Article | None = None) -> ArticleView:
        a = article or row
        assert isinstance(a, Article)
        return cls(id=a.slug, status=a.status, version=row.version, live_version=a.live_version,
                   title=row.title, body=row.body, spoken=row.spoken, department=row.department,
                   category=row.category, keywords=list(row.keywords or []), valid_from=row.valid_from,
                   valid_to=row.valid_to, review_due=row.review_due, legal_basis=row.legal_basis,
                   source=row.source, author=row.author, updated_at=a.updated_at,
                   published_at=a.published_at)  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("valid_from", "valid_to", "review_due", "updated_at", "published_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d

    def export_line(self) -> dict[str, Any]:
        d = {k: v for k, v in self.as_dict().items() if k in (*CONTENT_FIELDS, "id")}
        d["status"] = Status.PUBLISHED.value if self.status == Status.PUBLISHED else Status.DRAFT.value
        return d


@dataclass(frozen=True)
class SearchHit:
    id: str
    title: str
    department: str
    category: str
    snippet: str
    score: float
    version: int


@dataclass(frozen=True)
class Spoken:
    """What the IVR plays for an article: the prompt id changes with every published version,
    so the audio file changes with it and no cache can serve the old answer."""

    prompt_id: str
    text: str
    version: int


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _tokens(text: str) -> str:
    return " ".join(search_tokens(text))


def _snippet(body: str, n: int = 90) -> str:
    return body if len(body) <= n else body[:n] + "…"


def parse_jsonl(lines: Iterable[str], *, source: str = "<input>") -> list[ArticleInput]:
    """Validate every line; one InvalidArticle names each bad `file:line: field` and nothing is kept."""
    items: list[ArticleInput] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            problems.append(f"{source}:{n}: not JSON ({exc.msg})")
            continue
        try:
            item = ArticleInput.model_validate(data)
        except ValidationError as exc:
            for e in exc.errors():
                where = ".".join(str(p) for p in e["loc"]) or "line"
                problems.append(f"{source}:{n}: {where}: {e['msg']}")
            continue
        if item.id in seen:
            problems.append(f"{source}:{n}: id: {item.id!r} already on line {seen[item.id]}")
            continue
        seen[item.id] = n
        items.append(item)
    if problems:
        raise InvalidArticle("; ".join(problems[:20]) + (f" (+{len(problems) - 20} more)" if len(problems) > 20 else ""),
                             field=problems[0].split(": ")[0])  # fmt: skip
    return items


class KnowledgeService:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession],
                 clock: Callable[[], datetime] = system_clock) -> None:
        self.sessionmaker = sessionmaker
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    # ------------------------------------------------------------------ writing

    async def create(self, data: ArticleInput, *, actor: Actor) -> ArticleView:
        if not may_edit(actor, data.department):
            raise Forbidden(f"department: {actor.label} may not write {data.department}'s articles", field="department")
        now = self.now()
        async with self.sessionmaker() as session, session.begin():
            if await repo.maybe_by_slug(session, data.id) is not None:
                raise InvalidArticle(f"id: {data.id!r} already exists", field="id")
            row = await self._insert(session, data, actor=actor, now=now, action="create")
            return ArticleView.of(row)

    async def _insert(self, session: AsyncSession, data: ArticleInput, *, actor: Actor, now: datetime,
                      action: str) -> Article:
        row = Article(slug=data.id, status=Status.DRAFT.value, version=1, author=actor.label, live_version=None,
                      created_at=now, updated_at=now, **data.content())  # fmt: skip
        session.add(row)
        await session.flush()
        self._snapshot(session, row, now)
        repo.add_event(session, article=row, at=now, actor=actor.label, action=action, from_status=None)
        return row

    def _snapshot(self, session: AsyncSession, row: Article, now: datetime) -> None:
        session.add(ArticleVersion(article_id=row.id, version=row.version, author=row.author, created_at=now,
                                   **{k: getattr(row, k) for k in CONTENT_FIELDS}))  # fmt: skip

    async def edit(self, slug: str, changes: dict[str, Any], *, actor: Actor, note: str = "") -> ArticleView:
        """Change content fields: a new version in draft. Unknown or invalid fields change nothing."""
        unknown = sorted(set(changes) - set(CONTENT_FIELDS))
        if unknown:
            raise InvalidArticle(f"{unknown[0]}: not an article field (fields: {list(CONTENT_FIELDS)})",
                                 field=unknown[0])  # fmt: skip
        now = self.now()
        async with self.sessionmaker() as session, session.begin():
            row = await repo.by_slug(session, slug, lock=True)
            if "department" in changes and changes["department"] != row.department and not actor.hotline:
                raise Forbidden("department: only the hotline moves an article to another department",
                                field="department")  # fmt: skip
            current = {k: getattr(row, k) for k in CONTENT_FIELDS}
            try:
                merged = ArticleInput.model_validate({**current, **changes, "id": slug})
            except ValidationError as exc:
                e = exc.errors()[0]
                where = ".".join(str(p) for p in e["loc"]) or "body"
                raise InvalidArticle(f"{where}: {e['msg']}", field=where) from exc
            new = merged.content()
            if new == current:
                return ArticleView.of(row)
            before = Status(row.status)
            row.status = apply(before, Action.EDIT, actor=actor, department=row.department, author=row.author).value
            for k, v in new.items():
                setattr(row, k, v)
            row.version += 1
            row.author = actor.label
            row.updated_at = now
            self._snapshot(session, row, now)
            changed = sorted(k for k in new if new[k] != current[k])
            repo.add_event(session, article=row, at=now, actor=actor.label, action="edit", from_status=before.value,
                           note=(note + "; " if note else "") + "changed " + ", ".join(changed))  # fmt: skip
            return ArticleView.of(row)

    async def act(self, slug: str, action: Action, *, actor: Actor, note: str = "") -> ArticleView:
        if action == Action.EDIT:
            raise InvalidArticle("action: use edit() to change content", field="action")
        now = self.now()
        async with self.sessionmaker() as session, session.begin():
            row = await repo.by_slug(session, slug, lock=True)
            before = Status(row.status)
            row.status = apply(before, action, actor=actor, department=row.department, author=row.author).value
            row.updated_at = now
            if action == Action.HOTLINE_APPROVE:
                await self._publish(session, row, now)
            elif action == Action.EXPIRE:
                row.live_version = None
                await repo.unindex(session, row.id)
            repo.add_event(session, article=row, at=now, actor=actor.label, action=action.value,
                           from_status=before.value, note=note)  # fmt: skip
            view = ArticleView.of(row)
        log_event(log, "article " + action.value, article=slug, version=view.version, actor=actor.label)
        return view

    async def _publish(self, session: AsyncSession, row: Article, now: datetime) -> None:
        row.status = Status.PUBLISHED.value
        row.live_version = row.version
        row.published_at = now
        await repo.index(session, row.id, title=_tokens(row.title),
                         keywords=_tokens(" ".join([*row.keywords, row.category, row.department])),
                         body=_tokens(row.body))  # fmt: skip

    async def sweep(self) -> list[str]:
        """Expire published articles whose validity ended; returns their ids."""
        today = self.now().date()
        async with self.sessionmaker() as session:
            due = [a.slug for a in await repo.live(session) if a.valid_to is not None and a.valid_to < today]
        for slug in due:
            await self.act(slug, Action.EXPIRE, actor=SYSTEM, note=f"valid_to passed ({today.isoformat()})")
        return due

    # ------------------------------------------------------------------ reading

    async def get(self, slug: str) -> ArticleView:
        async with self.sessionmaker() as session:
            return ArticleView.of(await repo.by_slug(session, slug))

    async def published(self, slug: str) -> ArticleView | None:
        """The live version (what the public and the IVR get), None when nothing is published."""
        async with self.sessionmaker() as session:
            row = await repo.maybe_by_slug(session, slug)
            if row is None or row.live_version is None:
                return None
            return ArticleView.of(await repo.version(session, row.id, row.live_version), row)

    async def spoken(self, slug: str) -> Spoken | None:
        view = await self.published(slug)
        if view is None:
            return None
        return Spoken(prompt_id=f"kb.{slug}.v{view.version}", text=view.spoken or view.body, version=view.version)

    async def history(self, slug: str) -> list[ArticleView]:
        async with self.sessionmaker() as session:
            row = await repo.by_slug(session, slug)
            return [ArticleView.of(v, row) for v in await repo.versions(session, row.id)]

    async def audit(self, slug: str) -> list[dict[str, Any]]:
        async with self.sessionmaker() as session:
            row = await repo.by_slug(session, slug)
            return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from": e.from_status,
                     "to": e.to_status, "version": e.version, "note": e.note}
                    for e in await repo.events(session, row.id)]  # fmt: skip

    async def list(self, *, department: str | None = None, status: Sequence[str] = (),
                   limit: int = 200, offset: int = 0) -> list[ArticleView]:
        bad = [s for s in status if s not in Status.__members__.values()]
        if bad:
            raise InvalidArticle(f"status: unknown {bad}", field="status")
        async with self.sessionmaker() as session:
            rows = await repo.listing(session, department=department, status=status, limit=limit, offset=offset)
            return [ArticleView.of(r) for r in rows]

    async def flagged(self) -> list[tuple[ArticleView, str]]:
        """Published articles that need attention: past their review date, or validity ending soon."""
        today = self.now().date()
        out = []
        async with self.sessionmaker() as session:
            for row in await repo.live(session):
                if row.review_due is not None and row.review_due <= today:
                    out.append((ArticleView.of(row), f"review due {row.review_due.isoformat()}"))
                elif row.valid_to is not None and row.valid_to <= today + EXPIRY_WARNING:
                    out.append((ArticleView.of(row), f"valid until {row.valid_to.isoformat()}"))
        return out

    async def search(self, query: str, *, limit: int = 3, department: str | None = None) -> list[SearchHit]:
        """Published, currently valid articles best first (homophones match through pinyin)."""
        query = (query or "").strip()[:200]
        if not query:
            return []
        today = self.now().date()
        hits: list[SearchHit] = []
        async with self.sessionmaker() as session:
            for article_id, score in await repo.match(session, search_tokens(query), limit=max(limit * 4, 20)):
                row = await session.get(Article, article_id)
                if row is None or row.live_version is None:
                    continue
                if department and row.department != department:
                    continue
                v = await repo.version(session, row.id, row.live_version)
                if (v.valid_from and v.valid_from > today) or (v.valid_to and v.valid_to < today):
                    continue
                hits.append(SearchHit(id=row.slug, title=v.title, department=v.department, category=v.category,
                                      snippet=_snippet(v.body), score=round(score, 4), version=v.version))
                if len(hits) >= limit:
                    break
        return hits

    # ------------------------------------------------------------------ import / export

    async def import_lines(self, lines: Iterable[str], *, actor: Actor, source: str = "<input>",
                           publish: bool = False) -> ImportReport:
        """Import JSON lines in one transaction: a bad line stores nothing. Existing ids get a new version
        when their content differs; lines marked published (or all, with `publish`) go live at once."""
        items = parse_jsonl(lines, source=source)
        if not actor.hotline:
            raise Forbidden("import: needs a supervisor or admin", field="role")
        report = ImportReport()
        now = self.now()
        async with self.sessionmaker() as session, session.begin():
            for item in items:
                go_live = publish or item.status == Status.PUBLISHED
                row = await repo.maybe_by_slug(session, item.id)
                if row is None:
                    row = await self._insert(session, item, actor=actor, now=now, action="import")
                    report.created.append(item.id)
                else:
                    current = {k: getattr(row, k) for k in CONTENT_FIELDS}
                    if current == item.content() and (not go_live or row.live_version == row.version):
                        report.unchanged.append(item.id)
                        continue
                    before = row.status
                    if current != item.content():
                        for k, v in item.content().items():
                            setattr(row, k, v)
                        row.version += 1
                        row.author = actor.label
                        self._snapshot(session, row, now)
                    row.status = Status.DRAFT.value
                    row.updated_at = now
                    repo.add_event(session, article=row, at=now, actor=actor.label, action="import",
                                   from_status=before, note=source)  # fmt: skip
                    report.updated.append(item.id)
                if go_live:
                    before = row.status
                    await self._publish(session, row, now)
                    repo.add_event(session, article=row, at=now, actor=actor.label, action="import_publish",
                                   from_status=before, note=source)  # fmt: skip
        log_event(log, "knowledge import", source=source, created=len(report.created), updated=len(report.updated),
                  unchanged=len(report.unchanged))  # fmt: skip
        return report

    async def import_file(self, path: Path, *, actor: Actor, publish: bool = False) -> ImportReport:
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArticle(f"{path}: cannot read ({exc})", field=str(path)) from exc
        return await self.import_lines(text.splitlines(), actor=actor, source=str(path), publish=publish)

    async def export_lines(self) -> list[str]:
        views = await self.list(limit=1_000_000)
        return [json.dumps(v.export_line(), ensure_ascii=False) for v in views]


__all__ = ["ArticleInput", "ArticleView", "ImportReport", "KnowledgeService", "NoSuchArticle", "SearchHit", "Spoken"]
