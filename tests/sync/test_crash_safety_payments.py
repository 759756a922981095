"""SIGKILL campaign for payments (issue 17): with ``document: invoice`` every paid order gets its invoice and one
payment applied to it, whatever moment the sync is killed at, including between QuickBooks taking a payment and
the ledger hearing of it; orders marked paid later get theirs on a later pass, once."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from decimal import Decimal

from connex.state import open_state
from tests.sync.test_crash_safety import finish, kill_cycles, rig  # noqa: F401 - rig is a fixture

KILL_POINTS = 30 if os.environ.get("CI") == "true" else 10


def test_invoices_and_payments_exactly_once_over_kill_points(rig):  # noqa: F811
    folder, lw, qbo, killer = rig
    config = json.loads((folder / "connex.yaml").read_text())
    config["sync"]["document"] = "invoice"
    (folder / "connex.yaml").write_text(json.dumps(config))
    unpaid = []
    original_add = lw.account.add_processed_order

    def add_some_unpaid(**kwargs):
        # every third new order arrives unpaid and is marked paid two orders later: the awaiting path under kills
        order = original_add(**kwargs, status=0 if len(unpaid) % 3 == 0 else 1)
        unpaid.append(order)
        if len(unpaid) > 2 and unpaid[-3]["GeneralInfo"]["Status"] == 0:
            unpaid[-3]["GeneralInfo"]["Status"] = 1
            unpaid[-3]["PaidDateTime"] = "2026-03-01T09:00:00Z"
        return order

    lw.account.add_processed_order = add_some_unpaid
    kinds = kill_cycles(rig, "orders", random.Random(1717), KILL_POINTS)
    assert sum(kinds.values()) >= KILL_POINTS * 0.6, kinds
    for order in unpaid:  # everything is paid by now
        if order["GeneralInfo"]["Status"] == 0:
            order["GeneralInfo"]["Status"] = 1
            order["PaidDateTime"] = "2026-03-02T09:00:00Z"
    finish(folder)
    orders = [lw.account.order(oid) for _, _, oid in lw.account.processed_index]
    kept = [o for o in orders if not o["GeneralInfo"].get("HoldOrCancel")]
    invoices = Counter(r["DocNumber"] for r in qbo.entities("Invoice"))
    assert set(invoices) == {str(o["NumOrderId"]) for o in kept}
    assert [n for n, count in invoices.items() if count > 1] == []
    payments = Counter(r["PaymentRefNum"] for r in qbo.entities("Payment"))
    assert [n for n, count in payments.items() if count > 1] == []
    paid_numbers = {str(o["NumOrderId"]) for o in kept if o["GeneralInfo"]["Status"] not in (0, 3)}
    assert set(payments) == paid_numbers
    open_paid = [i["DocNumber"] for i in qbo.entities("Invoice")
                 if i["DocNumber"] in paid_numbers and Decimal(str(i["Balance"])) != 0]
    assert open_paid == []
    state = open_state(folder / "connex.db")
    assert state.rows(status="in_flight") == []
    state.close()
