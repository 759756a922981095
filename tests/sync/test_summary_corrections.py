"""Corrections of posted summaries end to end (issue 17): Linnworks simulator -> Connex -> QuickBooks Online and
QuickBooks Desktop simulators.

An order changed, cancelled or deleted after its summary was posted: with ``on_change: update`` the summary is
rebuilt from its orders' current versions and rewritten in place (same QuickBooks id, higher SyncToken /
EditSequence); with ``void_and_repost`` it is voided and posted again as ``SUM-1-1``; ``sync --order X --repost``
does the same; the order's and the summary's history say who changed what, and ``explain ORDER`` shows it.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.state import history, open_state
from tests.conftest import run_connex
from tests.sync.test_summary_postings import at, check_totals, links, run, seed, write_config


def raise_first_line(order: dict, by: Decimal) -> None:
    """The buyer adds a zero-rated book worth ``by`` (a change every tax profile agrees on the tax of)."""
    template = order["Items"][0]
    amount = float(by)
    order["Items"].append({**template, "SKU": "BOOK-CHAI", "Title": "Book on tea", "ChannelSKU": "BOOK-CHAI",
                           "Quantity": 1, "PricePerUnit": amount, "Cost": amount, "CostIncTax": amount, "Tax": 0.0,
                           "TaxRate": 0.0, "RowId": f"{order['OrderId'][:30]}-{len(order['Items']):05d}",
                           "CompositeSubItems": []})
    for field in ("Subtotal", "TotalCharge"):
        order["TotalsInfo"][field] = float(Decimal(str(order["TotalsInfo"][field])) + by)


def set_on_change(folder, on_change: str) -> None:
    config = json.loads((folder / "connex.yaml").read_text())
    config["sync"]["on_change"] = on_change
    (folder / "connex.yaml").write_text(json.dumps(config))


def trail(folder, key):
    state = open_state(folder / "connex.db")
    try:
        return history.events(state, key), state.lookup([key]).get(key)
    finally:
        state.close()


def one_store(orders: list[dict]) -> list[dict]:
    """The orders all from one channel, so a day's summary holds them all."""
    for order in orders:
        order["GeneralInfo"]["Source"], order["GeneralInfo"]["SubSource"] = "AMAZON", "Amazon UK"
    return orders


@pytest.fixture
def shop(tmp_path, monkeypatch):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="uk", enforce_limits=False) as qbo:
        orders = one_store(seed(lw, "uk", 5, 4) + seed(lw, "uk", 6, 1))  # four orders on the 5th, one on the 6th
        write_config(tmp_path, lw, qbo, time_zone="Europe/London")

        def sync(now, **options):
            return run(tmp_path, now, monkeypatch=monkeypatch, **options)["orders"]

        yield tmp_path, lw, qbo, orders, sync


def receipt(qbo, number):
    return qbo.entity("SalesReceipt", DocNumber=number)


def test_update_rewrites_the_posted_summary_in_place(shop):
    folder, lw, qbo, orders, sync = shop
    set_on_change(folder, "update")
    first = sync(at(7, 6))
    assert first.counts["summaries_posted"] == 2 and not first.failures, first.counts
    held = links(folder)
    summary = held[str(orders[0]["NumOrderId"])]
    before = receipt(qbo, summary)
    raise_first_line(orders[0], Decimal("10.00"))
    report = sync(at(7, 7), order_ids=(orders[0]["OrderId"],))
    assert not report.failures and report.counts["corrected"] == 1, (report.counts, report.failures)
    after = receipt(qbo, summary)
    assert after["Id"] == before["Id"] and int(after["SyncToken"]) > int(before["SyncToken"])
    assert Decimal(str(after["TotalAmt"])) == Decimal(str(before["TotalAmt"])) + 10
    assert len(qbo.entities("SalesReceipt")) == 2  # nothing posted beside it
    check_totals(qbo, lw, links(folder))  # still its orders' current totals to the cent
    assert links(folder) == held  # no order moved
    # the history: the summary's correction (who, what changed) and the order's own event naming the summary
    summary_key = f"sales_receipt:summary-{summary.split('-')[1]}"
    events, row = trail(folder, summary_key)
    (event,) = [e for e in events if e["event"] == "corrected"]
    assert event["mode"] == "update" and event["by"].endswith("on_change update)")
    assert any(c.startswith("total: ") for c in event["changes"]), event
    assert row.status == "posted" and row.target_id == before["Id"]
    order_events, order_row = trail(folder, f"sales_receipt:{orders[0]['OrderId']}")
    assert order_row.status == "summarised"
    assert order_events[-1]["summary"] == summary and any(c.startswith("line ") for c in order_events[-1]["changes"])
    explained = run_connex("explain", str(orders[0]["NumOrderId"]), cwd=folder)
    assert f"in summary {summary}" in explained.stdout and "corrected, mode update" in explained.stdout, \
        explained.stdout
    assert f"summary {summary}: " in explained.stdout and "changes total: " in explained.stdout, explained.stdout
    # nothing changed since: the next pass corrects nothing
    again = sync(at(7, 8), order_ids=(orders[0]["OrderId"],))
    assert again.counts.get("corrected", 0) == 0 and receipt(qbo, summary)["SyncToken"] == after["SyncToken"]


