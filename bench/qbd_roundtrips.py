"""Web Connector round trips per 100 orders (QuickBooks Desktop target).

Runs a real endpoint on 127.0.0.1 with a fresh SQLite queue, enqueues 100 sales receipts through the connector
and drains them with the simulated Web Connector and company file, for several ``batch_size`` values and for
new vs returning customers. Prints a Markdown table for BENCHMARKS.md.

    .venv/bin/python bench/qbd_roundtrips.py [--orders 100] [--batch-sizes 10,25,50,100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget
from connex_quickbooks_desktop.service import serve
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator
from connex_quickbooks_desktop.validation import optional_validator

from connex.documents import Address, Line, Party, SalesDocument

USER, PASSWORD = "bench", "bench-password"


def orders(count: int, distinct_customers: bool) -> list[SalesDocument]:
    documents = []
    for n in range(count):
        name = f"Customer {n:04d}" if distinct_customers else "Amazon UK"
        party = Party(display_name=name, currency="GBP", billing_address=Address("1 High St", city="London"))
        lines = [
            Line(
                sku=sku, quantity=Decimal(1), unit_price=Decimal("9.99"), amount=Decimal("9.99"), tax_code="S"
            )
            for sku in ("SKU-ABC-001", "SKU-ABC-002")
        ]
        lines.append(Line(kind="shipping", amount=Decimal("2.99")))
        documents.append(
            SalesDocument(
                kind="sales_receipt",
                source_id=str(n),
                doc_number=f"2024050100{n:04d}-EBAY",
                txn_date=dt.date(2024, 5, 1),
                currency="GBP",
                lines=lines,
                customer=party,
                payment_method="PayPal",
                deposit_account="Undeposited Funds",
            )
        )
    return documents


def measure(count: int, batch_size: int, distinct_customers: bool, validate: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        config = {
            "listen": "127.0.0.1:0",
            "username": USER,
            "password": PASSWORD,
            "queue_db": str(Path(tmp) / "q.db"),
            "shipping_item": "Shipping",
            "batch_size": batch_size,
        }
        server = serve(config)
        try:
            target = QuickBooksDesktopTarget(config)
            target.post_documents(orders(count, distinct_customers))
            company = SimulatedCompany.seeded(validator=optional_validator() if validate else None)
            sizes: list[int] = []
            simulator = WebConnectorSimulator(company, on_request=lambda xml: sizes.append(len(xml.encode())))
            started = time.perf_counter()
            log = simulator.run_session(server.url, USER, PASSWORD)
            seconds = time.perf_counter() - started
            results = target.collect_results()
        finally:
            server.stop()
    posted = sum(r.status == "posted" for r in results)
    assert posted == count, f"only {posted} of {count} posted: {log.errors}"
    return {
        "round_trips": log.round_trips,
        "per_100": round(log.round_trips * 100 / count, 1),
        "requests": sum(xml.count("requestID=") for xml in company.received),
        "max_kb": round(max(sizes) / 1024, 1),
        "seconds": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--batch-sizes", default="10,25,50,100")
    parser.add_argument("--quick", action="store_true", help="40 orders at the default batch size only")
    parser.add_argument(
        "--no-validate", action="store_true", help="skip the XSD check in the simulated company"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.batch_sizes = 40, "50"
    print(f"## QuickBooks Desktop: Web Connector round trips per {args.orders} orders\n")
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {args.orders} sales receipts "
        "with 2 item "
        "lines + shipping, one session of the simulated Web Connector against the real endpoint "
        f"(127.0.0.1, SQLite queue){'' if args.no_validate else ', every message set XSD-validated twice'}.\n"
    )
    print(
        "| customers | batch_size | round trips | per 100 orders | qbXML requests | largest message set | "
        "session wall time |"
    )
    print("|---|---|---|---|---|---|---|")
    for distinct in (True, False):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            row = measure(args.orders, batch, distinct, not args.no_validate)
            who = "one new per order" if distinct else "one shared"
            print(
                f"| {who} | {batch} | {row['round_trips']} | {row['per_100']} | {row['requests']} | "
                f"{row['max_kb']} KB | {row['seconds']} s |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
