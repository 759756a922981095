"""SIGKILL test for credit memo settlements on QuickBooks Online (issue 17 item 4): a sync of refunds killed
before or after any of its QuickBooks writes (the credit memos, a refund cheque, the payment linking the cheque
and the credit memo) leaves, once a later run finishes, one credit memo per refund, one cheque and one settling
payment per credit memo, and no credit open."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections import Counter
from decimal import Decimal

from tests.sync.test_crash_safety import rig, start_sync  # noqa: F401 - rig is a fixture
from tests.sync.test_credit_settlement import CREDIT_MEMOS, money, refund

KILL_POINTS = 20 if os.environ.get("CI") == "true" else 6


def sync(folder, flow):
    process = start_sync(folder, flow)
    out, err = process.communicate(timeout=180)
    assert process.returncode in (0, 1), out + err


def test_settlements_exactly_once_when_killed_between_writes(rig):  # noqa: F811
    folder, lw, qbo, killer = rig
    (folder / "rules.yaml").write_text(CREDIT_MEMOS)
    config = json.loads((folder / "connex.yaml").read_text())
    config["sync"].update(document="invoice", refunds=True, purchases=False)
    config["target"].update(refund_payout="check", refund_account="Checking")
    config["rules"] = [str(folder / "rules.yaml")]
    (folder / "connex.yaml").write_text(json.dumps(config))
    sync(folder, "orders")
    orders = [lw.account.order(i) for _, _, i in lw.account.processed_index]
    paid = [o for o in orders if o["GeneralInfo"]["Status"] not in (0, 3) and not o["GeneralInfo"].get("HoldOrCancel")]
    rng = random.Random(1719)
    kinds, refunds = Counter(), []
    for cycle in range(KILL_POINTS):
        now = dt.datetime.now(dt.UTC)
        for n in range(2):
            refunds.append(refund(lw, paid[(2 * cycle + n) % len(paid)], at=now + dt.timedelta(milliseconds=n),
                                  share="part"))
        process = start_sync(folder, "refunds")
        # the run's batch creates: the credit memos, then per refund a cheque and the payment linking it
        killer.arm(process, ("quickbooks_online", rng.choice(["before", "after"]), rng.randint(1, 5), "/batch"))
        process.communicate(timeout=120)
        kinds["killed" if killer.fired else "finished"] += 1
        killer.disarm()
    assert kinds["killed"] >= KILL_POINTS // 2, kinds
    sync(folder, "refunds")
    memos = Counter(m["DocNumber"] for m in qbo.entities("CreditMemo"))
    assert sorted(memos) == sorted(f"{r['NumOrderId']}-R{r['RefundHeaderId']}" for r in refunds)
    assert [n for n, count in memos.items() if count > 1] == []
    cheques = Counter(c["DocNumber"] for c in qbo.entities("Purchase"))
    assert cheques == Counter({number: 1 for number in memos})  # each credit paid back once, by one cheque
    settling = Counter(p["PaymentRefNum"] for p in qbo.entities("Payment") if money(p["TotalAmt"]) == 0)
    assert settling == Counter({number: 1 for number in memos})
    assert [m["DocNumber"] for m in qbo.entities("CreditMemo") if money(m["RemainingCredit"])] == []
    owed = sum((money(i["Balance"]) for i in qbo.entities("Invoice")), Decimal(0))
    assert sum((money(c["Balance"]) for c in qbo.entities("Customer")), Decimal(0)) == owed
