"""The state of summary postings (``sync.posting: summary``): summaries and the orders they hold.

Two tables (migration 2) beside the ledger, written only through this module so they can move to another store
without the summary flow changing:

* ``summaries``: one row per flow + kind + store + currency + period (unique), ``open`` while it takes members,
  ``closed`` once its members are frozen. A closed summary is posted through the ledger like any document: its
  document key has its own ledger row (intent before post, outcome after), so a crash resolves it as the
  per-order flow resolves an order.
* ``summary_members``: one row per order (or refund) document, the link to the summary holding it, with the mapped
  document the summary is built from. A member key appears once in the table (primary key): an order is never in
  two summaries, and once linked it is never lost (the link is written before the page's cursor moves).

The member table is the truth about where an order is; the order's ledger row (status ``summarised``) mirrors it
for ``connex status`` and for the per-order flow, which never posts a summarised order on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connex.state import codec
from connex.state.store import SqliteStateStore, guarded, now

OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True)
class SummaryGroup:
    """What a summary is one of: the members' flow, document kind, store, currency and period."""

    flow: str
    kind: str
    store: str
    currency: str
    period: str


@dataclass
class Summary:
    id: int
    flow: str
    kind: str
    store: str
    currency: str
    period: str
    closes_at: str
    doc_key: str
    doc_number: str
    status: str
    created_at: str
    closed_at: str | None

    @property
    def group(self) -> SummaryGroup:
        return SummaryGroup(self.flow, self.kind, self.store, self.currency, self.period)


@dataclass
class Member:
    member_key: str
    summary_id: int
    source_id: str
    number: str | None
    moment: str
    content_hash: str
    document: Any
    added_at: str
    updated_at: str


@dataclass
class NewMember:
    """An order to link: into the summary of ``group`` (created open, closing at ``closes_at``, when missing)."""

    member_key: str
    group: SummaryGroup
    closes_at: str
    source_id: str
    number: str | None
    moment: str
    content_hash: str
    document: Any


class SummaryClosed(Exception):
    """A member was offered to a summary that is no longer open: the caller chose the period from stale data."""


