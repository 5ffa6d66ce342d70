"""The SQL pieces of the public search (catalog.services.search_activities): the words' match,
their relevance, and the per-activity aggregate over the sessions to come.

PostgreSQL: `q` is a full-text query on `catalog_activities.search_vector` (catalog_0006_search:
French stemming, accents folded by `catalog_unaccent`, title weight A, description B, the domain,
theme, place and partner names C; a GIN index), each word also matching as a prefix (« plong »
finds « plongée »); the relevance is ts_rank, whole words counted once more than prefixes.

SQLite (development, tests): each word is a substring of the accent-folded `search_text`, as
before; the relevance is a score: a whole word of the title 8, a prefix of a title word 4, a whole
word of the description 2, a prefix 1 (carnet_words, registered on each connection by portal.db,
gives the words of a text accent-folded between spaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, case, func, literal, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from catalog.models import Activity, ActivitySession, SessionStatus, normalize

MAX_WORDS = 8
_WORD = re.compile(r"[^\W_]+")
# ts_rank's weights for {D, C, B, A}: a title match far above a description one, the names least.
_RANK_WEIGHTS = "'{0.05, 0.1, 0.3, 1.0}'::float4[]"


def search_words(q: str | None) -> list[str]:
    """The words of `q`, accent-folded and lower-cased, letters and digits only (safe inside a
    tsquery and a LIKE pattern), at most MAX_WORDS."""
    if not q:
        return []
    return _WORD.findall(normalize(q))[:MAX_WORDS]


def like_words(q: str | None) -> list[str]:
    """SQLite's (and the stop-words-only fallback's) words: `q` split on spaces, folded."""
    return normalize(q).split()[:MAX_WORDS] if q else []


def like_conditions(q: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for word in like_words(q):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Activity.search_text.like(f"%{escaped}%", escape="\\"))
    return conditions


@dataclass(frozen=True)
class TextQuery:
    match: list[ColumnElement[bool]]
    relevance: ColumnElement[float] | None
    full_text: bool  # PostgreSQL's tsquery (its stop words may empty it)


def like_query(q: str | None) -> TextQuery:
    """Every word a substring of the search text, no relevance (PostgreSQL's stop-words-only case)."""
    return TextQuery(like_conditions(q), None, full_text=False)


def _tsquery(text: str) -> ColumnElement[Any]:
    return func.to_tsquery(literal_column("'french'::regconfig"), func.catalog_unaccent(text))


def pg_prefix_query(words: list[str]) -> ColumnElement[Any]:
    return _tsquery(" & ".join(f"{word}:*" for word in words))


def text_query(q: str | None, *, postgresql: bool) -> TextQuery | None:
    if not q:
        return None
    words = search_words(q)
    if not postgresql or not words:
        relevance = _sqlite_relevance(words) if words else None
        return TextQuery(like_conditions(q), relevance, full_text=False)
    vector: ColumnElement[Any] = literal_column("catalog_activities.search_vector")
    prefix = pg_prefix_query(words)
    exact = _tsquery(" | ".join(words))
    relevance = func.ts_rank(literal_column(_RANK_WEIGHTS), vector, exact, type_=Float) + func.ts_rank(
        literal_column(_RANK_WEIGHTS), vector, prefix, type_=Float
    )
    return TextQuery([vector.op("@@")(prefix)], relevance, full_text=True)


def _sqlite_relevance(words: list[str]) -> ColumnElement[float]:
    title = func.carnet_words(Activity.title)
    description = func.carnet_words(Activity.description)
    score: ColumnElement[Any] = literal(0)
    for word in words:
        score = score + case(
            (title.like(f"% {word} %"), 8),
            (title.like(f"% {word}%"), 4),
            (description.like(f"% {word} %"), 2),
            (description.like(f"% {word}%"), 1),
            else_=0,
        )
    return score


def upcoming_sessions(
    now: datetime, starts_from: datetime | None, starts_before: datetime | None, *, lateral: bool
) -> Any:
    """One row per activity over its scheduled sessions to come: the next one and the seats left
    in those still open for booking (both within the dates asked), and what a card shows (prices,
    first and last dates, count; all the sessions to come).

    PostgreSQL: a LATERAL subquery, one index-only range scan of ix_catalog_sessions_upcoming per
    activity the other filters kept. SQLite has no LATERAL: a grouped subquery, joined."""
    in_dates: list[ColumnElement[bool]] = []
    if starts_from is not None:
        in_dates.append(ActivitySession.starts_at >= starts_from)
    if starts_before is not None:
        in_dates.append(ActivitySession.starts_at < starts_before)
    next_at = func.min(ActivitySession.starts_at)
    seats = func.sum(ActivitySession.capacity - ActivitySession.taken)
    columns: list[Any] = [
        (next_at.filter(*in_dates) if in_dates else next_at).label("next_session_at"),
        func.coalesce(seats.filter(*in_dates, ActivitySession.booking_closes_at > now), 0).label(
            "seats_left"
        ),
        func.min(ActivitySession.price_coupons).label("min_price"),
        func.max(ActivitySession.price_coupons).label("max_price"),
        func.min(ActivitySession.starts_at).label("first_at"),
        func.max(ActivitySession.starts_at).label("last_at"),
        func.count().label("sessions"),
    ]
    upcoming = [ActivitySession.status == SessionStatus.SCHEDULED, ActivitySession.starts_at > now]
    if lateral:
        return (
            select(*columns)
            .where(ActivitySession.activity_id == Activity.id, *upcoming)
            .correlate(Activity)
            .lateral("upcoming")
        )
    return (
        select(ActivitySession.activity_id.label("activity_id"), *columns)
        .where(*upcoming)
        .group_by(ActivitySession.activity_id)
        .subquery("upcoming")
    )
