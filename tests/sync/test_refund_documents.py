"""Refund documents by rule (issue 17): a refund receipt or a credit memo on both targets, and on QuickBooks
Desktop the money going back as a credit card refund or a cheque applied to the credit memo, so no credit stays
open."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions
from tests.sync.test_payments import session


def run_refunds(folder):
    plugins = get_plugins()
    config = load_config(folder / "connex.yaml", plugins)
    state = open_state(config.state_path)
    engine = SyncEngine(config, plugins, state)
    try:
        return {r.flow: r for r in engine.run(["refunds"], RunOptions())}["refunds"]
    finally:
        engine.close()
        state.close()


def configure(folder, lw, target, rules: str | None = None):
    config = {"source": {"plugin": "linnworks", **lw.connector_config()}, "target": target,
              "sync": {"from_date": "2020-01-01", "orders": "off", "refunds": True}, "state": "connex.db"}
    if rules:
        (folder / "refund-rules.yaml").write_text(rules)
        config["rules"] = [str(folder / "refund-rules.yaml")]
    (folder / "connex.yaml").write_text(json.dumps(config))


CREDIT_MEMO_RULE = """kind: rules
rules:
  - id: credit-memos
    type: map_refund_type
    value: credit_memo
"""


def test_online_refund_type_by_rule(tmp_path):
    with LinnworksSimulator(processed_orders=30, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator(enforce_limits=False) as qbo:
        target = {"plugin": "quickbooks_online", "missing_items": "create_non_inventory", **qbo.connector_config()}
        configure(tmp_path, lw, target)
        first = run_refunds(tmp_path)
        assert first.counts["posted"] >= 1 and not first.failures, first.failures
        assert len(qbo.entities("RefundReceipt")) == first.counts["posted"] and qbo.entities("CreditMemo") == []
        # from now on the bookkeeper wants credit memos: the refunds actioned next come as credit memos
        configure(tmp_path, lw, target, CREDIT_MEMO_RULE)
        lw.account.add_refund_history(3, first_action=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                                      every=dt.timedelta(hours=1))
        later = run_refunds(tmp_path)
        # each credit memo and its settlement (here nothing to settle: no invoice, and the credit stays)
        assert later.documents["credit_memo"] == 3 and later.counts["posted"] == 6 and not later.failures, \
            later.failures
        memos = qbo.entities("CreditMemo")
        assert len(memos) == 3 and all(Decimal(str(m["TotalAmt"])) > 0 for m in memos)
        assert len(qbo.entities("RefundReceipt")) == first.counts["posted"]


def test_desktop_refund_paid_out_by_cheque_and_card_leaves_no_credit_open(tmp_path):
    from connex_quickbooks_desktop.simulator import make_simulator

    with LinnworksSimulator(processed_orders=30, open_orders=0, purchase_orders=0) as lw:
        wc = make_simulator()
        target = {"plugin": "quickbooks_desktop", "missing_items": "create_non_inventory",
                  "refund_payout": "credit_card", "refund_account": "Checking", **wc.connector_config()}
        lw.account.add_refund_history(4, first_action=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                                      every=dt.timedelta(hours=1))
        cheque_for = max(lw.account.refund_headers)  # the last refund is paid back by cheque, by rule
        configure(tmp_path, lw, target, f"""kind: rules
rules:
  - id: a-cheque
    type: map_refund_payout
    when: {{field: refund.RefundHeaderId, comparison: equals, value: {cheque_for}}}
    value: check
""")
        report = run_refunds(tmp_path)
        assert not report.failures, report.failures
        session(tmp_path, wc, target)
        collected = run_refunds(tmp_path)
        assert not collected.failures, collected.failures
        memos = wc.company.find_transactions("CreditMemo")
        assert memos and all(m.balance == 0 for m in memos), [(m.ref_number, m.balance) for m in memos]
        cards = wc.company.find_transactions("ARRefundCreditCard")
        cheques = wc.company.find_transactions("Check")
        assert len(cards) + len(cheques) == len(memos) and len(cheques) == 1 and len(cards) >= 3
        assert all(c.deposit_to == "Checking" for c in cards + cheques)
        for payout in cards + cheques:
            (memo_id, amount) = payout.applied_to[0]
            memo = next(m for m in memos if m.txn_id == memo_id)
            assert amount == memo.total > Decimal(0)
        # another pass and session change nothing
        run_refunds(tmp_path)
        session(tmp_path, wc, target)
        assert len(wc.company.find_transactions("ARRefundCreditCard")) == len(cards)
        assert len(wc.company.find_transactions("Check")) == len(cheques)