class SummaryStore:
    """Summaries and members in ``state``'s SQLite file. ``numbering(id) -> (doc_key, doc_number)`` names a new
    summary's document from its row id, which is what keeps the number stable across crashes."""

    def __init__(self, state: SqliteStateStore, numbering: Callable[[str, str, int], tuple[str, str]]):
        self.state = state
        self.path = state.path
        self.numbering = numbering

    @property
    def db(self):
        return self.state.db

    @staticmethod
    def _summary(row) -> Summary:
        return Summary(**dict(row))

    @staticmethod
    def _member(row) -> Member:
        data = dict(row)
        data["document"] = codec.loads(data["document"])
        return Member(**data)

    # --- reading -------------------------------------------------------------------------------------------
    @guarded
    def find(self, group: SummaryGroup) -> Summary | None:
        row = self.db.execute("SELECT * FROM summaries WHERE flow = ? AND kind = ? AND store = ? AND currency = ? "
                              "AND period = ?", (group.flow, group.kind, group.store, group.currency,
                                                 group.period)).fetchone()
        return self._summary(row) if row else None

    @guarded
    def get(self, summary_id: int) -> Summary | None:
        row = self.db.execute("SELECT * FROM summaries WHERE id = ?", (summary_id,)).fetchone()
        return self._summary(row) if row else None

    @guarded
    def by_doc_key(self, doc_key: str) -> Summary | None:
        row = self.db.execute("SELECT * FROM summaries WHERE doc_key = ?", (doc_key,)).fetchone()
        return self._summary(row) if row else None

    @guarded
    def summaries(self, flow: str | None = None) -> list[Summary]:
        sql, params = "SELECT * FROM summaries", ()
        if flow:
            sql, params = sql + " WHERE flow = ?", (flow,)
        return [self._summary(r) for r in self.db.execute(sql + " ORDER BY id", params)]

    @guarded
    def members_of(self, keys: Iterable[str]) -> dict[str, Member]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, Member] = {}
        for start in range(0, len(keys), 500):  # SQLite's parameter limit
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT * FROM summary_members WHERE member_key IN ({marks})", chunk):
                found[row["member_key"]] = self._member(row)
        return found

    @guarded
    def members(self, summary_id: int) -> list[Member]:
        rows = self.db.execute("SELECT * FROM summary_members WHERE summary_id = ? ORDER BY moment, member_key",
                               (summary_id,))
        return [self._member(r) for r in rows]

    @guarded
    def due(self, flow: str, at: str) -> list[Summary]:
        """Open summaries of ``flow`` whose period (and grace) ended by ``at`` (an ISO UTC instant)."""
        rows = self.db.execute("SELECT * FROM summaries WHERE flow = ? AND status = 'open' AND closes_at <= ? "
                               "ORDER BY closes_at, id", (flow, at))
        return [self._summary(r) for r in rows]

    @guarded
    def unposted(self, flow: str, *, failed: bool) -> list[Summary]:
        """Closed summaries with no ledger row yet (closed, then the process stopped before the intent), and with
        ``failed`` those whose last post failed."""
        statuses = "l.key IS NULL OR l.status = 'failed'" if failed else "l.key IS NULL"
        rows = self.db.execute(f"SELECT s.* FROM summaries s LEFT JOIN ledger l ON l.key = s.doc_key "
                               f"WHERE s.flow = ? AND s.status = 'closed' AND ({statuses}) ORDER BY s.id", (flow,))
        return [self._summary(r) for r in rows]

    # --- writing -------------------------------------------------------------------------------------------
    def _transaction(self, work: Callable[[], Any]) -> Any:
        with self.state._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                result = work()
            except BaseException:
                self.state._rollback()
                raise
            self.db.execute("COMMIT")
            return result

    @guarded
    def add(self, new: list[NewMember]) -> list[Member]:
        """Link every member to its group's summary, creating summaries as needed, in one transaction. A member
        already linked is left where it is (an order is never moved between summaries)."""

        def work():
            stamp = now()
            ids: dict[SummaryGroup, int] = {}
            for member in new:
                summary_id = ids.get(member.group)
                if summary_id is None:
                    summary_id = ids[member.group] = self._open_summary(member, stamp)
                self.db.execute(
                    "INSERT INTO summary_members (member_key, summary_id, source_id, number, moment, content_hash, "
                    "document, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (member_key) DO NOTHING",
                    (member.member_key, summary_id, member.source_id, member.number, member.moment,
                     member.content_hash, codec.dumps(member.document), stamp, stamp))
            return ids

        if not new:
            return []
        self._transaction(work)
        return list(self.members_of(m.member_key for m in new).values())

    def _open_summary(self, member: NewMember, stamp: str) -> int:
        g = member.group
        row = self.db.execute("SELECT id, status FROM summaries WHERE flow = ? AND kind = ? AND store = ? AND "
                              "currency = ? AND period = ?", (g.flow, g.kind, g.store, g.currency, g.period)).fetchone()
        if row is not None:
            if row["status"] != OPEN:
                raise SummaryClosed(f"summary {row['id']} of {g.period} is closed")
            return int(row["id"])
        # the document key and number come from the row id: insert with a placeholder, then name it
        cur = self.db.execute(
            "INSERT INTO summaries (flow, kind, store, currency, period, closes_at, doc_key, doc_number, status, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', 'open', ?)",
            (g.flow, g.kind, g.store, g.currency, g.period, member.closes_at, f"pending:{member.member_key}", stamp))
        summary_id = int(cur.lastrowid)
        doc_key, doc_number = self.numbering(g.flow, g.kind, summary_id)
        self.db.execute("UPDATE summaries SET doc_key = ?, doc_number = ? WHERE id = ?",
                        (doc_key, doc_number, summary_id))
        return summary_id

    @guarded
    def refresh(self, member_key: str, document: Any, content_hash: str, *, also_closed: bool = False) -> bool:
        """Replace a member's document (its order changed at the source) while its summary is open (or, with
        ``also_closed``, closed but never posted: the caller checked the ledger). Returns whether it did."""
        condition = "" if also_closed else " AND summary_id IN (SELECT id FROM summaries WHERE status = 'open')"

        def work():
            cur = self.db.execute(f"UPDATE summary_members SET document = ?, content_hash = ?, updated_at = ? "
                                  f"WHERE member_key = ?{condition}",
                                  (codec.dumps(document), content_hash, now(), member_key))
            return cur.rowcount

        return bool(self._transaction(work))

    @guarded
    def close(self, summary_ids: Iterable[int]) -> None:
        """Freeze these summaries' members: from here on an order of their period goes into a later one."""
        stamp = now()
        ids = [(stamp, i) for i in summary_ids]
        if ids:
            self._transaction(lambda: self.db.executemany(
                "UPDATE summaries SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'", ids))
