"""Every read the console makes of the state file, in one module so a new store can port them in one place.

Pages read through a read-only SQLite connection per thread (the daemon and the Web Connector write meanwhile;
WAL lets them). Each query is bounded: a page never loads the whole ledger, only counts, one day's-worth groups,
or a limited list, so the pages stay fast with 100,000 documents (bench/bench_console.py). The look-ups by number,
reference, customer, PO and SKU use the indexes ``connex.state.document_index`` creates.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from connex.state import codec

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


#: a failure's reason without the document's own name it may start with ("sales_receipt 300000 field currency:
#: ..." -> "field currency: ..."), as ``commands._failures._own_name_removed`` does, so equal reasons group in SQL
_OWN = "l.kind || ' ' || COALESCE(l.number, l.source_id)"
_NUM = "COALESCE(l.number, l.source_id)"
OWN_REASON = (
    f"COALESCE(NULLIF(CASE WHEN substr(l.error, 1, length({_OWN}) + 1) IN ({_OWN} || ' ', {_OWN} || ':') "
    f"THEN ltrim(substr(l.error, length({_OWN}) + 1), ' :') "
    f"WHEN substr(l.error, 1, length({_NUM}) + 1) IN ({_NUM} || ' ', {_NUM} || ':') "
    f"THEN ltrim(substr(l.error, length({_NUM}) + 1), ' :') ELSE l.error END, ''), l.error, "
    "'no reason recorded')"
)
#: the failed documents' columns the partial index ledger_failed holds, so the table (whose failed rows carry
#: their source records) is not read
_FAILED_COLUMNS = ("SELECT l.key, l.flow, l.kind, l.source_id, l.number, 'failed', NULL, l.error, l.attempts, "
                   "NULL, NULL, l.updated_at FROM ledger l")
#: the columns of ``Document``'s first fields, in its order
_COLUMNS = "l.key, l.flow, l.kind, l.source_id, l.number, l.status, l.target_id, l.error, l.attempts, l.run_id, " \
           "l.first_seen, l.updated_at"
_FIELDS = 12


class Ledger:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._local = threading.local()
        self._reasons: dict[tuple, tuple] = {}  # failure_reasons by filters: (fingerprint, rows)
        self._cache_lock = threading.Lock()

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{Path(self.path).resolve()}?mode=ro", uri=True, timeout=10,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
        return conn

    def _document(self, row) -> Document:
        return Document(*tuple(row)[:_FIELDS])

    def _documents(self, sql: str, params=()) -> list[Document]:
        """Rows of ``_COLUMNS`` as documents: plain tuples, positionally (thousands of failures per page)."""
        cursor = self.db.cursor()
        cursor.row_factory = None
        return [Document(*row) for row in cursor.execute(sql, params)]

    def _unchanged(self, name: str, key) -> tuple[bool, object]:
        """Whether this thread's last answer to ``name`` for ``key`` still stands: ``PRAGMA data_version`` moves
        whenever another connection (the daemon, a sync, an action) commits, and this one only reads."""
        version = (self.db.execute("PRAGMA data_version").fetchone()[0], key)
        cache = getattr(self._local, "answers", None)
        if cache is None:
            cache = self._local.answers = {}
        hit = cache.get(name)
        if hit is not None and hit[0] == version:
            return True, hit[1]
        return False, version

    def _remember(self, name: str, version, value):
        self._local.answers[name] = (version, value)
        return value

    # --- overview ------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, dict[str, int]]:
        """Documents by flow and status (the whole ledger's index is read: remembered until the next commit)."""
        unchanged, found = self._unchanged("counts", None)
        if unchanged:
            return found
        out: dict[str, dict[str, int]] = {}
        for flow, status, n in self.db.execute("SELECT flow, status, COUNT(*) FROM ledger GROUP BY flow, status"):
            out.setdefault(flow, {})[status] = n
        return self._remember("counts", found, out)

    def last_runs(self) -> dict[str, dict]:
        """The latest run of each flow."""
        rows = self.db.execute("SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY flow)")
        return {r["flow"]: {**dict(r), "counts": codec.loads(r["counts"])} for r in rows}

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
        rows = self.db.execute(
            "SELECT substr(updated_at, 1, 10) AS day, status, COUNT(*) FROM ledger "
            "WHERE substr(updated_at, 1, 10) >= ? GROUP BY substr(updated_at, 1, 10), status", (first.isoformat(),))
        for day, status, n in rows:
            slot = found.setdefault(day, [0, 0])
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
        sql, params = self._failed_where(flow, since, until)
        fingerprint = tuple(self.db.execute(
            "SELECT COUNT(*), MAX(l.updated_at), TOTAL(l.attempts), TOTAL(length(l.error)) FROM ledger l "
            "WHERE l.status = 'failed'").fetchone())
        key = (flow, since, until)
        with self._cache_lock:
            cached = self._reasons.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        found = [tuple(r) for r in self.db.execute(
            f"SELECT {OWN_REASON} AS reason, l.flow, COUNT(*) FROM ledger l {sql} GROUP BY reason, l.flow", params)]
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
        sql, params = self._failed_where(flow, since, until)
        marks = ",".join("?" * len(reasons))
        sql += f" AND {OWN_REASON} IN ({marks})"
        return self._documents(f"{_FAILED_COLUMNS} {sql} ORDER BY l.updated_at DESC, l.key LIMIT {int(limit)}",
                               [*params, *reasons])

    @staticmethod
    def _failed_where(flow, since, until) -> tuple[str, list]:
        sql, params = "WHERE l.status = 'failed'", []
        if flow:
            sql += " AND l.flow = ?"
            params.append(flow)
        if since:
            sql += " AND l.updated_at >= ?"
            params.append(since)
        if until:
            sql += " AND l.updated_at < ?"
            params.append(until)
        return sql, params

    def flows(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT flow FROM ledger ORDER BY flow")]

    # --- one document --------------------------------------------------------------------------------------
    def document(self, key: str) -> Document | None:
        row = self.db.execute(f"SELECT {_COLUMNS}, l.record, i.summary FROM ledger l "
                              "LEFT JOIN document_index i ON i.key = l.key WHERE l.key = ?", (key,)).fetchone()
        if row is None:
            return None
        document = self._document(row)
        document.summary = json.loads(row["summary"]) if row["summary"] else None
        document.record = codec.loads(row["record"]) if row["record"] else None
        return document

    def documents(self, keys: list[str]) -> list[Document]:
        out = []
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            out.extend(self._documents(f"SELECT {_COLUMNS} FROM ledger l WHERE l.key IN ({marks})", chunk))
        return out

    def history(self, key: str) -> list[dict]:
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (HISTORY_PREFIX + key,)).fetchone()
        return json.loads(row[0]) if row else []

    def run(self, run_id: int | None) -> dict | None:
        if run_id is None:
            return None
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return {**dict(row), "counts": codec.loads(row["counts"])} if row else None

    # --- search --------------------------------------------------------------------------------------------
    def search(self, text: str, limit: int = 50) -> list[Document]:
        """Documents whose number or source id is ``text``, whose channel reference or PO number is it, that
        carry it as a SKU, or whose customer or vendor name starts with it (all case-insensitive but the numbers).
        A name's start, not any part of it: that is an index range, where a part would read every summary."""
        text = text.strip()
        if not text:
            return []
        like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql = (
            f"SELECT {_COLUMNS} FROM ledger l WHERE l.key IN ("
            "SELECT key FROM ledger WHERE number = ? UNION SELECT key FROM ledger WHERE source_id = ? "
            "UNION SELECT key FROM document_index WHERE reference = ? OR po_number = ? "
            "UNION SELECT key FROM document_skus WHERE sku = ? "
            "UNION SELECT key FROM (SELECT key FROM document_index WHERE customer LIKE ? ESCAPE '\\' LIMIT ?)"
            ") ORDER BY l.updated_at DESC LIMIT ?"
        )
        return self._documents(sql, (text, text, text, text, text, like, limit * 4, limit))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
