"""Web Connector sessions in the state store (``queue_sessions``): a ticket names its connection and carries the
session's progress, so consecutive calls of one session may reach different endpoint processes behind a load
balancer, and a process that restarts mid-session loses nothing.

A successful ``authenticate`` opens a session and supersedes any open one of the same connection (a Web Connector
whose run died comes back with a new authenticate): calls with the superseded ticket are then refused as an
invalid ticket, exactly as when the sessions were kept in memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update

from connex.state import tables

S = tables.queue_sessions


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass
class Session:
    ticket: str
    connection: str
    status: str
    company_file: str
    pending_at_start: int
    round_trips: int
    requests: int
    answered: int
    lost_on_resume: int
    last_error: str
    started: str
    closed_at: str | None = None

    @property
    def open(self) -> bool:
        return self.status == "open"


class SessionStore:
    """The sessions of every connection in one state database."""

    def __init__(self, database):
        self.database = database

    def start(self, connection: str, ticket: str, company_file: str, pending: int, lost: int) -> None:
        """Open ``ticket``'s session; any open session of ``connection`` is superseded in the same transaction."""
        now = _now()
        with self.database.write() as conn:
            conn.execute(update(S).where(S.c.connection == connection, S.c.status == "open")
                         .values(status="superseded", closed_at=now))
            conn.execute(S.insert().values(ticket=ticket, connection=connection, status="open",
                                           company_file=company_file, pending_at_start=pending,
                                           lost_on_resume=lost, started=now))

    def get(self, ticket: str) -> Session | None:
        if not ticket:
            return None
        with self.database.read() as conn:
            row = conn.execute(select(S).where(S.c.ticket == ticket[:64])).first()
        return Session(**row._mapping) if row is not None else None

    def count(self, ticket: str, *, round_trips: int = 0, requests: int = 0, answered: int = 0) -> None:
        with self.database.write() as conn:
            conn.execute(update(S).where(S.c.ticket == ticket).values(
                round_trips=S.c.round_trips + round_trips, requests=S.c.requests + requests,
                answered=S.c.answered + answered))

    def set_error(self, ticket: str, message: str, *, only_if_empty: bool = False) -> None:
        stmt = update(S).where(S.c.ticket == ticket)
        if only_if_empty:
            stmt = stmt.where(S.c.last_error == "")
        with self.database.write() as conn:
            conn.execute(stmt.values(last_error=message))

    def close(self, ticket: str) -> Session | None:
        """Close an open session; returns it as it was, or None when it was not open."""
        with self.database.write() as conn:
            row = conn.execute(select(S).where(S.c.ticket == ticket, S.c.status == "open")).first()
            if row is None:
                return None
            conn.execute(update(S).where(S.c.ticket == ticket).values(status="closed", closed_at=_now()))
        return Session(**row._mapping)

    def last_started(self, connections: list[str]) -> str | None:
        with self.database.read() as conn:
            return conn.execute(select(S.c.started).where(S.c.connection.in_(connections))
                                .order_by(S.c.started.desc()).limit(1)).scalar()
