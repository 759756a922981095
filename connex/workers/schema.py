"""procrastinate's schema in the state database, beside Connex's Alembic tables.

procrastinate ships its schema as one SQL file plus numbered migration files and keeps no record of what was
applied. Connex applies it at every worker's and scheduler's start, idempotently:

* under the same transaction-scoped advisory lock as the Alembic migration (``MIGRATION_LOCK``), so workers
  started at once take turns and the schema is created once;
* a table comment on ``procrastinate_jobs`` records the last migration file included; a newer procrastinate
  applies the migration files after it, in order, and moves the comment on.

The two sets of tables do not meet: procrastinate's names all start with ``procrastinate_`` and Alembic's
``alembic_version`` only lists Connex's revisions (Connex's schema test compares only ``tables.py``'s tables).
"""

from __future__ import annotations

import logging
from importlib import resources

from sqlalchemy import text

from connex.state.database import MIGRATION_LOCK, Database, _signed

log = logging.getLogger(__name__)
MARKER_PREFIX = "connex: procrastinate schema up to "


def migration_names() -> list[str]:
    folder = resources.files("procrastinate.sql") / "migrations"
    return sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql"))


def _read(*parts: str) -> str:
    return (resources.files("procrastinate.sql").joinpath(*parts)).read_text(encoding="utf-8")


def apply_schema(db: Database) -> str:
    """Create or bring up to date procrastinate's tables in ``db`` (PostgreSQL); returns what was done."""
    names = migration_names()
    newest = names[-1]
    with db.write() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _signed(MIGRATION_LOCK)})
        exists = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None
        raw = conn.connection.driver_connection  # the psycopg connection: SQL files run as written, % and all
        if not exists:
            raw.execute(_read("schema.sql"))
            done = f"created (procrastinate schema up to {newest})"
        else:
            comment = conn.execute(text("SELECT obj_description('procrastinate_jobs'::regclass, 'pg_class')")).scalar()
            applied = comment[len(MARKER_PREFIX):] if comment and comment.startswith(MARKER_PREFIX) else None
            if applied is None:
                # created by hand (procrastinate's own `schema --apply`): taken as current, as procrastinate does
                log.warning("procrastinate's tables were created outside Connex; taken as up to %s", newest)
                pending = []
            else:
                pending = [name for name in names if name > applied]
            for name in pending:
                raw.execute(_read("migrations", name))
            done = f"migrated ({', '.join(pending)})" if pending else "up to date"
        raw.execute(f"COMMENT ON TABLE procrastinate_jobs IS '{MARKER_PREFIX}{newest}'")
    return done
