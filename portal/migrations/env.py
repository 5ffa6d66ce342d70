"""Alembic environment: async engine, every module's models, both databases.

Each module keeps its own branch of revisions (branch label = module name) in versions/, with
`depends_on` where its tables refer to another module's; `carnet db upgrade` goes to all heads.
New revision: `alembic revision --autogenerate --head <module>@head -m "…"`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import context
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import async_engine_from_config

from portal.app import import_models
from portal.db import metadata
from portal.settings import Settings

config = context.config
if not config.get_main_option("sqlalchemy.url"):
    config.set_main_option("sqlalchemy.url", Settings.from_env().database_url.replace("%", "%%"))

import_models()
target_metadata = metadata


def _compare_type(
    _ctx: Any, _inspected: Any, _column: Any, _inspected_type: Any, metadata_type: Any
) -> bool | None:
    # advanced-alchemy's GUID and DateTimeUTC are stored as BINARY(16) and DATETIME on SQLite, which
    # reflect as other types: they are what we asked for, not a difference.
    if isinstance(metadata_type, GUID | DateTimeUTC):
        return False
    return None  # Alembic's own comparison


# PostgreSQL-only objects a migration keeps and no model maps, because SQLite has no such type:
# the catalog's generated full-text vector and its GIN index (catalog_0006_search).
_UNMAPPED = {("column", "search_vector"), ("index", "ix_catalog_activities_search_vector")}


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
    return not (reflected and (type_, name) in _UNMAPPED)


def _configure(connection: Any = None, **kwargs: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=_compare_type,
        include_object=_include_object,
        render_as_batch=True,  # SQLite alters tables by copying them
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Any) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = async_engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # batch copies of tables
            await connection.commit()  # end the implicit transaction so Alembic's own is the outer one
        await connection.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
