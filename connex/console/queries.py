"""Every read the console makes of the state database, in one module, on SQLAlchemy Core over the store's engine.

Pages only read (the daemon and the Web Connector write meanwhile: WAL on SQLite, MVCC on PostgreSQL), and every
query names the store's connection. Each query is bounded: a page never loads the whole ledger, only counts, one
day's-worth groups, or a limited list, so the pages stay fast with 100,000 documents (bench/console_pages.py). The
look-ups by number, reference, customer, PO and SKU use the indexes of ``tables.py`` (revision 0004).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, case, func, literal, null, or_, select, union, union_all

from connex.state import codec, tables

DONE = ("posted", "exists")
#: the statuses the overview counts, in the order it shows them
SHOWN_STATUSES = ("posted", "queued", "failed", "changed", "skipped")
HISTORY_PREFIX = "history:"


@dataclass
class Document:
    key: str
    flow: str
    kind: str
    source_id: str
    number: str | None
    status: str
    target_id: str | None
    error: str | None
    attempts: int
    run_id: int | None
    first_seen: str
    updated_at: str
    summary: dict | None = None
    record: dict | None = None

    @property
    def label(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.number or self.source_id}"


L = tables.ledger


def _own_reason():
    """A failure's reason without the document's own name it may start with ("sales_receipt 300000 field currency:
    ..." -> "field currency: ..."), as ``commands._failures._own_name_removed`` does, so equal reasons group in
    SQL (substr, length, ltrim and || mean the same on SQLite and PostgreSQL)."""
    own = L.c.kind + literal(" ") + func.coalesce(L.c.number, L.c.source_id)
    num = func.coalesce(L.c.number, L.c.source_id)

    def starts(name):
        head = func.substr(L.c.error, 1, func.length(name) + 1)
        return or_(head == name + literal(" "), head == name + literal(":"))

    def rest(name):
        return func.ltrim(func.substr(L.c.error, func.length(name) + 1), " :")

    stripped = case((starts(own), rest(own)), (starts(num), rest(num)), else_=L.c.error)
    return func.coalesce(func.nullif(stripped, ""), L.c.error, literal("no reason recorded"))


OWN_REASON = _own_reason()
#: the failed documents' columns the partial index ledger_failed holds, so the table (whose failed rows carry
#: their source records) is not read; in ``Document``'s order
_FAILED_COLUMNS = (L.c.key, L.c.flow, L.c.kind, L.c.source_id, L.c.number, literal("failed"), null(), L.c.error,
                   L.c.attempts, null(), null(), L.c.updated_at)
#: the columns of ``Document``'s first fields, in its order
_COLUMNS = (L.c.key, L.c.flow, L.c.kind, L.c.source_id, L.c.number, L.c.status, L.c.target_id, L.c.error,
            L.c.attempts, L.c.run_id, L.c.first_seen, L.c.updated_at)
_FIELDS = len(_COLUMNS)


def _after_prefix(prefix: str) -> str:
    """The least string above every string that starts with ``prefix``: its last character, one higher."""
    return prefix[:-1] + chr(min(ord(prefix[-1]) + 1, 0x10FFFF))


class Ledger:
    """The console's reads of one connection's state, through ``state``'s engine (SQLite or PostgreSQL)."""

    def __init__(self, state):
        self.state = state
        self.connection = state.connection
        self._local = threading.local()
        self._reasons: dict[tuple, tuple] = {}  # failure_reasons by filters: (fingerprint, rows)
        self._cache_lock = threading.Lock()

    def _mine(self, table):
        return table.c.connection == self.connection

    def _all(self, query) -> list:
        with self.state.database.read() as conn:
            return list(conn.execute(query))

    def _first(self, query):
        with self.state.database.read() as conn:
            return conn.execute(query).first()

    def _documents(self, query) -> list[Document]:
        """Rows of ``_COLUMNS`` as documents, positionally (thousands of failures per page)."""
        return [Document(*tuple(row)[:_FIELDS]) for row in self._all(query)]

    # --- answers remembered until the database changes (SQLite only) -----------------------------------------
    @property
    def _watch(self) -> sqlite3.Connection | None:
        """On SQLite, this thread's own read-only connection to the file, used only for ``PRAGMA data_version``:
        it moves whenever another connection (the daemon, a sync, the store's engine, an action) commits, and this
        one never writes, so an unchanged version means an unchanged file. None on PostgreSQL (no such counter:
        nothing is remembered there)."""
        path = self.state.path
        if not path:
            return None
        conn = getattr(self._local, "watch", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=10,
                                   check_same_thread=False)
            self._local.watch = conn
        return conn

    def _unchanged(self, name: str, key) -> tuple[bool, object]:
        """Whether this thread's last answer to ``name`` for ``key`` still stands."""
        watch = self._watch
        if watch is None:
            return False, None
        version = (watch.execute("PRAGMA data_version").fetchone()[0], key)
        cache = getattr(self._local, "answers", None)
        if cache is None:
            cache = self._local.answers = {}
        hit = cache.get(name)
        if hit is not None and hit[0] == version:
            return True, hit[1]
        return False, version

    def _remember(self, name: str, version, value):
        if version is not None:
            self._local.answers[name] = (version, value)
        return value

    # --- overview ------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, dict[str, int]]:
        """Documents by flow and status (the whole ledger's index is read: remembered until the next commit)."""
        unchanged, found = self._unchanged("counts", None)
        if unchanged:
            return found
        out: dict[str, dict[str, int]] = {}
        query = select(L.c.flow, L.c.status, func.count()).where(self._mine(L)).group_by(L.c.flow, L.c.status)
        for flow, status, n in self._all(query):
            out.setdefault(flow, {})[status] = n
        return self._remember("counts", found, out)

    def last_runs(self) -> dict[str, dict]:
        """The latest run of each flow."""
        r = tables.runs
        latest = select(func.max(r.c.id)).where(self._mine(r)).group_by(r.c.flow)
        rows = self._all(select(r).where(self._mine(r), r.c.id.in_(latest)))
        return {row.flow: self._run(row) for row in rows}

    @staticmethod
    def _run(row) -> dict:
        data = dict(row._mapping)
        data.pop("connection", None)
        return {**data, "counts": codec.loads(data["counts"])}

    def per_day(self, days: int = 30, today: dt.date | None = None) -> list[tuple[str, int, int]]:
        """``(day, done, failed)`` for each of the last ``days`` days, by the day the ledger row last changed."""
        today = today or dt.datetime.now(dt.UTC).date()
        unchanged, found = self._unchanged("per_day", (days, today))
        if unchanged:
            return found
        return self._remember("per_day", found, self._per_day(days, today))

    def _per_day(self, days: int, today: dt.date) -> list[tuple[str, int, int]]:
        first = today - dt.timedelta(days=days - 1)
        found: dict[str, list[int]] = {}
        # one index range per day (ISO text: a stamp on a day sorts between that date and the next), the days
        # in one statement: grouping all 30 days by substr(updated_at) instead sorts every row in a temporary
        # B-tree, 2.5x slower on SQLite with 50,000 rows in the window (bench/console_pages.py)
        days_of = [first + dt.timedelta(days=i) for i in range(days)]
        query = union_all(*(
            select(literal(d.isoformat()).label("day"), L.c.status, func.count())
            .where(self._mine(L), L.c.updated_at >= d.isoformat(), L.c.updated_at < (d + dt.timedelta(days=1))
                   .isoformat())
            .group_by(L.c.status) for d in days_of))
        for when, status, n in self._all(query):
            slot = found.setdefault(when, [0, 0])
            if status in DONE or status == "queued":
                slot[0] += n
            elif status == "failed":
                slot[1] += n
        return [((d := (first + dt.timedelta(days=i)).isoformat()), *found.get(d, [0, 0])) for i in range(days)]

    # --- failures ------------------------------------------------------------------------------------------
    def failure_reasons(self, flow: str | None = None, since: str | None = None,
                        until: str | None = None) -> list[tuple[str, str, int]]:
        """``(reason, flow, documents)``: the failed documents counted by their reason without their own name
        (``OWN_REASON``), so thousands of failures come back as the few dozen reasons they share.

        Remembered until the failed rows change: the fingerprint (how many, the latest change, the attempts and
        the reasons' lengths, all from the small partial index) costs a fraction of the grouping, and the failures
        page and each group opened from it ask for the same grouping again."""
        fingerprint = tuple(self._first(
            select(func.count(), func.max(L.c.updated_at), func.coalesce(func.sum(L.c.attempts), 0),
                   func.coalesce(func.sum(func.length(L.c.error)), 0))
            .where(self._mine(L), L.c.status == "failed")))
        key = (flow, since, until)
        with self._cache_lock:
            cached = self._reasons.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        reason = OWN_REASON.label("reason")
        query = (select(reason, L.c.flow, func.count()).where(*self._failed_where(flow, since, until))
                 .group_by(OWN_REASON, L.c.flow))
        found = [tuple(r) for r in self._all(query)]
        with self._cache_lock:
            if len(self._reasons) >= 64:
                self._reasons.clear()
            self._reasons[key] = (fingerprint, found)
        return found

    def failures_for(self, reasons: list[str], flow: str | None = None, since: str | None = None,
                     until: str | None = None, limit: int = 200) -> list[Document]:
        """The first ``limit`` failed documents whose own reason is one of ``reasons``, newest first."""
        if not reasons:
            return []
        query = (select(*_FAILED_COLUMNS)
                 .where(*self._failed_where(flow, since, until), OWN_REASON.in_(list(reasons)))
                 .order_by(L.c.updated_at.desc(), L.c.key).limit(int(limit)))
        return self._documents(query)

    def _failed_where(self, flow, since, until) -> list:
        where = [self._mine(L), L.c.status == "failed"]
        if flow:
            where.append(L.c.flow == flow)
        if since:
            where.append(L.c.updated_at >= since)
        if until:
            where.append(L.c.updated_at < until)
        return where

    def flows(self) -> list[str]:
        return [r[0] for r in self._all(select(L.c.flow).where(self._mine(L)).distinct().order_by(L.c.flow))]

    # --- one document --------------------------------------------------------------------------------------
    def document(self, key: str) -> Document | None:
        i = tables.document_index
        join = L.outerjoin(i, and_(i.c.connection == L.c.connection, i.c.key == L.c.key))
        row = self._first(select(*_COLUMNS, L.c.record, i.c.summary).select_from(join)
                          .where(self._mine(L), L.c.key == key))
        if row is None:
            return None
        document = Document(*tuple(row)[:_FIELDS])
        document.summary = json.loads(row.summary) if row.summary else None
        document.record = codec.loads(row.record) if row.record else None
        return document

    def documents(self, keys: list[str]) -> list[Document]:
        out = []
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            out.extend(self._documents(select(*_COLUMNS).where(self._mine(L), L.c.key.in_(chunk))))
        return out

    def history(self, key: str) -> list[dict]:
        kv = tables.kv
        row = self._first(select(kv.c.value).where(self._mine(kv), kv.c.key == HISTORY_PREFIX + key))
        return json.loads(row[0]) if row else []

    def run(self, run_id: int | None) -> dict | None:
        if run_id is None:
            return None
        r = tables.runs
        row = self._first(select(r).where(self._mine(r), r.c.id == run_id))
        return self._run(row) if row else None

    # --- search --------------------------------------------------------------------------------------------
    def search(self, text: str, limit: int = 50) -> list[Document]:
        """Documents whose number or source id is ``text``, whose channel reference or PO number is it, that
        carry it as a SKU, or whose customer or vendor name starts with it (all case-insensitive but the numbers).
        A name's start, not any part of it: that is an index range, where a part would read every summary."""
        text = text.strip()
        if not text:
            return []
        folded = text.lower()
        like = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        i, s = tables.document_index, tables.document_skus
        # the start of a name as an index range (SQLite's LIKE cannot use an index on a column without NOCASE, nor
        # PostgreSQL's outside the C collation); LIKE then keeps exactly the names that start with it
        by_customer = (select(i.c.key).where(self._mine(i), i.c.customer_folded >= folded,
                                             i.c.customer_folded < _after_prefix(folded),
                                             i.c.customer_folded.like(like, escape="\\"))
                       .limit(limit * 4).subquery())
        keys = union(
            select(L.c.key).where(self._mine(L), L.c.number == text),
            select(L.c.key).where(self._mine(L), L.c.source_id == text),
            select(i.c.key).where(self._mine(i), or_(i.c.reference_folded == folded, i.c.po_number_folded == folded)),
            select(s.c.key).where(self._mine(s), s.c.sku == folded),
            select(by_customer.c.key),
        ).subquery()
        query = (select(*_COLUMNS).where(self._mine(L), L.c.key.in_(select(keys.c.key)))
                 .order_by(L.c.updated_at.desc(), L.c.key).limit(limit))
        return self._documents(query)

    def close(self) -> None:
        watch = getattr(self._local, "watch", None)
        if watch is not None:
            watch.close()
            self._local.watch = None