def test_void_and_repost_then_a_cancelled_order_leaves_its_summary(shop):
    folder, lw, qbo, orders, sync = shop
    set_on_change(folder, "void_and_repost")
    sync(at(7, 6))
    summary = links(folder)[str(orders[1]["NumOrderId"])]
    original = receipt(qbo, summary)
    raise_first_line(orders[1], Decimal("4.00"))
    report = sync(at(7, 7), order_ids=(orders[1]["OrderId"],))
    assert not report.failures and report.counts["corrected"] == 1, (report.counts, report.failures)
    voided = qbo.entity("SalesReceipt", Id=original["Id"])
    assert voided["TxnStatus"] == "Voided" and Decimal(str(voided["TotalAmt"])) == 0
    first_repost = receipt(qbo, f"{summary}-1")
    assert Decimal(str(first_repost["TotalAmt"])) == Decimal(str(original["TotalAmt"])) + 4
    assert first_repost["TxnDate"] == original["TxnDate"]  # corrected in its own period
    # then an order of the same day is cancelled in Linnworks: it leaves the summary, reposted as -2 without it
    orders[2]["GeneralInfo"]["HoldOrCancel"] = True
    report = sync(at(7, 8), order_ids=(orders[2]["OrderId"],))
    assert not report.failures and report.counts["removed"] == 1 and report.counts["corrected"] == 1, report.counts
    assert qbo.entity("SalesReceipt", Id=first_repost["Id"])["TxnStatus"] == "Voided"
    second_repost = receipt(qbo, f"{summary}-2")
    held = links(folder)
    assert str(orders[2]["NumOrderId"]) not in held
    members = [o for o in orders if held.get(str(o["NumOrderId"])) == summary]
    assert len(members) == 3 and "Summary of 3 orders" in second_repost["PrivateNote"]
    assert Decimal(str(second_repost["TotalAmt"])) == sum(Decimal(str(o["TotalsInfo"]["TotalCharge"]))
                                                          for o in members)
    live = [r["DocNumber"] for r in qbo.entities("SalesReceipt") if r.get("TxnStatus") != "Voided"]
    assert sorted(live) == sorted([f"{summary}-2", links(folder)[str(orders[4]["NumOrderId"])]])
    events, row = trail(folder, f"sales_receipt:{summary.replace('SUM-', 'summary-')}")
    assert [e["mode"] for e in events if e["event"] == "corrected"] == ["void_and_repost", "void_and_repost"]
    assert row.number == f"{summary}-2" and row.target_id == second_repost["Id"]
    cancelled_events, cancelled_row = trail(folder, f"sales_receipt:{orders[2]['OrderId']}")
    assert cancelled_row.status == "removed" and "removed from summary" in cancelled_events[-1]["changes"][0]
    # run again: nothing is voided or posted twice
    again = sync(at(7, 9), order_ids=(orders[1]["OrderId"], orders[2]["OrderId"]))
    assert again.counts.get("corrected", 0) == 0 and not again.failures
    assert len(qbo.entities("SalesReceipt")) == 4  # SUM-1, SUM-1-1, SUM-1-2 and the 6th's


def test_a_summary_whose_only_order_is_deleted_is_voided(shop):
    folder, lw, qbo, orders, sync = shop
    set_on_change(folder, "update")
    sync(at(7, 6))
    summary = links(folder)[str(orders[4]["NumOrderId"])]
    posted = receipt(qbo, summary)
    lw.account.delete_order(orders[4]["OrderId"])
    report = sync(at(7, 7), order_ids=(orders[4]["OrderId"],))
    assert not report.failures and report.counts["voided"] == 1, (report.counts, report.failures)
    assert qbo.entity("SalesReceipt", Id=posted["Id"])["TxnStatus"] == "Voided"
    events, row = trail(folder, f"sales_receipt:{summary.replace('SUM-', 'summary-')}")
    assert row.status == "voided" and events[-1]["mode"] == "void"


