"""The durable request queue: what the Web Connector still has to do, in the state store.

One row per *job*: a document to post, a list record a document needs (customer, vendor, item), or the
inventory read. A job moves through stages (a document: ``check`` -> ``deps`` -> [``link``] -> ``add``); a
stage emits one or more qbXML requests. Requests handed to the Web Connector are recorded in flight in the same
transaction that builds them, and a job only moves on in the transaction that stores the answer. So a session
that dies midway leaves every job where it was, and the next session knows exactly which requests never got an
answer (see ``Workflow.resume``).

The rows live in the state store's queue tables (``connex.state.tables``: ``queue_jobs``, ``queue_requests``,
``queue_lists``, ``queue_meta``), keyed by the connection, on SQLite or PostgreSQL: the engine (through the
connector it is given the store with) and the Web Connector endpoint (any process, any machine behind a load
balancer) share them. Transactions are short. Two endpoint processes never hand one job to two sessions: the
scan that builds a message set claims its rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer
at a time, ``BEGIN IMMEDIATE``), and answers are taken with ``DELETE ... RETURNING``, so a response is applied
by one process only.

A queue kept by an older Connex in a file of its own (``queue_db``) is imported into the store on first open
(``import_legacy_file``); one kept inside the state file moves with migration 0006.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connex.state import tables

log = logging.getLogger(__name__)

FINAL = ("done", "failed")
J, R, L, M = tables.queue_jobs, tables.queue_requests, tables.queue_lists, tables.queue_meta


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


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
    def from_row(cls, row: Any) -> Job:
        row = row._mapping if hasattr(row, "_mapping") else row
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
    """Storage only: the Web Connector workflow decides what the stages mean. ``store`` is the connection's state
    store (what the connector was given): its ``database`` and ``connection``."""

    def __init__(self, store: Any, *, owned: bool = False):
        self.store = store
        self.connection: str = store.connection
        self.database = store.database
        self._owned = owned
        self.postgres = self.database.engine.dialect.name == "postgresql"
        self._insert = postgresql.insert if self.postgres else sqlite.insert

    @classmethod
    def open(cls, path: str | Path, connection: str = "default") -> RequestQueue:
        """A queue on its own SQLite file (the endpoint or the connector used without a state store)."""
        from connex.state import open_state

        return cls(open_state(path, connection=connection), owned=True)

    def close(self) -> None:
        if self._owned:
            self.store.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One atomic unit of work (on SQLite ``BEGIN IMMEDIATE``, so two writers never deadlock on an upgrade)."""
        with self.database.write() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Any]:
        with self.database.read() as conn:
            yield conn

    def _mine(self, table):
        return table.c.connection == self.connection

    # --- jobs ----------------------------------------------------------------------------------------------
    def enqueue(self, job: Job, *, retry_failed: bool = False, refresh: bool = False) -> tuple[Job, bool]:
        """Add ``job`` unless its key is already queued; return the stored job and whether it was (re)queued.
        With ``retry_failed`` a job that failed before is reset with the new payload (the user fixed the cause
        and the engine posts the document again); a pending or done job is never touched, which is what makes
        enqueueing idempotent by key. ``refresh`` also restarts a done job (the inventory read)."""
        now = _now()
        with self.transaction() as conn:
            existing = self.get_in(conn, job.key)
            if existing is not None:
                restart = (retry_failed and existing.status == "failed") or (
                    refresh and existing.status in FINAL
                )
                if not restart:
                    return existing, False
                conn.execute(update(J).where(self._mine(J), J.c.key == job.key).values(
                    payload=job.payload, status="pending", stage=job.stage, context=json.dumps(job.context),
                    outcome=None, target_id=None, error=None, code=None, attempts=0, collected=1, updated=now,
                    doc_number=func.coalesce(job.doc_number, J.c.doc_number)))
                return self.get_in(conn, job.key), True
            conn.execute(self._insert(J).values(
                connection=self.connection, key=job.key, kind=job.kind, payload=job.payload, status="pending",
                stage=job.stage, context=json.dumps(job.context), doc_kind=job.doc_kind, doc_number=job.doc_number,
                created=now, updated=now).on_conflict_do_nothing(index_elements=[J.c.connection, J.c.key]))
            return self.get_in(conn, job.key), True

    def retire(self, key: str, suffix: str) -> None:
        """Keep a finished job under another key, so the key can be queued anew (the payment of an invoice that
        was voided and reposted is a new payment)."""
        with self.transaction() as conn:
            conn.execute(update(J).where(self._mine(J), J.c.key == key, J.c.status != "pending")
                         .values(key=J.c.key + suffix))

    def get_in(self, conn, key: str) -> Job | None:
        row = conn.execute(select(J).where(self._mine(J), J.c.key == key)).first()
        return Job.from_row(row) if row else None

    def get(self, key: str) -> Job | None:
        with self._read() as conn:
            return self.get_in(conn, key)

    def get_many_in(self, conn, keys: list[str]) -> list[Job]:
        if not keys:
            return []
        rows = conn.execute(select(J).where(self._mine(J), J.c.key.in_(keys)).order_by(J.c.seq))
        return [Job.from_row(r) for r in rows]

    def get_many(self, keys: list[str]) -> dict[str, Job]:
        with self._read() as conn:
            return {job.key: job for job in self.get_many_in(conn, keys)}

    def pending_in(self, conn, *, kind: str | None = None, stage: str | None = None, claim: bool = False,
                   lock: bool = False) -> list[Job]:
        """Unfinished jobs, oldest first; ``claim`` locks them for this transaction, skipping rows another endpoint
        process holds; ``lock`` waits for those instead (PostgreSQL; SQLite's write transaction is exclusive)."""
        query = select(J).where(self._mine(J), J.c.status == "pending")
        if kind:
            query = query.where(J.c.kind == kind)
        if stage:
            query = query.where(J.c.stage == stage)
        query = query.order_by(J.c.seq)
        if (claim or lock) and self.postgres:
            query = query.with_for_update(skip_locked=claim)
        return [Job.from_row(r) for r in conn.execute(query)]

    def pending(self) -> list[Job]:
        """Unfinished jobs, oldest first: the order the engine enqueued them in."""
        with self._read() as conn:
            return self.pending_in(conn)

    def claim_pending(self, conn, page: int = 200) -> Iterator[Job]:
        """Pending jobs oldest first, a page at a time, each page claimed for this transaction: on PostgreSQL the
        rows are locked (``FOR UPDATE SKIP LOCKED``: a row another endpoint process is handing out is skipped, not
        waited for) and then jobs already in flight in any session are left out, read after the lock so a claim
        that committed meanwhile is seen. On SQLite the write transaction already excludes every other writer."""
        last = 0
        while True:
            query = (select(J).where(self._mine(J), J.c.status == "pending", J.c.seq > last)
                     .order_by(J.c.seq).limit(page))
            if self.postgres:
                query = query.with_for_update(skip_locked=True)
            rows = conn.execute(query).all()
            if not rows:
                return
            jobs = [Job.from_row(r) for r in rows]
            busy = set(conn.execute(select(R.c.job_key).where(
                self._mine(R), R.c.job_key.in_([job.key for job in jobs]))).scalars())
            for job in jobs:
                if job.key not in busy:
                    yield job
            last = rows[-1].seq

    def has_pending(self, *, besides: str | None = None) -> bool:
        """Any unfinished job (``besides``: of another kind than that)."""
        with self._read() as conn:
            return self.has_pending_in(conn, besides=besides)

    def has_pending_in(self, conn, *, besides: str | None = None) -> bool:
        query = select(J.c.seq).where(self._mine(J), J.c.status == "pending")
        if besides:
            query = query.where(J.c.kind != besides)
        return conn.execute(query.limit(1)).first() is not None

    def remaining(self) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(J).where(
                self._mine(J), J.c.status == "pending")).scalar_one()

    def find_document_in(self, conn, doc_kind: str, doc_number: str) -> Job | None:
        row = conn.execute(select(J).where(self._mine(J), J.c.kind == "document", J.c.doc_kind == doc_kind,
                                           J.c.doc_number == doc_number).order_by(J.c.seq.desc()).limit(1)).first()
        return Job.from_row(row) if row else None

    def find_document(self, doc_kind: str, doc_number: str) -> Job | None:
        with self._read() as conn:
            return self.find_document_in(conn, doc_kind, doc_number)

    def save(self, conn, job: Job) -> None:
        """Persist a job's progress inside the caller's transaction. A document reaching a final state is
        marked uncollected so ``collect_results`` hands its outcome to the engine exactly once."""
        values = dict(status=job.status, stage=job.stage, context=json.dumps(job.context), outcome=job.outcome,
                      target_id=job.target_id, error=job.error, code=job.code, attempts=job.attempts, updated=_now())
        if job.kind == "document" and job.status in FINAL:
            values["collected"] = 0
        conn.execute(update(J).where(self._mine(J), J.c.key == job.key).values(**values))

    def collect(self) -> list[Job]:
        """Finished documents whose outcome has not been handed out yet; marks them handed out."""
        final = (self._mine(J), J.c.collected == 0, J.c.status.in_(FINAL))
        with self.transaction() as conn:
            rows = conn.execute(select(J).where(*final).order_by(J.c.seq)).all()
            if rows:
                conn.execute(update(J).where(self._mine(J), J.c.seq.in_([r.seq for r in rows])).values(collected=1))
        return [Job.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._read() as conn:
            rows = conn.execute(select(J.c.kind, J.c.status, func.count()).where(self._mine(J))
                                .group_by(J.c.kind, J.c.status))
            return {f"{kind}:{status}": n for kind, status, n in rows}

    # --- in-flight requests ---------------------------------------------------------------------------------
    def add_inflight(self, conn, request: Inflight) -> None:
        conn.execute(R.insert().values(connection=self.connection, request_id=request.request_id,
                                       job_key=request.job_key, stage=request.stage, part=request.part,
                                       ticket=request.ticket, sent=_now()))

    def inflight(self, conn, ticket: str | None = None) -> list[Inflight]:
        query = select(R).where(self._mine(R))
        if ticket:
            query = query.where(R.c.ticket == ticket)
        rows = conn.execute(query.order_by(R.c.sent))
        return [Inflight(r.request_id, r.job_key, r.stage, r.part, r.ticket) for r in rows]

    def take_inflight(self, conn, ticket: str | None = None) -> list[Inflight]:
        """The requests in flight (of ``ticket``), removed in the same statement: of two processes handed the same
        answer, one gets them and the other nothing, so an answer is applied once."""
        stmt = delete(R).where(self._mine(R))
        if ticket:
            stmt = stmt.where(R.c.ticket == ticket)
        rows = conn.execute(stmt.returning(R.c.request_id, R.c.job_key, R.c.stage, R.c.part, R.c.ticket, R.c.sent))
        found = sorted(rows, key=lambda r: r.sent)
        return [Inflight(r.request_id, r.job_key, r.stage, r.part, r.ticket) for r in found]

    def inflight_count(self) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(R).where(self._mine(R))).scalar_one()

    # --- lists read back: inventory snapshots and the item catalogue ----------------------------------------
    def _stage(self, conn, name: str, rows: list[dict]) -> None:
        if not rows:
            return
        stmt = self._insert(L)
        stmt = stmt.on_conflict_do_update(index_elements=[L.c.connection, L.c.list, L.c.snapshot, L.c.name],
                                          set_={"ref": stmt.excluded.ref, "value": stmt.excluded.value})
        mine = {"connection": self.connection, "list": name, "snapshot": "staging"}
        unique = {row["name"]: row for row in rows}  # one statement may not touch a row twice (PostgreSQL)
        conn.execute(stmt, [{**mine, **row} for row in unique.values()])

    def stage_inventory(self, conn, rows: list[tuple[str, str | None, str]]) -> None:
        """Rows of an iterator page go to the ``staging`` snapshot until the iterator is exhausted."""
        self._stage(conn, "inventory", [{"name": n, "ref": ref, "value": q} for n, ref, q in rows])

    def clear_staging(self, conn) -> None:
        conn.execute(delete(L).where(self._mine(L), L.c.snapshot == "staging"))

    def stage_catalogue(self, conn, rows: list[tuple[str, str, str | None]]) -> None:
        """(full name, part number casefolded, ListID) of an ItemQuery page, staged until the iterator ends."""
        self._stage(conn, "catalogue", [{"name": n, "value": part, "ref": ref} for n, part, ref in rows])

    def _publish(self, conn, name: str) -> None:
        """Swap the complete staging snapshot in: readers never see half an iterator."""
        conn.execute(delete(L).where(self._mine(L), L.c.list == name, L.c.snapshot == "latest"))
        conn.execute(update(L).where(self._mine(L), L.c.list == name, L.c.snapshot == "staging")
                     .values(snapshot="latest"))

    def publish_catalogue(self, conn) -> None:
        self._publish(conn, "catalogue")

    def by_part_number(self, conn, sku: str) -> list[tuple[str, str | None]]:
        """(full name, ListID) of every item whose Manufacturer's Part Number is ``sku`` (any case)."""
        rows = conn.execute(select(L.c.name, L.c.ref).where(
            self._mine(L), L.c.list == "catalogue", L.c.snapshot == "latest", L.c.value == sku.casefold())
            .order_by(L.c.name))
        return [(r.name, r.ref) for r in rows]

    def publish_inventory(self, conn) -> None:
        self._publish(conn, "inventory")
        self.set_meta_in(conn, "inventory_snapshot_at", _now())

    def inventory(self) -> list[tuple[str, str | None, str]]:
        with self._read() as conn:
            rows = conn.execute(select(L.c.name, L.c.ref, L.c.value).where(
                self._mine(L), L.c.list == "inventory", L.c.snapshot == "latest").order_by(L.c.name))
            return [(r.name, r.ref, r.value) for r in rows]

    # --- small settings learned from sessions ---------------------------------------------------------------
    def meta_in(self, conn, key: str) -> str | None:
        return conn.execute(select(M.c.value).where(self._mine(M), M.c.key == key)).scalar()

    def set_meta_in(self, conn, key: str, value: str) -> None:
        stmt = self._insert(M).values(connection=self.connection, key=key, value=value)
        conn.execute(stmt.on_conflict_do_update(index_elements=[M.c.connection, M.c.key],
                                                set_={"value": stmt.excluded.value}))

    def drop_meta_in(self, conn, key: str) -> None:
        conn.execute(delete(M).where(self._mine(M), M.c.key == key))

    def meta(self, key: str) -> str | None:
        with self._read() as conn:
            return self.meta_in(conn, key)

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            self.set_meta_in(conn, key, value)

    # --- a queue file of an older Connex ----------------------------------------------------------------------
    def import_legacy_file(self, path: str | Path) -> int:
        """Move the rows of an older Connex's queue file (``queue_db``: tables ``qbd_*``) into the store, under this
        queue's connection, then rename the file ``<file>.imported``. A job already in the store keeps its row
        (an import interrupted before the rename is simply done again). Returns the jobs imported."""
        path = Path(path)
        if not path.is_file() or os.path.abspath(path) == os.path.abspath(str(self.store.path or "")):
            return 0
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        except sqlite3.Error:
            return 0
        try:
            source.row_factory = sqlite3.Row
            names = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "qbd_jobs" not in names:
                return 0
            jobs = source.execute("SELECT * FROM qbd_jobs ORDER BY seq").fetchall()
            inventory = source.execute("SELECT * FROM qbd_inventory").fetchall() if "qbd_inventory" in names else []
            catalogue = source.execute("SELECT * FROM qbd_catalogue").fetchall() if "qbd_catalogue" in names else []
            meta = source.execute("SELECT key, value FROM qbd_meta").fetchall() if "qbd_meta" in names else []
        finally:
            source.close()
        with self.transaction() as conn:
            if jobs:
                conn.execute(self._insert(J).on_conflict_do_nothing(index_elements=[J.c.connection, J.c.key]), [
                    {"connection": self.connection, **{k: row[k] for k in (
                        "key", "kind", "payload", "status", "stage", "context", "outcome", "target_id", "error",
                        "code", "attempts", "collected", "doc_kind", "doc_number")},
                     "created": _stamp(row["created"]), "updated": _stamp(row["updated"])} for row in jobs])
            for name, rows in (("inventory", [(r["snapshot"], r["name"], r["list_id"], r["quantity"])
                                              for r in inventory]),
                               ("catalogue", [(r["snapshot"], r["full_name"], r["list_id"], r["part_number"])
                                              for r in catalogue])):
                if rows:
                    conn.execute(self._insert(L).on_conflict_do_nothing(
                        index_elements=[L.c.connection, L.c.list, L.c.snapshot, L.c.name]),
                        [{"connection": self.connection, "list": name, "snapshot": s, "name": n, "ref": ref,
                          "value": v} for s, n, ref, v in rows])
            if meta:
                conn.execute(self._insert(M).on_conflict_do_nothing(index_elements=[M.c.connection, M.c.key]),
                             [{"connection": self.connection, "key": k, "value": v} for k, v in meta])
        for suffix in ("-wal", "-shm", ""):  # the side files first: the file itself is what says "not imported yet"
            side = path.with_name(path.name + suffix)
            # no such side file, or another process imported it at the same moment
            with contextlib.suppress(FileNotFoundError):
                side.rename(side.with_name(side.name.replace(path.name, path.name + ".imported", 1)))
        log.info("QuickBooks Desktop: imported %d queued job(s) of %s into the state store (the file is now %s)",
                 len(jobs), path, path.name + ".imported")
        return len(jobs)


def open_queue(config: dict, queue_db: str, state: Any) -> RequestQueue:
    """The queue of a connection: in its state store (what the connector is given), importing an older Connex's
    ``queue_db`` file the first time; without a store (the endpoint or connector used on their own), on the SQLite
    file ``queue_db``."""
    if state is not None and hasattr(state, "database") and hasattr(state, "connection"):
        queue = RequestQueue(state)
        if config.get("queue_db"):
            queue.import_legacy_file(config["queue_db"])
        return queue
    return RequestQueue.open(queue_db)


def _stamp(seconds: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(float(seconds), dt.UTC).isoformat(timespec="microseconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return _now()
