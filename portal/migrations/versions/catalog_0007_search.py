"""catalog: full-text search (French stemming, accents folded) and the upcoming sessions' index

Revision ID: catalog_0006_search
Revises: catalog_0006_series
Create Date: 2026-12-02 19:30:00.000000

PostgreSQL: `catalog_activities.search_vector`, a generated tsvector (title weight A, description
B, the search text with the domain, theme, place and partner names C) with a GIN index, for the
public search's `q` and its relevance order. Accents are folded by `catalog_unaccent`, an
IMMUTABLE wrapper (a generated column may only call immutable functions; `unaccent` itself is
STABLE) over the `unaccent` extension, created here when the role may; without it the wrapper
folds the French accents with translate().

Both backends: a partial index on the scheduled sessions by (activity_id, starts_at); on
PostgreSQL it carries the seats, price and booking deadline, so the search's per-activity
aggregate is an index-only scan.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0006_search"
down_revision: str | Sequence[str] | None = "catalog_0006_series"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNACCENT = """
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS unaccent;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'unaccent unavailable (%), catalog_unaccent uses translate()', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent') THEN
        EXECUTE format(
            'CREATE OR REPLACE FUNCTION catalog_unaccent(text) RETURNS text '
            'LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE '
            'AS $f$ SELECT %1$I.unaccent(%2$L::regdictionary, $1) $f$',
            (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'unaccent'),
            (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'unaccent') || '.unaccent'
        );
    ELSE
        CREATE OR REPLACE FUNCTION catalog_unaccent(text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $f$ SELECT translate($1,
            'àâäáãåçéèêëíìîïñóòôöõúùûüýÿÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸ',
            'aaaaaaceeeeiiiinooooouuuuyyAAAAAACEEEEIIIINOOOOOUUUUYY') $f$;
    END IF;
END
$$
"""

_VECTOR = (
    "setweight(to_tsvector('french'::regconfig, catalog_unaccent(coalesce(title, ''))), 'A') || "
    "setweight(to_tsvector('french'::regconfig, catalog_unaccent(coalesce(description, ''))), 'B') || "
    "setweight(to_tsvector('french'::regconfig, coalesce(search_text, '')), 'C')"
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(_UNACCENT)
        op.execute(
            f"ALTER TABLE catalog_activities ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({_VECTOR}) STORED"
        )
        op.execute(
            "CREATE INDEX ix_catalog_activities_search_vector ON catalog_activities USING gin (search_vector)"
        )
    op.create_index(
        "ix_catalog_sessions_upcoming",
        "catalog_sessions",
        ["activity_id", "starts_at"],
        postgresql_include=["capacity", "taken", "booking_closes_at", "price_coupons"],
        postgresql_where=sa.text("status = 'scheduled'"),
        sqlite_where=sa.text("status = 'scheduled'"),
    )


def downgrade() -> None:
    op.drop_index("ix_catalog_sessions_upcoming", table_name="catalog_sessions")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_catalog_activities_search_vector")
        op.execute("ALTER TABLE catalog_activities DROP COLUMN IF EXISTS search_vector")
        op.execute("DROP FUNCTION IF EXISTS catalog_unaccent(text)")