def test_repost_applies_to_an_order_inside_a_summary(shop):
    """``on_change: report`` keeps the summary as posted; ``sync --order X --repost update --yes`` corrects it."""
    folder, lw, qbo, orders, sync = shop
    sync(at(7, 6))
    summary = links(folder)[str(orders[3]["NumOrderId"])]
    before = receipt(qbo, summary)
    raise_first_line(orders[3], Decimal("1.50"))
    reported = sync(at(7, 7), order_ids=(orders[3]["OrderId"],))
    assert reported.counts["changed"] == 1 and receipt(qbo, summary)["SyncToken"] == before["SyncToken"]
    result = run_connex("sync", "--order", orders[3]["OrderId"], "--repost", "update", "--yes", "--no-progress",
                        cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    after = receipt(qbo, summary)
    assert after["Id"] == before["Id"] and Decimal(str(after["TotalAmt"])) == Decimal(str(before["TotalAmt"])) + \
        Decimal("1.50")
    events, _ = trail(folder, f"sales_receipt:{summary.replace('SUM-', 'summary-')}")
    assert events[-1]["mode"] == "update" and "--repost" in events[-1]["by"]


# --- QuickBooks Desktop (through Web Connector sessions) -------------------------------------------------------
@pytest.fixture
def desk(tmp_path, monkeypatch):
    from connex_quickbooks_desktop.simulator import make_simulator

    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw:
        orders = one_store(seed(lw, "uk", 5, 3))
        wc = make_simulator()
        target = {"plugin": "quickbooks_desktop", "missing_items": "create_non_inventory", **wc.connector_config(),
                  "shipping_item": "Shipping", "rounding_item": "Rounding", "tax_model": "global",
                  "tax_codes": {20: "S", 5: "S", 0: "Z"}}
        config = {"source": {"plugin": "linnworks", **lw.connector_config()}, "target": target,
                  "sync": {"from_date": "2020-01-01", "posting": "summary",
                           "customer_matching": "store_name_currency"}, "state": "connex.db"}
        (tmp_path / "connex.yaml").write_text(json.dumps(config), encoding="utf-8")

        def sync(now, **options):
            from tests.sync.test_payments import session

            report = run(tmp_path, now, monkeypatch=monkeypatch, **options)["orders"]
            session(tmp_path, wc, target)
            collected = run(tmp_path, now, monkeypatch=monkeypatch)["orders"]
            return report, collected

        yield tmp_path, lw, wc, orders, sync
        wc.stop()


def desk_receipts(wc, number):
    return [t for t in wc.company.find_transactions("SalesReceipt") if t.ref_number == number]


@pytest.mark.parametrize("mode", ["update", "void_and_repost"])
def test_desktop_corrects_a_posted_summary(desk, mode):
    folder, lw, wc, orders, sync = desk
    set_on_change(folder, mode)
    report, collected = sync(at(7, 6))
    assert not report.failures and not collected.failures, (report.failures, collected.failures)
    summary = links(folder)[str(orders[0]["NumOrderId"])]
    (before,) = desk_receipts(wc, summary)
    total, sequence, txn_id = before.total, before.edit_sequence, before.txn_id
    raise_first_line(orders[0], Decimal("10.00"))
    report, collected = sync(at(7, 7), order_ids=(orders[0]["OrderId"],))
    assert not report.failures and not collected.failures, (report.failures, collected.failures)
    gross = sum(Decimal(str(o["TotalsInfo"]["TotalCharge"])) for o in orders)
    if mode == "update":
        (after,) = desk_receipts(wc, summary)
        assert after.txn_id == txn_id and after.edit_sequence > sequence and after.total == total + 10 == gross
    else:
        assert before.void and before.total == 0
        (after,) = desk_receipts(wc, f"{summary}-1")
        assert not after.void and after.total == total + 10 == gross
    events, row = trail(folder, f"sales_receipt:{summary.replace('SUM-', 'summary-')}")
    assert [e["mode"] for e in events if e["event"] == "corrected"] == [mode]
    assert row.status == "posted"


def test_a_stale_summary_is_read_again_and_updated_once(shop):
    """A bookkeeper saves SUM-1 in QuickBooks between Connex's read and its update: QuickBooks answers 5010 (stale
    SyncToken), Connex reads it again and sends the update once more."""
    folder, lw, qbo, orders, sync = shop
    set_on_change(folder, "update")
    sync(at(7, 6))
    summary = links(folder)[str(orders[0]["NumOrderId"])]
    stored = receipt(qbo, summary)
    raise_first_line(orders[0], Decimal("3.00"))
    updates = []
    original = qbo.dispatch

    def someone_saves_it_first(request):
        if request.method == "POST" and request.arg("operation") == "update" and "salesreceipt" in request.path:
            updates.append((request.json() or {}).get("SyncToken"))
            if len(updates) == 1:
                live = next(r for r in qbo.company.all("SalesReceipt") if r["DocNumber"] == summary)
                with qbo.company.lock:
                    qbo.company.touch(live)  # the bookkeeper's save: QuickBooks bumps the SyncToken
        return original(request)

    qbo.dispatch = someone_saves_it_first
    report = sync(at(7, 7), order_ids=(orders[0]["OrderId"],))
    assert not report.failures and report.counts["corrected"] == 1, (report.counts, report.failures)
    assert len(updates) == 2 and updates[0] != updates[1]
    assert Decimal(str(receipt(qbo, summary)["TotalAmt"])) == Decimal(str(stored["TotalAmt"])) + 3
