"""Keyset paging over a date-sorted Linnworks search, with a checkpoint that survives ties and restarts.

Page numbers alone are fragile: an open order processed mid-run shifts every later page by one (a skip), and a
resumed run cannot say "page 7" of a result that has changed. So each request asks for rows *from* the last
timestamp seen (inclusive) and the cursor remembers the ids already emitted at exactly that timestamp. Several
orders sharing a processed time across a page boundary are then neither skipped nor repeated, and the cursor
stays small (the ids of one timestamp). Only when a whole page shares one timestamp does it fall back to page
numbers, so a huge tie cannot stall the read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from connex_linnworks.wire import format_datetime, parse_datetime


@dataclass
class Cursor:
    since: dt.datetime | None = None
    seen: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, data: Mapping[str, Any] | None, floor: dt.datetime | None) -> Cursor:
        """The persisted cursor, or ``floor`` (the window start) when there is none or it is older."""
        since = parse_datetime(data.get("since")) if data else None
        seen = set(data.get("seen") or []) if data else set()
        if floor is not None and floor.tzinfo is None:
            floor = floor.replace(tzinfo=dt.UTC)
        if since is None or (floor is not None and floor > since):
            return cls(floor, set())
        return cls(since, seen)

    def dump(self) -> dict:
        return {"since": format_datetime(self.since) if self.since else None, "seen": sorted(self.seen)}


@dataclass
class SearchPage:
    rows: list[dict]
    page_number: int
    total_pages: int


def keyset_pages(
    fetch: Callable[[dt.datetime | None, int], SearchPage],
    key: Callable[[dict], tuple[dt.datetime | None, str]],
    cursor: Cursor,
) -> Iterator[tuple[list[dict], Cursor]]:
    """Yield ``(fresh rows, cursor after them)``; ``fetch(since, page_number)`` returns rows sorted by
    time."""
    page_number = 1
    while True:
        page = fetch(cursor.since, page_number)
        if not page.rows:
            return
        fresh = []
        newest = cursor.since
        for row in page.rows:
            when, ident = key(row)
            if ident in cursor.seen or (
                cursor.since is not None and when is not None and when < cursor.since
            ):
                continue  # emitted before: at the cursor's own timestamp, or earlier (a coarser server bound)
            fresh.append(row)
            if when is not None and (newest is None or when > newest):
                newest = when
        if newest is not None and newest != cursor.since:
            at_newest = {ident for when, ident in map(key, page.rows) if when == newest}
            cursor = Cursor(newest, at_newest)
            page_number = 1
        else:
            cursor = Cursor(cursor.since, cursor.seen | {key(r)[1] for r in fresh})
            page_number += 1
        yield fresh, cursor
        if page.page_number >= page.total_pages:
            return
