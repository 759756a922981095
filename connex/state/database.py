"""Opening the state database: one SQLAlchemy engine per target (shared by every connection's store in a
process), the SQLite settings Connex relies on, migrations at open, and errors as messages naming the target.

SQLite: WAL, a busy timeout, ``synchronous=NORMAL`` (durable across process crashes in WAL mode), and writes in
``BEGIN IMMEDIATE`` transactions so a writer waits for the lock up front instead of failing mid-transaction; the
file and its side files are private (0600). PostgreSQL: psycopg 3; reads run in autocommit (no BEGIN/ROLLBACK
round trips), writes in one short transaction each.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import stat
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from connex.errors import ConfigError, ConnexError
from connex.state.lock import StateBusy
from connex.state.target import DatabaseURL, StateTarget

#: the state file holds OAuth tokens and order data: owner read/write only, and so are its -wal and -shm
FILE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")
MIGRATIONS = Path(__file__).parent / "migrations"
#: one advisory lock key for "migrating the schema" (the other keys are per connection, see lock.py)
MIGRATION_LOCK = 0x436F6E6E65780001


def is_database_error(exc: BaseException) -> bool:
    """What a database can raise past SQLAlchemy's wrapping: a hook during connect (sqlite3), Alembic's own
    errors, a driver's (by module, so neither is imported just to be caught)."""
    if isinstance(exc, (SQLAlchemyError, OSError, sqlite3.Error)):
        return True
    return type(exc).__module__.split(".")[0] in ("alembic", "psycopg")





class Database:
    """An engine and what Connex needs to know about it. ``label`` names it in messages (never a password)."""

    def __init__(self, target: StateTarget, *, busy_timeout: float = 30.0):
        self.target = target
        self.busy_timeout = busy_timeout
        self.is_sqlite = not isinstance(target, DatabaseURL)
        self.label = str(target)
        self.secrets = [target.password] if isinstance(target, DatabaseURL) and target.password else []
        self.users = 0
        self.engine = self._sqlite_engine() if self.is_sqlite else self._postgres_engine()

    # --- engines -------------------------------------------------------------------------------------------
    def _sqlite_engine(self) -> Engine:
        _prepare_path(Path(self.target))
        engine = create_engine(f"sqlite:///{self.target}",
                               connect_args={"timeout": self.busy_timeout, "check_same_thread": False})
        timeout_ms = int(self.busy_timeout * 1000)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            # transactions are Connex's own (the "begin" hook below), not the sqlite3 module's implicit ones
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("connex_write") else "BEGIN")

        return engine

    def _postgres_engine(self) -> Engine:
        # keepalives: a worker on a lost machine must not hold its connection's advisory lock for hours
        return create_engine(self.target.url, pool_size=5, max_overflow=10, pool_recycle=1800,
                             connect_args={"application_name": "connex", "keepalives": 1, "keepalives_idle": 30,
                                           "keepalives_interval": 10, "keepalives_count": 3,
                                           "connect_timeout": int(max(self.busy_timeout, 1))})

    # --- transactions --------------------------------------------------------------------------------------
    @contextmanager
    def read(self):
        with self.guard(), self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @contextmanager
    def write(self):
        with self.guard(), self.engine.connect() as conn:
            conn = conn.execution_options(connex_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def guard(self):
        try:
            yield
        except Exception as exc:
            if not is_database_error(exc):
                raise
            raise self.error(exc) from None

    def error(self, exc: BaseException) -> ConnexError:
        error = state_error(self.label, exc, sqlite=self.is_sqlite)
        for secret in self.secrets:
            error.args = tuple(str(a).replace(secret, "***") for a in error.args)
        return error

    # --- opening -------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Bring the schema to the newest revision (an old SQLite file in place), then make the file private."""
        old_umask = os.umask(0o077)  # the file, and the -wal/-shm SQLite makes beside it, are born private
        try:
            with self.guard():
                if current_revision(self) != head_revision():
                    with self.write() as conn:
                        upgrade(conn)
        finally:
            os.umask(old_umask)
        if self.is_sqlite:
            _protect(str(self.target))

    def dispose(self) -> None:
        self.engine.dispose()


# --- migrations (Alembic, run programmatically) ------------------------------------------------------------
def _alembic_config(conn: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


@functools.cache
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection) -> None:
    """Inside the caller's write transaction: all or nothing, and two processes opening the same new database
    take turns (SQLite's write lock; an advisory lock on PostgreSQL)."""
    from alembic import command

    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _signed(MIGRATION_LOCK)})
    tables = set(inspect(conn).get_table_names())
    config = _alembic_config(conn)
    if "alembic_version" not in tables and "ledger" in tables:
        # a SQLite file from before Alembic (PRAGMA user_version 1): it has revision 0001's tables already
        if "exchange_rates" not in tables:
            conn.exec_driver_sql(
                "CREATE TABLE exchange_rates (scope TEXT NOT NULL, currency TEXT NOT NULL, day TEXT NOT NULL, "
                "rate TEXT NOT NULL, origin TEXT NOT NULL, fetched_at TEXT NOT NULL, "
                "PRIMARY KEY (scope, currency, day))")
        command.stamp(config, "0001")
    command.upgrade(config, "head")


