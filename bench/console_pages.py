"""Every console page's response time with 100,000 documents in the ledger (issue 19: under 200 ms each).

A state file is filled with 100,000 ledger rows over the last 60 days (88% posted, 5% failed over a dozen kinds
of reason, 3% queued, 3% skipped, 1% changed), each posted or failed document with its ``document_index``
summary (2,000 customers, 500 SKUs) as the store writes them; the failed ones keep a realistic Linnworks order as
their record, so the failed document's page maps it through the rules as the console does. Each page is then
asked for ``--rounds`` times through the application in-process (Starlette's test client, signed in, one
event-loop thread as under uvicorn), so the
figure is the console's own work: routing, the queries, grouping, rendering. Median and 95th percentile in ms.

    .venv/bin/python bench/console_pages.py [--documents 100000] [--rounds 20] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from starlette.testclient import TestClient  # noqa: E402

from connex.config import load_config  # noqa: E402
from connex.console.app import create_app  # noqa: E402
from connex.console.passwords import hash_password  # noqa: E402
from connex.console.runner import LocalRunner  # noqa: E402
from connex.deployment import load_deployment  # noqa: E402
from connex.plugin_manager import get_plugins  # noqa: E402
from connex.state import codec, document_index, open_state  # noqa: E402

REASONS = [
    "item '{sku}' is not in QuickBooks (missing_items: fail)",
    "item {sku} not in QuickBooks (looked up by Sku then Name; missing_items: fail)",
    "account 'Sales of Product Income' is not in QuickBooks",
    "customer 'Amazon GBP': Another account is already using this name",
    "field ExchangeRate: no QuickBooks exchange rate for XYZ",
    "field currency: '' is not a currency code",
    "Business Validation Error: A line amount is wrong",
    "purchase order PO-{n} is not in QuickBooks",
    "Duplicate Document Number Error",
    "field txn_date: missing",
    "invalid reference to QuickBooks Payment Method \"Stripe\"",
    "Stale Object Error",
]


def fill(path: Path, documents: int, seed: int = 7) -> dict:
    """The ledger and its summaries, written straight into the state file in large transactions."""
    from workload import realistic_orders

    rng = random.Random(seed)
    record = codec.dumps(realistic_orders(1)[0])
    state = open_state(path)  # the schema, the console's indexes
    state.close()
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    now = dt.datetime.now(dt.UTC)
    customers = [f"Customer {i:04d} {rng.choice(['Ltd', 'Inc', 'GmbH', 'GBP', 'USD'])}" for i in range(2000)]
    skus = [f"SKU-{i:04d}" for i in range(500)]
    ledger, index, sku_rows = [], [], []
    sample = {}
    for i in range(documents):
        roll = rng.random()
        status = ("posted" if roll < 0.88 else "failed" if roll < 0.93 else "queued" if roll < 0.96
                  else "skipped" if roll < 0.99 else "changed")
        flow = "purchases" if i % 20 == 0 else "orders"
        kind = "purchase_order" if flow == "purchases" else "sales_receipt"
        number = f"PO-{i:06d}" if flow == "purchases" else str(200000 + i)
        key = f"{kind}:{i:08x}-doc"
        stamp = (now - dt.timedelta(seconds=rng.randrange(60 * 86400))).isoformat(timespec="seconds")
        lines = rng.sample(skus, rng.randint(1, 4))
        error = None
        if status == "failed":
            error = rng.choice(REASONS).format(sku=rng.choice(skus[:12]), n=rng.randint(1, 40))
        elif status == "skipped":
            error = "rule skip-cancelled-orders: do not import"
        elif status == "changed":
            error = "source changed after it was posted as 12; not posted again (sync.on_change: report)"
        ledger.append(("default", key, flow, kind, str(i), number, "h" * 20, status,
                       str(i) if status != "failed" else None, error, 1, None, record if status == "failed" else None,
                       1, stamp, stamp))
        if status != "skipped":
            document = {"type": "SalesDocument", "data": {
                "kind": kind, "doc_number": number, "txn_date": stamp[:10], "currency": "GBP", "total": "42.00",
                "total_tax": "7.00", "source_reference": f"AMZ-{i}",
                "customer": {"display_name": rng.choice(customers)},
                "lines": [{"kind": "item", "sku": s, "description": f"thing {s}", "quantity": "1", "unit_price": "10",
                           "amount": "10.00", "tax_amount": "1.67", "tax_rate": "20"} for s in lines]}}
            row, found = document_index.summary(key, document)
            index.append(row)
            sku_rows.extend(found)
        sample.setdefault(status, key)
        sample.setdefault("customer", index[-1]["customer"] if index else None)
    db.execute("BEGIN")
    db.executemany("INSERT INTO ledger (connection, key, flow, kind, source_id, number, content_hash, status, "
                   "target_id, error, attempts, document, record, run_id, first_seen, updated_at) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ledger)
    db.executemany("INSERT INTO document_index (connection, key, kind, customer, reference, po_number, txn_date, "
                   "currency, total, summary, customer_folded, reference_folded, po_number_folded) VALUES "
                   "('default', :key, :kind, :customer, :reference, :po_number, :txn_date, :currency, :total, "
                   ":summary, :customer_folded, :reference_folded, :po_number_folded)", index)
    db.executemany("INSERT OR IGNORE INTO document_skus (connection, sku, key) VALUES ('default', :sku, :key)",
                   sku_rows)
    db.execute("INSERT INTO runs (connection, flow, started_at, finished_at, status, counts) VALUES "
               "('default', 'orders', ?, ?, 'failures', '{}'), ('default', 'purchases', ?, ?, 'ok', '{}')",
               (now.isoformat(), now.isoformat(), now.isoformat(), now.isoformat()))
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    sample["number"] = ledger[len(ledger) // 2][4]
    return sample


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="10,000 documents, 5 rounds")
    parser.add_argument("--many", action="store_true",
                        help="a deployment of two connections (the documents are one's, the other has none): the "
                             "overview of every connection at /, each page under /c/default")
    args = parser.parse_args(argv)
    if args.quick:
        args.documents, args.rounds = 10_000, 5
    folder = Path(tempfile.mkdtemp(prefix="connex-console-bench-"))
    started = time.perf_counter()
    sample = fill(folder / "connex.db", args.documents)
    print(f"filled {args.documents:,} documents in {time.perf_counter() - started:.1f} s "
          f"({(folder / 'connex.db').stat().st_size / 1e6:.0f} MB)", flush=True)
    config_path = folder / "connex.yaml"
    connection = {
        "source": {"plugin": "linnworks", "application_id": "a", "application_secret": "b", "token": "c"},
        "target": {"plugin": "quickbooks_online", "client_id": "d", "client_secret": "e"},
        "sync": {"from_date": "2020-01-01", "purchases": True}}
    console = {"users": {"bench": {"password_hash": hash_password("bench-password"), "role": "operator"}}}
    plugins = get_plugins()
    if args.many:
        (folder / "connections").mkdir()
        for name in ("default", "second"):
            (folder / "connections" / f"{name}.yaml").write_text(json.dumps(connection))
        config_path.write_text(json.dumps({"connections": "connections", "state": "connex.db", "console": console}))
        configs = load_deployment(config_path, plugins).select(None)
        app = create_app(configs, plugins, {c.name: LocalRunner(c, plugins) for c in configs})
    else:
        config_path.write_text(json.dumps({**connection, "state": "connex.db", "console": console}))
        config = load_config(config_path, plugins)
        app = create_app(config, plugins, LocalRunner(config, plugins))
    base = "/c/default" if args.many else ""
    # one event-loop thread for every request, as under uvicorn (and so one read connection, as there)
    client = TestClient(app, base_url="http://127.0.0.1").__enter__()
    login = client.get("/login").text
    csrf = login.split('name="csrf" value="')[1].split('"')[0]
    client.post("/login", data={"username": "bench", "password": "bench-password", "csrf": csrf})
    failures = client.get(base + "/failures").text
    group = failures.split('data-group="')[1].split('"')[0]
    pages = {
        "overview": "/",
        "failures (all)": "/failures",
        "failures (flow + dates)": f"/failures?flow=orders&since={(dt.date.today() - dt.timedelta(days=7))}",
        "failure group, expanded": f"/failures/group?group={group}",
        "document, posted": f"/documents/{sample['posted']}",
        "document, failed (rules run on its record)": f"/documents/{sample['failed']}",
        "search: order number": f"/search?q={sample['number']}",
        "search: customer (start of a name)": "/search?q=Customer 0042",
        "search: SKU": "/search?q=SKU-0007",
        "search: nothing found": "/search?q=no-such-thing",
    }
    if args.many:  # every page of the connection under its prefix; the overview of every connection at /
        pages = {"overview of every connection": "/", **{
            name.replace("overview", "the connection's page"): base + path for name, path in pages.items()}}
    # a commit by another connection before each request: the overview's counts are read again, not remembered
    writer = open_state(folder / "connex.db")
    tick = lambda: writer.put("bench:tick", str(time.time()))  # noqa: E731
    pages["overview, after a write (counts read again)"] = (base + "/", tick)
    print("| page | median ms | p95 ms | bytes |\n|---|---|---|---|")
    worst = 0.0
    for name, path in pages.items():
        path, before = path if isinstance(path, tuple) else (path, None)
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        times = []
        for _ in range(args.rounds):
            if before:
                before()
            t0 = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        worst = max(worst, p95)
        print(f"| {name} | {statistics.median(times):.1f} | {p95:.1f} | {len(answer.content):,} |", flush=True)
    print(f"slowest p95: {worst:.1f} ms ({'under' if worst < 200 else 'OVER'} 200 ms)")
    writer.close()
    client.__exit__(None, None, None)
    app.state.console.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
