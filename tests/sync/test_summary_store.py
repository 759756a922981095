"""The summary tables through SummaryStore on both databases: links are per connection, an order is in one
summary only, a closed summary takes no member, and the ledger join finds the summaries still to post."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connex.state.store import LedgerEntry, open_state
from connex.state.summaries import CLOSED, OPEN, NewMember, SummaryClosed, SummaryGroup, SummaryStore


def name(flow: str, kind: str, summary_id: int) -> tuple[str, str]:
    return f"{kind}:summary-{summary_id}", f"SUM-{summary_id}"


def member(key: str, group: SummaryGroup, total: str = "10.00") -> NewMember:
    return NewMember(key, group, "2026-01-06T02:00:00+00:00", key.split(":")[1], key.split(":")[1],
                     "2026-01-05T10:00:00+00:00", f"h-{total}", {"total": Decimal(total)})


def test_members_link_once_per_connection_and_closed_summaries_take_none(state_target):
    acme, globex = open_state(state_target, connection="acme"), open_state(state_target, connection="globex")
    mine, theirs = SummaryStore(acme, name), SummaryStore(globex, name)
    day = SummaryGroup("orders", "sales_receipt", "Shop", "GBP", "daily:2026-01-05")
    linked = mine.add([member("sales_receipt:1", day), member("sales_receipt:2", day, "5.50")])
    assert {m.member_key for m in linked} == {"sales_receipt:1", "sales_receipt:2"}
    summary = mine.find(day)
    assert summary.status == OPEN and summary.doc_number == f"SUM-{summary.id}"
    assert mine.members(summary.id)[1].document == {"total": Decimal("5.50")}
    # the same order again stays where it is; the other connection has its own summary of the same group
    mine.add([member("sales_receipt:1", day, "99.00")])
    assert mine.members_of(["sales_receipt:1"])["sales_receipt:1"].document == {"total": Decimal("10.00")}
    assert theirs.find(day) is None and theirs.members_of(["sales_receipt:1"]) == {}
    theirs.add([member("sales_receipt:1", day)])
    assert theirs.find(day).id != summary.id and len(theirs.summaries()) == 1
    assert mine.refresh("sales_receipt:1", {"total": Decimal("12.00")}, "h2")
    assert mine.due("orders", "2026-01-06T01:59:59+00:00") == []
    assert [s.id for s in mine.due("orders", "2026-01-06T02:00:00+00:00")] == [summary.id]
    mine.close([summary.id])
    assert mine.get(summary.id).status == CLOSED and theirs.find(day).status == OPEN
    assert not mine.refresh("sales_receipt:1", {"total": Decimal("13.00")}, "h3")
    assert mine.refresh("sales_receipt:1", {"total": Decimal("13.00")}, "h3", also_closed=True)
    with pytest.raises(SummaryClosed):
        mine.add([member("sales_receipt:3", day)])
    assert mine.members_of(["sales_receipt:3"]) == {}  # the failed transaction linked nothing
    # closed with no ledger row: to post; failed: only when retrying; posted: never
    assert [s.id for s in mine.unposted("orders", failed=False)] == [summary.id]
    acme.record([LedgerEntry(summary.doc_key, "orders", "sales_receipt", summary.doc_key, status="failed")], None)
    assert mine.unposted("orders", failed=False) == []
    assert [s.id for s in mine.unposted("orders", failed=True)] == [summary.id]
    assert theirs.unposted("orders", failed=True) == []
    assert mine.by_doc_key(summary.doc_key).id == summary.id and theirs.by_doc_key(summary.doc_key) is None
    acme.close()
    globex.close()
