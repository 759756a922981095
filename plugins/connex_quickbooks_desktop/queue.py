"""The durable request queue: what the Web Connector still has to do, on SQLite.

One row per *job*: a document to post, a list record a document needs (customer, vendor, item), or the
inventory read. A job moves through stages (a document: ``check`` -> ``deps`` -> [``link``] -> ``add``); a
stage emits one or more qbXML requests. Requests handed to the Web Connector are recorded in ``qbd_inflight``
in the same transaction that builds them, and a job only moves on in the transaction that stores the answer.
So a session that dies midway leaves every job where it was, and the next session knows exactly which requests
never got an answer (see ``Workflow.resume``).

The tables live in the connector's state database (``queue_db``) next to the engine's own tables, prefixed
``qbd_``. Transactions are short and ``BEGIN IMMEDIATE``, so the engine and the Web Connector endpoint
(threads or separate processes) can share the file; WAL mode lets readers run while a session writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS qbd_jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    stage TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '{}',
    outcome TEXT,
    target_id TEXT,
    error TEXT,
    code TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    collected INTEGER NOT NULL DEFAULT 1,
    doc_kind TEXT,
    doc_number TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS qbd_jobs_status ON qbd_jobs(status, seq);
CREATE INDEX IF NOT EXISTS qbd_jobs_number ON qbd_jobs(doc_kind, doc_number);
CREATE TABLE IF NOT EXISTS qbd_inflight (
    request_id TEXT NOT NULL,
    job_key TEXT NOT NULL,
    stage TEXT NOT NULL,
    part TEXT NOT NULL,
    ticket TEXT NOT NULL,
    sent REAL NOT NULL,
    PRIMARY KEY (request_id, job_key, part)
);
CREATE TABLE IF NOT EXISTS qbd_inventory (
    snapshot TEXT NOT NULL,
    name TEXT NOT NULL,
    list_id TEXT,
    quantity TEXT NOT NULL,
    PRIMARY KEY (snapshot, name)
);
CREATE TABLE IF NOT EXISTS qbd_catalogue (
    snapshot TEXT NOT NULL,
    full_name TEXT NOT NULL,
    part_number TEXT NOT NULL,
    list_id TEXT,
    PRIMARY KEY (snapshot, full_name)
);
CREATE INDEX IF NOT EXISTS qbd_catalogue_part ON qbd_catalogue(snapshot, part_number);
CREATE TABLE IF NOT EXISTS qbd_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

FINAL = ("done", "failed")


@dataclass
class Job:
    key: str
    kind: str  # customer | vendor | item | document | inventory
    payload: str
    stage: str
    status: str = "pending"
    context: dict = field(default_factory=dict)
    outcome: str | None = None
    target_id: str | None = None
    error: str | None = None
    code: str | None = None
    attempts: int = 0
    doc_kind: str | None = None
    doc_number: str | None = None
    seq: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return cls(
            key=row["key"],
            kind=row["kind"],
            payload=row["payload"],
            stage=row["stage"],
            status=row["status"],
            context=json.loads(row["context"]),
            outcome=row["outcome"],
            target_id=row["target_id"],
            error=row["error"],
            code=row["code"],
            attempts=row["attempts"],
            doc_kind=row["doc_kind"],
            doc_number=row["doc_number"],
            seq=row["seq"],
        )


@dataclass(frozen=True)
class Inflight:
    request_id: str
    job_key: str
    stage: str
    part: str
    ticket: str


class RequestQueue:
    """Storage only: the Web Connector workflow decides what the stages mean."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        # Opening a WAL database costs milliseconds (the -shm mapping); the endpoint serves each HTTP request
        # on a new thread, so connections are pooled rather than kept per thread.
        self._pool: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        # WAL + NORMAL: a commit survives a crash of Connex; a power cut can only lose the latest commits,
        # which resume() covers anyway (every unacknowledged Add is re-checked before it is sent again).
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            conn = self._pool.pop() if self._pool else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        except BaseException:
            conn.close()  # state unknown: do not hand it out again
            raise
        with self._pool_lock:
            if len(self._pool) < 4:
                self._pool.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, []
        for conn in pool:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work (BEGIN IMMEDIATE so two writers never deadlock on an upgrade)."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # --- jobs ----------------------------------------------------------------------------------------------
    def enqueue(self, job: Job, *, retry_failed: bool = False, refresh: bool = False) -> tuple[Job, bool]:
        """Add ``job`` unless its key is already queued; return the stored job and whether it was (re)queued.
        With ``retry_failed`` a job that failed before is reset with the new payload (the user fixed the cause
        and the engine posts the document again); a pending or done job is never touched, which is what makes
        enqueueing idempotent by key. ``refresh`` also restarts a done job (the inventory read)."""
        now = time.time()
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM qbd_jobs WHERE key = ?", (job.key,)).fetchone()
            if row is not None:
                existing = Job.from_row(row)
                restart = (retry_failed and existing.status == "failed") or (
                    refresh and existing.status in FINAL
                )
                if not restart:
                    return existing, False
                conn.execute(
                    "UPDATE qbd_jobs SET payload=?, status='pending', stage=?, context=?, outcome=NULL, "
                    "target_id=NULL, error=NULL, code=NULL, attempts=0, collected=1, updated=?, "
                    "doc_number=COALESCE(?, doc_number) WHERE key=?",
                    (job.payload, job.stage, json.dumps(job.context), now, job.doc_number, job.key),
                )
                return self._get(conn, job.key), True
            conn.execute(
                "INSERT INTO qbd_jobs (key, kind, payload, status, stage, context, doc_kind, doc_number, "
                "created, "
                "updated) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                (
                    job.key,
                    job.kind,
                    job.payload,
                    job.stage,
                    json.dumps(job.context),
                    job.doc_kind,
                    job.doc_number,
                    now,
                    now,
                ),
            )
            return self._get(conn, job.key), True

    def retire(self, key: str, suffix: str) -> None:
        """Keep a finished job under another key, so the key can be queued anew (the payment of an invoice that
        was voided and reposted is a new payment)."""
        with self.transaction() as conn:
            conn.execute("UPDATE qbd_jobs SET key = key || ? WHERE key = ? AND status != 'pending'",
                         (suffix, key))

    @staticmethod
    def _get(conn: sqlite3.Connection, key: str) -> Job | None:
        row = conn.execute("SELECT * FROM qbd_jobs WHERE key = ?", (key,)).fetchone()
        return Job.from_row(row) if row else None

    def get(self, key: str) -> Job | None:
        with self._connect() as conn:
            return self._get(conn, key)

    def get_many(self, keys: list[str]) -> dict[str, Job]:
        if not keys:
            return {}
        with self._connect() as conn:
            marks = ",".join("?" * len(keys))
            rows = conn.execute(f"SELECT * FROM qbd_jobs WHERE key IN ({marks})", keys).fetchall()
        return {row["key"]: Job.from_row(row) for row in rows}

    def pending(self) -> list[Job]:
        """Unfinished jobs, oldest first: the order the engine enqueued them in."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM qbd_jobs WHERE status = 'pending' ORDER BY seq").fetchall()
        return [Job.from_row(r) for r in rows]

    def has_pending(self) -> bool:
        with self._connect() as conn:
            return (
                conn.execute("SELECT 1 FROM qbd_jobs WHERE status = 'pending' LIMIT 1").fetchone() is not None
            )

    def find_document(self, doc_kind: str, doc_number: str) -> Job | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM qbd_jobs WHERE kind = 'document' AND doc_kind = ? AND doc_number = ? "
                "ORDER BY seq DESC LIMIT 1",
                (doc_kind, doc_number),
            ).fetchone()
        return Job.from_row(row) if row else None

    @staticmethod
    def save(conn: sqlite3.Connection, job: Job) -> None:
        """Persist a job's progress inside the caller's transaction. A document reaching a final state is
        marked uncollected so ``collect_results`` hands its outcome to the engine exactly once."""
        uncollected = job.kind == "document" and job.status in FINAL
        conn.execute(
            "UPDATE qbd_jobs SET status=?, stage=?, context=?, outcome=?, target_id=?, error=?, code=?, "
            "attempts=?, collected=CASE WHEN ? THEN 0 ELSE collected END, updated=? WHERE key=?",
            (
                job.status,
                job.stage,
                json.dumps(job.context),
                job.outcome,
                job.target_id,
                job.error,
                job.code,
                job.attempts,
                uncollected,
                time.time(),
                job.key,
            ),
        )

    def collect(self) -> list[Job]:
        """Finished documents whose outcome has not been handed out yet; marks them handed out."""
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM qbd_jobs WHERE collected = 0 AND status IN ('done', 'failed') ORDER BY seq"
            ).fetchall()
            conn.execute(
                "UPDATE qbd_jobs SET collected = 1 WHERE collected = 0 AND status IN ('done', 'failed')"
            )
        return [Job.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._connect() as conn:
            rows = conn.execute("SELECT kind || ':' || status AS k, COUNT(*) AS n FROM qbd_jobs GROUP BY k")
            return {row["k"]: row["n"] for row in rows}

    # --- in-flight requests ---------------------------------------------------------------------------------
    @staticmethod
    def add_inflight(conn: sqlite3.Connection, request: Inflight) -> None:
        conn.execute(
            "INSERT INTO qbd_inflight (request_id, job_key, stage, part, ticket, sent) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (request.request_id, request.job_key, request.stage, request.part, request.ticket, time.time()),
        )

    @staticmethod
    def inflight(conn: sqlite3.Connection, ticket: str | None = None) -> list[Inflight]:
        sql = "SELECT * FROM qbd_inflight" + (" WHERE ticket = ?" if ticket else "") + " ORDER BY sent"
        rows = conn.execute(sql, (ticket,) if ticket else ()).fetchall()
        return [Inflight(r["request_id"], r["job_key"], r["stage"], r["part"], r["ticket"]) for r in rows]

    @staticmethod
    def drop_inflight(conn: sqlite3.Connection, request_ids: list[str]) -> None:
        conn.executemany("DELETE FROM qbd_inflight WHERE request_id = ?", [(r,) for r in request_ids])

    def inflight_count(self) -> int:
        with self._connect() as conn:
            return conn.execute("SELECT COUNT(*) FROM qbd_inflight").fetchone()[0]

    # --- inventory snapshots --------------------------------------------------------------------------------
    @staticmethod
    def stage_inventory(conn: sqlite3.Connection, rows: list[tuple[str, str | None, str]]) -> None:
        """Rows of an iterator page go to the ``staging`` snapshot until the iterator is exhausted."""
        conn.executemany(
            "INSERT OR REPLACE INTO qbd_inventory (snapshot, name, list_id, quantity) "
            "VALUES ('staging', ?, ?, ?)",
            rows,
        )

    @staticmethod
    def clear_staging(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM qbd_inventory WHERE snapshot = 'staging'")
        conn.execute("DELETE FROM qbd_catalogue WHERE snapshot = 'staging'")

    # --- the item catalogue (item_matching sku / sku_then_name) ---------------------------------------------
    @staticmethod
    def stage_catalogue(conn: sqlite3.Connection, rows: list[tuple[str, str, str | None]]) -> None:
        """(full name, part number casefolded, ListID) of an ItemQuery page, staged until the iterator ends."""
        conn.executemany("INSERT OR REPLACE INTO qbd_catalogue (snapshot, full_name, part_number, list_id) "
                         "VALUES ('staging', ?, ?, ?)", rows)

    @staticmethod
    def publish_catalogue(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM qbd_catalogue WHERE snapshot = 'latest'")
        conn.execute("UPDATE qbd_catalogue SET snapshot = 'latest' WHERE snapshot = 'staging'")

    @staticmethod
    def by_part_number(conn: sqlite3.Connection, sku: str) -> list[tuple[str, str | None]]:
        """(full name, ListID) of every item whose Manufacturer's Part Number is ``sku`` (any case)."""
        rows = conn.execute("SELECT full_name, list_id FROM qbd_catalogue WHERE snapshot = 'latest' AND "
                            "part_number = ? ORDER BY full_name", (sku.casefold(),)).fetchall()
        return [(r["full_name"], r["list_id"]) for r in rows]

    @staticmethod
    def publish_inventory(conn: sqlite3.Connection) -> None:
        """Swap the complete staging snapshot in: readers never see half an iterator."""
        conn.execute("DELETE FROM qbd_inventory WHERE snapshot = 'latest'")
        conn.execute("UPDATE qbd_inventory SET snapshot = 'latest' WHERE snapshot = 'staging'")
        conn.execute(
            "INSERT OR REPLACE INTO qbd_meta (key, value) VALUES ('inventory_snapshot_at', ?)",
            (str(time.time()),),
        )

    def inventory(self) -> list[tuple[str, str | None, str]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT name, list_id, quantity FROM qbd_inventory WHERE snapshot = 'latest' ORDER BY name"
            ).fetchall()
        return [(r["name"], r["list_id"], r["quantity"]) for r in rows]

    # --- small settings learned from sessions ---------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM qbd_meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO qbd_meta (key, value) VALUES (?, ?)", (key, value))
