"""`connex explain` by each flow's natural number: a PO number, a refund or order number, an order number; it
names the mapping file, how the customer name came about, and the ledger state."""

from __future__ import annotations

import json

from connex.state import history


def _first_refund(ws):
    with ws.sim.account.lock:
        headers = [h for h in ws.sim.account.refund_headers.values() if h["Status"]["StatusHeader"] == "PROCESSED"]
    return min(headers, key=lambda h: h["RefundHeaderId"])


def test_explain_purchase_order_by_po_number(workspace):
    proc = workspace.cli("explain", "--flow", "purchases", "PO-000002")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("purchases: PO-000002 (")
    assert "mapping: " in out and "purchase_order.yaml" in out
    assert "vendor: " in out
    assert "ledger: no state file yet" in out
    assert "Traceback" not in proc.stderr


def test_explain_unknown_po_is_one_line(workspace):
    proc = workspace.cli("explain", "--flow", "purchases", "PO-999999")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: purchase order PO-999999 was not found in linnworks"


def test_explain_refund_by_order_number_and_refund_number(workspace):
    header = _first_refund(workspace)
    number = str(header["NumOrderId"])
    proc = workspace.cli("explain", "--flow", "refunds", number)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"refunds: {number}-R{header['RefundHeaderId']} ({header['RefundHeaderId']}): mapped" in proc.stdout
    assert "refund.yaml" in proc.stdout
    assert "customer: " in proc.stdout and "sync.customer_matching: store_name_currency: store_name " in proc.stdout
    assert "error" not in proc.stdout.lower()
    one = workspace.cli("explain", "--flow", "refunds", f"{number}-R{header['RefundHeaderId']}", "--json")
    assert one.returncode == 0, one.stderr
    data = json.loads(one.stdout)
    assert data["source_id"] == str(header["RefundHeaderId"])
    assert data["customer"]["mode"] == "store_name_currency"
    assert set(data["customer"]["inputs"]) == {"store_name", "currency"}
    assert data["customer"]["name"] == " ".join(data["customer"]["inputs"].values())


def test_explain_shows_ledger_state_after_sync(workspace):
    assert workspace.cli("sync", "--no-progress").returncode in (0, 1)
    state = workspace.state()
    row = next(r for r in state.rows("orders") if r.status == "posted")
    history.add(state, row.key, "forgotten", reason="test")
    state.close()
    proc = workspace.cli("explain", row.number)
    assert proc.returncode == 0, proc.stderr
    assert "mapping: " in proc.stdout and "sales_order.yaml" in proc.stdout
    assert f"{row.key}: posted as QuickBooks id {row.target_id} at {row.updated_at}; unchanged since" in proc.stdout
    assert ": forgotten, reason test" in proc.stdout
    po = workspace.cli("explain", "--flow", "purchases", "PO-000002", "--json")
    ledger = json.loads(po.stdout)["ledger"]
    assert ledger and ledger[0]["status"] in ("posted", "failed", "skipped")
