"""Fixtures for the QuickBooks Desktop target: a real endpoint on 127.0.0.1, a real SQLite queue, the Web
Connector simulator, and a record of every qbXML request the service emitted, validated at the end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget
from connex_quickbooks_desktop.service import serve
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator
from connex_quickbooks_desktop.validation import QbxmlValidator

from connex.documents import Address, Line, Party, PurchaseDocument, RefundDocument, SalesDocument
from tests.conftest import REFERENCE, in_ci, reference

#: Intuit's qbXML 13.0 schemas: under the qbXML Developer Agreement, so they cannot ship (docs/reference-data.md)
QBXML_ENTRY_POINT = "qbxml-xsd/qbxmlops130.xsd"
USERNAME = "connex-sync"
PASSWORD = "s3cret-pa55"

_EMITTED: list[str] = []


@pytest.fixture(scope="session")
def validator() -> QbxmlValidator:
    """For the tests about schema validation itself: skipped without Intuit's qbXML schemas (failed in CI)."""
    return QbxmlValidator(reference(QBXML_ENTRY_POINT).parent)


@pytest.fixture(scope="session")
def validator_if_present() -> QbxmlValidator | None:
    """What an installation has: Intuit's schemas when they are there (always in CI), else None, and the
    simulated company and the service then run without schema checks, as they do on a user's machine."""
    if (REFERENCE / QBXML_ENTRY_POINT).is_file() or in_ci():
        return QbxmlValidator(reference(QBXML_ENTRY_POINT).parent)
    return None


@pytest.fixture(scope="session", autouse=True)
def every_emitted_request_validates(validator_if_present):
    """Every qbXML message set the service handed to a (simulated) Web Connector during the whole suite must
    validate against qbxmlops130.xsd; the suite errors at teardown when one does not. (Without the schemas,
    outside CI, there is nothing to check against: the tests that need them say so as skips.)"""
    yield _EMITTED
    validator = validator_if_present
    if validator is None:
        return
    invalid = [(xml[:300], problems) for xml in _EMITTED if (problems := validator.validate(xml))]
    assert not invalid, (
        f"{len(invalid)} of {len(_EMITTED)} emitted qbXML requests do not validate: {invalid[:3]}"
    )


@pytest.fixture
def emitted() -> list[str]:
    return _EMITTED


@pytest.fixture
def company(validator_if_present) -> SimulatedCompany:
    return SimulatedCompany.seeded(validator=validator_if_present)


@pytest.fixture
def qbwc(company) -> WebConnectorSimulator:
    simulator = WebConnectorSimulator(company, on_request=_EMITTED.append)
    yield simulator
    simulator.stop()


@pytest.fixture
def config(tmp_path) -> dict:
    return {
        "listen": "127.0.0.1:0",
        "username": USERNAME,
        "password": PASSWORD,
        "queue_db": str(tmp_path / "connex.db"),
        "shipping_item": "Shipping",
        "rounding_item": "Rounding",
        "income_account": "Merchandise Sales",
        "expense_account": "Cost of Goods Sold",
        "batch_size": 25,
    }


@pytest.fixture
def endpoint(config):
    server = serve(config)
    yield server
    server.stop()


@pytest.fixture
def target(config):
    with QuickBooksDesktopTarget(config) as connector:
        yield connector


def run(qbwc: WebConnectorSimulator, endpoint, **kwargs):
    return qbwc.run_session(endpoint.url, USERNAME, PASSWORD, **kwargs)


def customer(name: str = "Jane Smith", currency: str = "GBP") -> Party:
    first, _, last = name.partition(" ")
    return Party(
        display_name=name,
        currency=currency,
        first_name=first,
        last_name=last or None,
        email=f"{first.lower()}@example.com",
        billing_address=Address(
            "1 High Street", city="London", postal_code="SW1A 1AA", country="United Kingdom"
        ),
        shipping_address=Address("2 Low Road", city="Leeds", postal_code="LS1 1AA", country="United Kingdom"),
    )


def vendor(name: str = "Widget Supplies Ltd") -> Party:
    return Party(display_name=name, currency="GBP", company=name)


def order(
    number: str,
    *,
    party: Party | None = None,
    skus=("SKU-ABC-001",),
    kind="sales_receipt",
    shipping: str = "3.99",
) -> SalesDocument:
    lines = [
        Line(
            sku=sku,
            description=f"Item {sku}",
            quantity=Decimal(2),
            unit_price=Decimal("12.50"),
            amount=Decimal("25.00"),
            tax_code="S",
        )
        for sku in skus
    ]
    if shipping:
        lines.append(Line(kind="shipping", description="Royal Mail Tracked 48", amount=Decimal(shipping)))
    return SalesDocument(
        kind=kind,
        source_id=f"order-{number}",
        doc_number=number,
        txn_date=dt.date(2024, 5, 1),
        currency="GBP",
        lines=lines,
        customer=party or customer(),
        payment_method="PayPal",
        deposit_account="Undeposited Funds",
        source_reference=f"EBAY-{number}",
        total=sum((ln.amount for ln in lines), Decimal(0)),
    )


def purchase_order(number: str, *, skus=("SKU-ABC-002",), quantity: int = 10) -> PurchaseDocument:
    lines = [
        Line(
            sku=sku, quantity=Decimal(quantity), unit_price=Decimal("4.25"), amount=Decimal("4.25") * quantity
        )
        for sku in skus
    ]
    return PurchaseDocument(
        kind="purchase_order",
        source_id=f"po-{number}",
        doc_number=number,
        txn_date=dt.date(2024, 5, 2),
        currency="GBP",
        lines=lines,
        vendor=vendor(),
    )


def bill(number: str, po_number: str, *, skus=("SKU-ABC-002",), quantity: int = 10) -> PurchaseDocument:
    document = purchase_order(number, skus=skus, quantity=quantity)
    document.kind, document.source_id, document.linked_po_number = "bill", f"bill-{number}", po_number
    return document


def refund(number: str, original: str, *, sku: str = "SKU-ABC-001") -> RefundDocument:
    return RefundDocument(
        kind="credit_memo",
        source_id=f"refund-{number}",
        doc_number=number,
        txn_date=dt.date(2024, 5, 3),
        currency="GBP",
        customer=customer(),
        original_doc_number=original,
        lines=[Line(sku=sku, quantity=Decimal(1), unit_price=Decimal("12.50"), amount=Decimal("12.50"))],
    )
