"""The state of summary postings (``sync.posting: summary``): summaries and the orders they hold.

Two tables (Alembic revision 0003, keyed by connection) beside the ledger, written only through this module so
the summary flow never writes SQL of its own:

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

from sqlalchemy import and_, or_, select, update

from connex.state import codec, tables
from connex.state.store import SqlStateStore, now

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
    """Summaries and members of ``state``'s connection, in its database (SQLite or PostgreSQL, through SQLAlchemy
    Core). ``numbering(flow, kind, id) -> (doc_key, doc_number)`` names a new summary's document from its row id,
    which is what keeps the number stable across crashes."""

    def __init__(self, state: SqlStateStore, numbering: Callable[[str, str, int], tuple[str, str]]):
        self.state = state
        self.connection = state.connection
        self.numbering = numbering

    @property
    def db(self):
        return self.state.database

    def _mine(self, table):
        return table.c.connection == self.connection

    @staticmethod
    def _summary(row) -> Summary:
        data = dict(row._mapping)
        data.pop("connection", None)
        return Summary(**data)

    @staticmethod
    def _member(row) -> Member:
        data = dict(row._mapping)
        data.pop("connection", None)
        data["document"] = codec.loads(data["document"])
        return Member(**data)

    def _summaries(self, *conditions) -> list[Summary]:
        t = tables.summaries
        query = select(t).where(self._mine(t), *conditions).order_by(t.c.id)
        with self.db.read() as conn:
            return [self._summary(r) for r in conn.execute(query)]

    def _one(self, *conditions) -> Summary | None:
        found = self._summaries(*conditions)
        return found[0] if found else None

    # --- reading -------------------------------------------------------------------------------------------
    def find(self, group: SummaryGroup) -> Summary | None:
        return self._one(*self._group(group))

    @staticmethod
    def _group(group: SummaryGroup) -> list:
        c = tables.summaries.c
        return [c.flow == group.flow, c.kind == group.kind, c.store == group.store, c.currency == group.currency,
                c.period == group.period]

    def get(self, summary_id: int) -> Summary | None:
        return self._one(tables.summaries.c.id == summary_id)

    def by_doc_key(self, doc_key: str) -> Summary | None:
        return self._one(tables.summaries.c.doc_key == doc_key)

    def summaries(self, flow: str | None = None) -> list[Summary]:
        return self._summaries(tables.summaries.c.flow == flow) if flow else self._summaries()

    def members_of(self, keys: Iterable[str]) -> dict[str, Member]:
        keys = list(dict.fromkeys(keys))
        t = tables.summary_members
        found: dict[str, Member] = {}
        if not keys:
            return found
        with self.db.read() as conn:
            for start in range(0, len(keys), 500):  # well under SQLite's bound-parameter limit
                chunk = keys[start:start + 500]
                for row in conn.execute(select(t).where(self._mine(t), t.c.member_key.in_(chunk))):
                    found[row.member_key] = self._member(row)
        return found

    def members(self, summary_id: int) -> list[Member]:
        t = tables.summary_members
        query = (select(t).where(self._mine(t), t.c.summary_id == summary_id)
                 .order_by(t.c.moment, t.c.member_key))
        with self.db.read() as conn:
            return [self._member(r) for r in conn.execute(query)]

    def due(self, flow: str, at: str) -> list[Summary]:
        """Open summaries of ``flow`` whose period (and grace) ended by ``at`` (an ISO UTC instant)."""
        t = tables.summaries
        query = (select(t).where(self._mine(t), t.c.flow == flow, t.c.status == OPEN, t.c.closes_at <= at)
                 .order_by(t.c.closes_at, t.c.id))
        with self.db.read() as conn:
            return [self._summary(r) for r in conn.execute(query)]

    def unposted(self, flow: str, *, failed: bool) -> list[Summary]:
        """Closed summaries with no ledger row yet (closed, then the process stopped before the intent), and with
        ``failed`` those whose last post failed."""
        s, ledger = tables.summaries, tables.ledger
        join = s.outerjoin(ledger, and_(ledger.c.connection == s.c.connection, ledger.c.key == s.c.doc_key))
        missing = ledger.c.key.is_(None)
        query = (select(s).select_from(join)
                 .where(self._mine(s), s.c.flow == flow, s.c.status == CLOSED,
                        or_(missing, ledger.c.status == "failed") if failed else missing)
                 .order_by(s.c.id))
        with self.db.read() as conn:
            return [self._summary(r) for r in conn.execute(query)]

    # --- writing -------------------------------------------------------------------------------------------
    def add(self, new: list[NewMember]) -> list[Member]:
        """Link every member to its group's summary, creating summaries as needed, in one transaction. A member
        already linked is left where it is (an order is never moved between summaries)."""
        if not new:
            return []
        t = tables.summary_members
        stamp = now()
        with self.db.write() as conn:
            ids: dict[SummaryGroup, int] = {}
            for member in new:
                summary_id = ids.get(member.group)
                if summary_id is None:
                    summary_id = ids[member.group] = self._open_summary(conn, member, stamp)
                stmt = self.state._insert(t).values(
                    connection=self.connection, member_key=member.member_key, summary_id=summary_id,
                    source_id=member.source_id, number=member.number, moment=member.moment,
                    content_hash=member.content_hash, document=codec.dumps(member.document), added_at=stamp,
                    updated_at=stamp)
                conn.execute(stmt.on_conflict_do_nothing(index_elements=[t.c.connection, t.c.member_key]))
        return list(self.members_of(m.member_key for m in new).values())

    def _open_summary(self, conn, member: NewMember, stamp: str) -> int:
        g = member.group
        t = tables.summaries
        row = conn.execute(select(t.c.id, t.c.status).where(self._mine(t), *self._group(g))).first()
        if row is not None:
            if row.status != OPEN:
                raise SummaryClosed(f"summary {row.id} of {g.period} is closed")
            return int(row.id)
        # the document key and number come from the row id: insert with a placeholder, then name it
        summary_id = int(conn.execute(t.insert().values(
            connection=self.connection, flow=g.flow, kind=g.kind, store=g.store, currency=g.currency,
            period=g.period, closes_at=member.closes_at, doc_key=f"pending:{member.member_key}", doc_number="",
            status=OPEN, created_at=stamp).returning(t.c.id)).scalar_one())
        doc_key, doc_number = self.numbering(g.flow, g.kind, summary_id)
        conn.execute(update(t).where(self._mine(t), t.c.id == summary_id)
                     .values(doc_key=doc_key, doc_number=doc_number))
        return summary_id

    def refresh(self, member_key: str, document: Any, content_hash: str, *, also_closed: bool = False) -> bool:
        """Replace a member's document (its order changed at the source) while its summary is open (or, with
        ``also_closed``, closed but never posted: the caller checked the ledger). Returns whether it did."""
        t, s = tables.summary_members, tables.summaries
        stmt = (update(t).where(self._mine(t), t.c.member_key == member_key)
                .values(document=codec.dumps(document), content_hash=content_hash, updated_at=now()))
        if not also_closed:
            stmt = stmt.where(t.c.summary_id.in_(select(s.c.id).where(self._mine(s), s.c.status == OPEN)))
        with self.db.write() as conn:
            return bool(conn.execute(stmt).rowcount)

    def remove(self, member_key: str) -> bool:
        """Unlink a member whose order was cancelled or deleted at the source (corrections on): the caller marks
        a posted summary for correction first. Returns whether it was linked."""
        t = tables.summary_members
        with self.db.write() as conn:
            return bool(conn.execute(t.delete().where(self._mine(t), t.c.member_key == member_key)).rowcount)

    def close(self, summary_ids: Iterable[int]) -> None:
        """Freeze these summaries' members: from here on an order of their period goes into a later one."""
        ids = list(summary_ids)
        if not ids:
            return
        t = tables.summaries
        with self.db.write() as conn:
            conn.execute(update(t).where(self._mine(t), t.c.id.in_(ids), t.c.status == OPEN)
                         .values(status=CLOSED, closed_at=now()))
