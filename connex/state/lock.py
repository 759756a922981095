"""One run at a time per connection, held for the whole run.

Two processes posting for one connection would both read the same page and both post it (only QuickBooks'
request-id replay stands between that and a duplicate).

SQLite: an exclusive ``flock`` on ``<state>.lock`` (``<state>.<connection>.lock`` for a connection other than
"default"). The lock is advisory and released by the kernel when the process dies, so a killed run never leaves
it held. The file also says who holds it, for the message the second process prints.

PostgreSQL: a file lock means nothing when the workers run on several machines, so the lock is a PostgreSQL
session advisory lock keyed by the connection's name, held on a database session of its own for the whole run.
The server releases it when that session ends, and a killed worker's session ends with its socket (a lost
machine's after the TCP keepalives give up), so again a killed run never leaves it held.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

from connex.errors import ConfigError, ConnexError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking, as before
    fcntl = None

POLL_SECONDS = 0.1


class StateBusy(ConnexError):
    """Another process holds the state file's lock (exit code 3: the run could not complete)."""

    kind = "busy"


def lock_path(state_path: str | Path, connection: str = "default") -> Path:
    if connection == "default":
        return Path(f"{state_path}.lock")
    return Path(f"{state_path}.{_file_safe(connection)}.lock")


def _file_safe(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    if safe != name:  # two names that differ only in unsafe characters must not share a lock
        safe += "-" + hashlib.blake2b(name.encode(), digest_size=4).hexdigest()
    return safe


class StateLock:
    def __init__(self, state_path: str | Path, *, connection: str = "default"):
        self.state_path = str(state_path)
        self.connection = connection
        self.path = lock_path(state_path, connection)
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> StateLock:
        """Take the lock, waiting up to ``wait`` seconds; ``StateBusy`` naming the holder after that."""
        if fcntl is None or self.state_path == ":memory:":
            return self
        try:
            fd = _open(self.path)
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot create the state file's lock ({exc.strerror or exc}); Connex "
                              "must be able to write in the state file's folder") from None
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise StateBusy(busy_message(self.state_path, holder, wait, self.connection)) from None
                time.sleep(POLL_SECONDS)
        self._fd = fd
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv[1:])[:200],
                                  "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}).encode(), 0)
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> StateLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def holder(state_path: str | Path, *, connection: str = "default") -> dict | None:
    """Who holds the lock now (``{}`` when unknown), or None when nobody does; never creates the lock file."""
    path = lock_path(state_path, connection)
    if fcntl is None or not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(fd)
    except OSError:
        return None
    finally:
        os.close(fd)  # also drops the shared lock if it was taken
    return None


def busy_message(state_path: str, who: dict, wait: float, connection: str = "default") -> str:
    described = f"pid {who['pid']}" if who.get("pid") else "another process"
    if who.get("command"):
        described += f", `connex {who['command']}`"
    if who.get("since"):
        described += f", since {who['since']}"
    if who.get("host"):
        described += f" on {who['host']}"
    waited = f" (waited {wait:g}s)" if wait else ""
    if connection != "default" or "://" in state_path:
        return (f"{state_path}: another Connex run is syncing connection {connection!r} ({described}){waited}; two "
                f"runs of one connection could post the same documents twice. Wait for it to finish, or use --wait "
                f"SECONDS")
    return (f"{state_path}: another Connex run is using this state file ({described}){waited}; two runs on one "
            f"state file could post the same documents twice. Wait for it to finish, or use --wait SECONDS")


def _open(path: Path) -> int:
    old = os.umask(0o077)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    finally:
        os.umask(old)


def _read_holder(fd: int) -> dict:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --- PostgreSQL ----------------------------------------------------------------------------------------------
def advisory_key(connection: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from the connection's name (a collision of two names
    would only make one wait for the other, never let two runs of one connection overlap)."""
    digest = hashlib.blake2b(f"connex-run:{connection}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresRunLock:
    """The connection's advisory lock, on a session of its own taken from the store's engine for the run."""

    def __init__(self, database, connection: str):
        self.database = database
        self.connection = connection
        self.key = advisory_key(connection)
        self._conn = None

    def acquire(self, wait: float = 0.0) -> PostgresRunLock:
        from sqlalchemy import text

        with self.database.guard():
            conn = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                # what the second run's message shows (pg_stat_activity.application_name, at most 63 bytes)
                conn.execute(text("SELECT set_config('application_name', :name, false)"),
                             {"name": f"connex run pid={os.getpid()} {' '.join(sys.argv[1:2])}"[:63]})
                deadline = time.monotonic() + max(wait, 0.0)
                while not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar():
                    if time.monotonic() >= deadline:
                        who = self.holder(conn) or {}
                        raise StateBusy(busy_message(self.database.label, who, wait, self.connection))
                    time.sleep(POLL_SECONDS)
            except BaseException:
                conn.invalidate()  # never hand a session that may hold the lock back to the pool
                conn.close()
                raise
        self._conn = conn
        return self

    def release(self) -> None:
        from sqlalchemy import text

        if self._conn is not None:
            conn, self._conn = self._conn, None
            # at once: a closed session's backend ends (and drops its locks) only a moment after the socket
            # closes, and a run started right after this one would find the lock still held; if the unlock
            # cannot be sent, closing the session below releases it anyway
            with contextlib.suppress(Exception):
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            conn.invalidate()
            conn.close()

    def holder(self, conn=None) -> dict | None:
        from sqlalchemy import text

        query = text(
            "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = :high AND l.objid = :low AND l.objsubid = 1 LIMIT 1")
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        params = {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF}
        if conn is None:
            with self.database.read() as own:
                row = own.execute(query, params).first()
        else:
            row = conn.execute(query, params).first()
        if row is None:
            return None
        name, address, since = row
        match = re.search(r"pid=(\d+)", name or "")
        who: dict = {"pid": int(match.group(1))} if match else {}
        if address:
            who["host"] = str(address)
        if since:
            who["since"] = since.isoformat(timespec="seconds")
        return who

    def __enter__(self) -> PostgresRunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
