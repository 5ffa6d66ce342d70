"""Core statements run on asyncpg's own connection, for the few requests that arrive by the thousand.

SQLAlchemy's execution layer (an execution context, a cursor adapter, a result object and two
greenlet switches per statement, the ORM session around them) costs more Python than the round
trip it wraps: on the booking path it was a quarter of the server's CPU. `Compiled` keeps the
statement's SQLAlchemy definition — the one the SQLite path and the tests read — compiles it once
for asyncpg, and runs it on the pooled connection's driver, with every parameter through its
column type's bind processor and every result value through its result processor, as SQLAlchemy
does. `Database.driver_transaction` gives that connection inside one asyncpg transaction.

PostgreSQL only; SQLite keeps SQLAlchemy's path (it serializes writes anyway).
"""

from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg
    from sqlalchemy.engine import Dialect
    from sqlalchemy.sql import ClauseElement

    from portal.db import Database


class Compiled:
    """One Core statement, compiled for asyncpg on first use (the dialect is the engine's)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._dialect: Any = None  # the kind of dialect compiled for (see `_kind`)

    def prepare(self, dialect: Dialect) -> None:
        """Compile for `dialect` (done on first use; an app's start may do it ahead)."""
        compiled: Any = self.statement.compile(dialect=dialect)  # SQLCompiler: positiontup, processors
        if compiled.insert_prefetch or compiled.update_prefetch:
            # A column default computed in Python (onupdate=…) is SQLAlchemy's execution context's
            # work, which this path skips: such a statement must give the value itself.
            missing = [c.key for c in [*compiled.insert_prefetch, *compiled.update_prefetch]]
            raise ValueError(f"give these columns explicitly for the driver path: {missing}")
        self._compiled: Any = compiled
        self.sql = compiled.string
        processors = compiled._bind_processors
        self._names = list(compiled.positiontup or [])
        self._processors: list[Callable[[Any], Any] | None] = [processors.get(n) for n in self._names]
        columns = list(getattr(self.statement, "selected_columns", []))
        self._row = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
        self._results = [c.type._cached_result_processor(dialect, None) for c in columns]
        self._dialect = _kind(dialect)

    def arguments(self, dialect: Dialect, params: dict[str, Any]) -> list[Any]:
        if self._dialect != _kind(dialect):
            self.prepare(dialect)
        values = self._compiled.construct_params(params)
        return [
            value if process is None else process(value)
            for value, process in zip((values[n] for n in self._names), self._processors, strict=True)
        ]

    async def fetchrow(self, conn: DriverConnection, params: dict[str, Any]) -> Any:
        """The first row (a named tuple of the selected columns), or None."""
        record = await conn.driver.fetchrow(self.sql_for(conn), *self.arguments(conn.dialect, params))
        if record is None:
            return None
        return self._row(
            *(
                value if process is None else process(value)
                for value, process in zip(record, self._results, strict=True)
            )
        )

    async def execute(self, conn: DriverConnection, params: dict[str, Any]) -> int:
        """Run it; the number of rows it wrote (asyncpg's command status: "UPDATE 1", "INSERT 0 1")."""
        status = await conn.driver.execute(self.sql_for(conn), *self.arguments(conn.dialect, params))
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    def sql_for(self, conn: DriverConnection) -> str:
        if self._dialect != _kind(conn.dialect):
            self.prepare(conn.dialect)
        return self.sql


def _kind(dialect: Dialect) -> tuple[Any, ...]:
    # Every engine has its own dialect object, all alike (`portal.db.make_engine`): one compile
    # serves them all, as long as the server's version is the same.
    return (type(dialect), dialect.server_version_info)


class DriverConnection:
    """asyncpg's connection and the dialect its statements are compiled for."""

    def __init__(self, driver: asyncpg.Connection, dialect: Dialect) -> None:
        self.driver = driver
        self.dialect = dialect


@asynccontextmanager
async def driver_transaction(db: Database) -> AsyncIterator[DriverConnection]:
    """One pooled connection, one asyncpg transaction: committed when the block ends, rolled back
    if it raises. SQLAlchemy's own transaction is never begun on it, so the pool's reset on return
    has nothing to roll back."""
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection
        async with driver.transaction():
            yield DriverConnection(driver, db.engine.dialect)
    db.last_commit_at = time.time()
