"""Engine, sessions, the declarative Base and the unit of work.

A domain operation owns one transaction: `async with db.unit_of_work() as uow:`. Work that must only
happen once the transaction is durable (jobs: mail, waiting-list promotion) is registered with
`uow.after_commit(...)` and runs after COMMIT, never before and never on rollback.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.base import (
    AdvancedDeclarativeBase,
    CommonTableAttributes,
    UUIDv7AuditBase,
    orm_registry,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncAttrs,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# Every model shares advanced-alchemy's registry, whose metadata names constraints and indexes
# deterministically (pk_, fk_, uq_, ck_, ix_), so Alembic migrations are stable on both databases.
metadata = orm_registry.metadata


class Base(UUIDv7AuditBase):
    """id (UUIDv7), created_at, updated_at: ids are not guessable and sort by creation."""

    __abstract__ = True


class PlainBase(CommonTableAttributes, AdvancedDeclarativeBase, AsyncAttrs):
    """For tables that choose their own primary key (the ledger's deterministic transfer ids)."""

    __abstract__ = True


AfterCommit = Callable[[], Awaitable[None]]


class UnitOfWork:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._after_commit: list[AfterCommit] = []

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    async def _run_after_commit(self) -> None:
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                await callback()
            except Exception:  # a job that fails must not turn a committed operation into an error
                log.exception("after-commit callback failed")


def _words(text: str | None) -> str:
    """The words of `text`, lower-cased without accents, each between single spaces."""
    if not text:
        return " "
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " " + " ".join(_WORD.findall(folded)) + " "


_WORD = re.compile(r"[^\W_]+")


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine: Engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that BEGIN IMMEDIATE below is the only BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()
        # The catalog search's relevance on SQLite (catalog/search.py): whole words and prefixes.
        dbapi_connection.create_function("carnet_words", 1, _words, deterministic=True)

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # SQLite has no row locks: IMMEDIATE takes the write lock at BEGIN, so two writers queue
        # instead of both reading a seat count and one failing later on lock upgrade.
        readonly = conn.get_execution_options().get("carnet_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, poolclass=NullPool)
        _configure_sqlite(engine)
        return engine
    # No pre-ping: it costs every checkout a round trip (BEGIN; SELECT 1; ROLLBACK on asyncpg), on
    # every request. A connection is recycled after 5 min instead, so one the server dropped in
    # the meantime (a restart, an idle timeout) fails at most the requests that were using it.
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=False, pool_recycle=300
    )


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self._read_sessionmaker = async_sessionmaker(
            self.engine.execution_options(carnet_readonly=True), expire_on_commit=False
        )
        # Wall time of this process's last committed unit of work: a cached read computed before
        # it (catalog search) is not served again, so a process always reads its own writes.
        self.last_commit_at = 0.0

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self.sessionmaker() as session:
            uow = UnitOfWork(session)
            async with session.begin():
                yield uow
        self.last_commit_at = time.time()
        await uow._run_after_commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only; nothing is committed."""
        async with self._read_sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