def _signed(key: int) -> int:
    return key - (1 << 64) if key >= 1 << 63 else key


# --- SQLite files ------------------------------------------------------------------------------------------
def _prepare_path(path: Path) -> None:
    if str(path) == ":memory:":
        return
    if path.is_dir():
        raise ConfigError(f"{path}: the state path is a folder; set state: to a file such as {path / 'connex.db'}")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path}: the state path is not a regular file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the state file's folder {path.parent} "
                          f"({exc.strerror or exc})") from None


def _protect(path: str) -> None:
    """0600 on the file and its side files; older versions created them with the default umask."""
    if path == ":memory:":
        return
    for suffix in ("", *SIDE_FILES):
        file = Path(path + suffix)
        try:
            info = file.stat()
        except FileNotFoundError:
            continue
        if stat.S_IMODE(info.st_mode) != FILE_MODE and info.st_uid == os.geteuid():
            file.chmod(FILE_MODE)


# --- errors ------------------------------------------------------------------------------------------------
def state_error(label: str, exc: BaseException, *, sqlite: bool = True) -> ConnexError:
    """A database or OS error as a message naming the state file or (password-free) URL and what to do; never a
    traceback. A setting the user must fix is a ``ConfigError`` (exit 2); a busy, full or unreachable database
    stops the run (exit 3)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text_ = (str(cause) or type(cause).__name__).strip().splitlines()[0] if str(cause).strip() else \
        type(cause).__name__
    low = str(cause).lower()
    if _is_newer_revision(exc):
        return ConfigError(f"{label}: the state database was written by a newer Connex ({text_}); upgrade Connex "
                           "to use it")
    if "locked" in low or "busy" in low:
        return StateBusy(f"{label}: the state database is locked by another process ({text_}); wait for it to "
                         "finish and run again")
    if "full" in low and sqlite:
        return ConnexError(f"{label}: the state database cannot grow, the disk is full ({text_}); free some space "
                           "and run again: the run resumes from its last checkpoint")
    if "readonly" in low or "read-only" in low:
        return ConfigError(f"{label}: the state database is read-only ({text_}); Connex must be able to write the "
                           "file and its folder" if sqlite else f"{label}: the state database is read-only ({text_})")
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return ConfigError(f"{label}: not a usable Connex state database ({text_}); restore it from a backup, or "
                           "move it aside to start a new one (which re-reads from sync.from_date)")
    if not sqlite:
        if any(word in low for word in ("authentication failed", "does not exist", "no password supplied",
                                         "permission denied", "no pg_hba.conf entry")):
            return ConfigError(f"{label}: the PostgreSQL state database refused Connex ({text_}); check the "
                               "user, password and database name in state:")
        if isinstance(cause, OSError) or "connection" in low or "server" in low or "timeout" in low:
            return ConnexError(f"{label}: cannot reach the PostgreSQL state database ({text_}); the run resumes "
                               "from its last checkpoint once it is back")
    if isinstance(cause, PermissionError) or "unable to open" in low or "permission" in low:
        return ConfigError(f"{label}: cannot open the state database ({text_}); check that its folder exists and "
                           "that Connex may read and write there")
    return ConnexError(f"{label}: state database error: {text_}")


def _is_newer_revision(exc: BaseException) -> bool:
    return type(exc).__name__ in ("CommandError", "ResolutionError") and "revision" in str(exc).lower()


# --- one engine per target in a process --------------------------------------------------------------------
_open: dict[tuple, Database] = {}
_open_lock = threading.Lock()


def acquire(target: StateTarget, busy_timeout: float) -> Database:
    """The process's ``Database`` for ``target`` (opened and migrated the first time): every connection's store
    shares its engine, so 50 connections on one PostgreSQL use one pool, not 50."""
    key = (str(target) if not isinstance(target, DatabaseURL) else target.url.render_as_string(False), busy_timeout)
    with _open_lock:
        db = _open.get(key)
        if db is None:
            db = Database(target, busy_timeout=busy_timeout)
            try:
                db.open()
            except BaseException:
                db.dispose()
                raise
            _open[key] = db
        db.users += 1
        return db


def release(db: Database) -> None:
    with _open_lock:
        db.users -= 1
        if db.users <= 0:
            for key, value in list(_open.items()):
                if value is db:
                    del _open[key]
            db.dispose()
