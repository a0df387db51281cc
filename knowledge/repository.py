"""The database edge of the knowledge package: the only module that writes SQL for articles.

The full-text index differs per dialect and is not an ORM table: SQLite's FTS5 `kb_fts` (rowid =
article id, ranked by bm25 with title > keywords > body) and PostgreSQL's `kb_search` tsvector
(weights A/B/D, ranked by ts_rank). Both hold the sound tokens of `infra.chinese.search_tokens`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.exceptions import NoSuchArticle
from knowledge.models import Article, ArticleEvent, ArticleVersion

# bm25 column weights (title, keywords, body): a hit in the title says more than one in the body.
BM25_WEIGHTS = (10.0, 6.0, 1.0)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def by_slug(session: AsyncSession, slug: str, *, lock: bool = False) -> Article:
    if lock:
        # Bump first: takes the row lock (PostgreSQL) / write lock (SQLite) for read-modify-write.
        await session.execute(
            update(Article).where(Article.slug == slug).values(updated_at=Article.updated_at)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    row = (await session.execute(select(Article).where(Article.slug == slug))).scalar_one_or_none()
    if row is None:
        raise NoSuchArticle(f"article {slug!r}: no such article", field="id")
    return row


async def maybe_by_slug(session: AsyncSession, slug: str) -> Article | None:
    return (await session.execute(select(Article).where(Article.slug == slug))).scalar_one_or_none()


async def version(session: AsyncSession, article_id: int, number: int) -> ArticleVersion:
    stmt = select(ArticleVersion).where(ArticleVersion.article_id == article_id, ArticleVersion.version == number)
    return (await session.execute(stmt)).scalar_one()


async def versions(session: AsyncSession, article_id: int) -> Sequence[ArticleVersion]:
    stmt = select(ArticleVersion).where(ArticleVersion.article_id == article_id).order_by(ArticleVersion.version)
    return (await session.execute(stmt)).scalars().all()


async def events(session: AsyncSession, article_id: int) -> Sequence[ArticleEvent]:
    stmt = select(ArticleEvent).where(ArticleEvent.article_id == article_id).order_by(ArticleEvent.id)
    return (await session.execute(stmt)).scalars().all()


def add_event(session: AsyncSession, *, article: Article, at: datetime, actor: str, action: str,
              from_status: str | None, note: str = "") -> None:
    session.add(ArticleEvent(article_id=article.id, at=at, actor=actor, action=action, from_status=from_status,
                             to_status=article.status, version=article.version, note=note))


async def listing(session: AsyncSession, *, department: str | None = None, status: Sequence[str] = (),
                  limit: int = 200, offset: int = 0) -> Sequence[Article]:
    stmt = select(Article).order_by(Article.department, Article.slug).limit(limit).offset(offset)
    if department:
        stmt = stmt.where(Article.department == department)
    if status:
        stmt = stmt.where(Article.status.in_(list(status)))
    return (await session.execute(stmt)).scalars().all()


async def live(session: AsyncSession, *, limit: int = 10_000) -> Sequence[Article]:
    stmt = select(Article).where(Article.live_version.is_not(None)).order_by(Article.slug).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count(Article.id)))).scalar_one()


# ---------------------------------------------------------------- full-text index


async def index(session: AsyncSession, article_id: int, *, title: str, keywords: str, body: str) -> None:
    """(Re)index one article's published text; arguments are space-separated sound tokens."""
    await unindex(session, article_id)
    if _dialect(session) == "sqlite":
        await session.execute(
            text("INSERT INTO kb_fts(rowid, title, keywords, body) VALUES (:id, :t, :k, :b)"),
            {"id": article_id, "t": title, "k": keywords, "b": body},
        )
    else:
        await session.execute(
            text(
                "INSERT INTO kb_search(article_id, doc) VALUES (:id, "
                "setweight(to_tsvector('simple', :t), 'A') || setweight(to_tsvector('simple', :k), 'B')"
                " || setweight(to_tsvector('simple', :b), 'D'))"
            ),
            {"id": article_id, "t": title, "k": keywords, "b": body},
        )


async def unindex(session: AsyncSession, article_id: int) -> None:
    if _dialect(session) == "sqlite":
        await session.execute(text("DELETE FROM kb_fts WHERE rowid = :id"), {"id": article_id})
    else:
        await session.execute(text("DELETE FROM kb_search WHERE article_id = :id"), {"id": article_id})


async def match(session: AsyncSession, tokens: Sequence[str], *, limit: int) -> list[tuple[int, float]]:
    """(article id, score) best first, score higher = better. Tokens are [a-z0-9]+ only."""
    if not tokens:
        return []
    unique = list(dict.fromkeys(t for t in tokens if t.isascii() and t.isalnum()))
    if not unique:
        return []
    if _dialect(session) == "sqlite":
        query = " OR ".join(f'"{t}"' for t in unique)
        w = ", ".join(str(x) for x in BM25_WEIGHTS)
        rows = await session.execute(
            text(f"SELECT rowid, bm25(kb_fts, {w}) AS s FROM kb_fts WHERE kb_fts MATCH :q ORDER BY s LIMIT :n"),
            {"q": query, "n": limit},
        )
        return [(int(r[0]), -float(r[1])) for r in rows]
    query = " | ".join(unique)
    rows = await session.execute(
        text(
            "SELECT article_id, ts_rank('{0.1, 0.2, 0.6, 1.0}', doc, q, 1) AS s "
            "FROM kb_search, to_tsquery('simple', :q) q WHERE doc @@ q ORDER BY s DESC LIMIT :n"
        ),
        {"q": query, "n": limit},
    )
    return [(int(r[0]), float(r[1])) for r in rows]
