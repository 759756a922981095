"""Every field the document contract and the rule actions can set reaches both targets, or validate names it.

The list of fields is read from the contract (connex/documents.py) and the rule actions, so a field added to
either without a declared place in each target fails here. A field a target posts is then set to a probe value
and the probe must arrive: in the body the QuickBooks Online simulator stored (real HTTP, real look-ups), and in
the qbXML the Desktop builder writes (validated against Intuit's XSDs when they are present). A field a target
ignores must be named, with its file and line, by ``connex validate``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from decimal import Decimal

import pytest
from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget
from connex_quickbooks_desktop.qbxml import QbxmlBuilder, message_set
from connex_quickbooks_desktop.validation import QbxmlValidator
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex import documents as docs
from connex.connectors import Ignored
from connex.fieldsupport import FLOW_CLASSES, contract_fields, support
from connex.rules.actions import BUILTIN_ACTIONS
from connex.rules.mapping import contract_type
from tests.conftest import REFERENCE, in_ci, reference, run_connex
from tests.quickbooks_online.qbo_support import FAST_RETRY, DictStore

TARGETS = {"quickbooks_online": QuickBooksOnlineTarget, "quickbooks_desktop": QuickBooksDesktopTarget}
CLASSES = {cls.__name__: cls for cls in (docs.SalesDocument, docs.PurchaseDocument, docs.RefundDocument,
                                         docs.Line, docs.Party, docs.Address)}
#: text fields not probed with an arbitrary value, and the tests that cover them instead
NOT_PROBED = {
    "currency": "an ISO code QuickBooks knows: tests/quickbooks_online/test_posting.py, the multicurrency tests",
    "tax_code": "a code the company has: tests/tax",
    "linked_po_number": "the purchase order's lines: tests/quickbooks_online/test_posting.py, Desktop bill tests",
    "kind": "the document type itself",
}


def action_fields() -> set[str]:
    """``Class.field`` of every field a shipped rule action writes, in every flow it applies to."""
    keys = set()
    for action in BUILTIN_ACTIONS.values():
        if not action.writes:
            continue
        for flow in action.flows:
            owner = docs.Line if action.level == "line" else FLOW_CLASSES.get(flow)
            if owner is not None:
                keys.add(f"{owner.__name__}.{action.writes.split('.')[-1]}" if "." not in action.writes
                         else f"Party.{action.writes.split('.')[-1]}")
    return keys


def settable() -> list[str]:
    return sorted(set(contract_fields()) | action_fields())


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_settable_field_has_a_declared_place_in_each_target(target):
    undeclared = [key for key in settable() if support(TARGETS[target], key) is None]
    assert undeclared == [], f"{target} says nothing of {undeclared}: post them, or declare them Used/Ignored"
    assert "SalesDocument.class_name" in settable() and "Line.class_name" in settable()
    assert {"SalesDocument.department", "SalesDocument.terms", "SalesDocument.ship_via"} <= set(settable())


def probed(target: str) -> list[str]:
    """The posted text and date fields of ``target`` that take an arbitrary value."""
    out = []
    for key in settable():
        owner, name = key.split(".")
        if name in NOT_PROBED or not isinstance(support(TARGETS[target], key), str):
            continue
        if contract_type(CLASSES[owner], name) in ("string", "date"):
            out.append(key)
    return out


def probe_value(key: str, n: int):
    owner, name = key.split(".")
    if contract_type(CLASSES[owner], name) == "date":
        return dt.date(2031, 1 + n % 12, 1 + n % 28)
    if name == "country_code":
        return "QZ"  # ISO 3166 user-assigned: two letters, as the field holds
    return f"Pr{n}x{name[:4]}"  # short: fits a payment method (15), a term, a RefNumber's 11


def base_document(owner: str, n: int) -> docs.Document:
    """A minimal document of the class that ``owner`` lives in, numbered ``n``."""
    line = docs.Line(sku="MUG-BLU-01", description="Blue mug", quantity=Decimal(1), unit_price=Decimal(10),
                     amount=Decimal(10))
    common = dict(source_id=f"probe-{n}", doc_number=f"FS-{n}", txn_date=dt.date(2026, 3, 1), currency="USD",
                  lines=[line], total=Decimal(10))
    if owner == "PurchaseDocument":
        return docs.PurchaseDocument(kind="purchase_order", vendor=docs.Party(f"Probe Vendor {n}"), **common)
    if owner == "RefundDocument":
        return docs.RefundDocument(kind="refund_receipt", customer=docs.Party(f"Probe Customer {n}"), **common)
    return docs.SalesDocument(kind="invoice", customer=docs.Party(f"Probe Customer {n}"), **common)


def with_probe(key: str, n: int):
    """(document, probe value): a document whose field ``key`` holds the probe."""
    owner, name = key.split(".")
    value = probe_value(key, n)
    if owner in ("SalesDocument", "PurchaseDocument", "RefundDocument"):
        doc = base_document(owner, n)
        if name == "deposit_account" and owner == "SalesDocument":
            doc = dataclasses.replace(doc, kind="sales_receipt")
        if name == "payment_method" and owner == "SalesDocument":
            doc = dataclasses.replace(doc, kind="sales_receipt")  # Desktop: an invoice has no payment method
        return dataclasses.replace(doc, **{name: value}), value
    doc = base_document("SalesDocument", n)
    if owner == "Line":
        line = doc.lines[0]
        if name == "item_name":
            line = dataclasses.replace(line, kind="shipping", sku=None)
        if name == "sku":
            value = "MUG-BLU-01"  # an item the company has: the SKU's item must be found
        return dataclasses.replace(doc, lines=[dataclasses.replace(line, **{name: value})]), value
    if owner == "Party":
        return dataclasses.replace(doc, customer=dataclasses.replace(doc.customer, **{name: value})), value
    return dataclasses.replace(doc, billing_address=docs.Address(**{name: value})), value


def test_each_posted_field_reaches_the_quickbooks_online_body():
    keys = probed("quickbooks_online")
    assert "SalesDocument.class_name" in keys and "Line.class_name" in keys and "SalesDocument.terms" in keys
    with QuickBooksOnlineSimulator() as sim:
        cases = {}
        for n, key in enumerate(keys):
            doc, value = with_probe(key, n)
            cases[key] = (doc, value)
            if key.endswith(".deposit_account"):
                sim.company.store("Account", {"Name": value, "AccountType": "Bank", "Active": True,
                                              "CurrencyRef": {"value": "USD"}})
            if key == "SalesDocument.terms":
                sim.company.store("Term", {"Name": value, "Type": "STANDARD", "DueDays": 30, "Active": True})
        target = QuickBooksOnlineTarget(
            {**sim.connector_config(), "create_missing": ["classes", "departments", "payment_methods"]},
            state=DictStore(), retry=FAST_RETRY, clock=sim.clock.now,
            sleep=lambda s: time.sleep(s / sim.clock.scale))
        try:
            results = target.post_documents([doc for doc, _ in cases.values()])
        finally:
            target.close()
        failed = [(r.key, r.error) for r in results if r.status != "posted"]
        assert failed == []
        stored = {}
        for entity in ("Invoice", "SalesReceipt", "PurchaseOrder", "RefundReceipt", "Customer", "Vendor", "Class",
                       "Department", "PaymentMethod", "Item"):
            for row in sim.entities(entity):
                stored.setdefault(row.get("DocNumber") or row.get("DisplayName"), []).append(row)
        missing = []
        for key, (doc, value) in cases.items():
            text = value.isoformat() if isinstance(value, dt.date) else value
            posted = stored[doc.doc_number][0]
            seen = json.dumps(posted, default=str)
            if key.startswith("Party."):
                seen += json.dumps(stored[doc.customer.display_name.replace(":", "-")], default=str)
            if key == "Line.sku":
                text = sim.entity("Item", Sku=value)["Id"]  # the ItemRef holds the Id of the SKU's item
            if text not in seen:
                missing.append(f"{key} ({QuickBooksOnlineTarget.field_support.get(key)})")
        assert missing == []


@pytest.fixture(scope="module")
def qbxml_validator() -> QbxmlValidator | None:
    if (REFERENCE / "qbxml-xsd/qbxmlops130.xsd").is_file() or in_ci():
        return QbxmlValidator(reference("qbxml-xsd/qbxmlops130.xsd").parent)
    return None


def test_each_posted_field_reaches_the_desktop_qbxml_and_it_stays_valid(qbxml_validator):
    builder = QbxmlBuilder(shipping_item="Shipping", rounding_item="Rounding", discount_item="Discount",
                           income_account="Sales")
    keys = probed("quickbooks_desktop")
    assert "SalesDocument.terms" in keys and "SalesDocument.ship_via" in keys and "Line.class_name" in keys
    missing, invalid = [], []
    for n, key in enumerate(keys):
        doc, value = with_probe(key, n)
        text = value.isoformat() if isinstance(value, dt.date) else value
        requests = [builder.document_add(f"d{n}", doc)]
        party = getattr(doc, "customer", None) or getattr(doc, "vendor", None)
        requests.append(builder.customer_add(f"c{n}", party, "US Dollar"))
        xml = message_set(requests)
        if text not in xml:
            missing.append(f"{key} ({QuickBooksDesktopTarget.field_support.get(key)})")
        if qbxml_validator is not None and (problems := qbxml_validator.validate(xml)):
            invalid.append((key, problems[:2]))
    assert missing == [] and invalid == []


def test_a_bill_carries_its_document_class_on_every_line_on_both_targets():
    bill = dataclasses.replace(base_document("PurchaseDocument", 1), kind="bill", class_name="Wholesale")
    xml = message_set([QbxmlBuilder(shipping_item="Shipping").document_add("b", bill)])
    assert "<ItemLineAdd><ItemRef><FullName>MUG-BLU-01</FullName></ItemRef>" in xml
    assert xml.count("<ClassRef><FullName>Wholesale</FullName></ClassRef>") == 1


def ignored_keys(target: str) -> list[str]:
    return [key for key in settable() if isinstance(support(TARGETS[target], key), Ignored)]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_validate_names_every_rule_setting_a_field_the_target_ignores(tmp_path, target):
    ignored = ignored_keys(target)
    assert ignored, f"{target} ignores nothing? then this test has nothing to show"
    flows = {"SalesDocument": "orders", "RefundDocument": "refunds", "PurchaseDocument": "purchases"}
    text, expected = "kind: rules\nrules:\n", {}
    for n, key in enumerate(ignored):
        owner, name = key.split(".")
        flow = flows.get(owner, "orders")
        level = "\n    level: line" if owner == "Line" else ""
        path = name if owner in flows or owner == "Line" else f"customer.{name}"
        expected[key] = text.count("\n") + 1  # the rule's first line
        text += f"  - id: probe-{n}\n    type: map_fields\n    flows: [{flow}]{level}\n    set: {{{path}: x}}\n"
    (tmp_path / "probe.yaml").write_text(text, encoding="utf-8")
    block = {"quickbooks_online": "  plugin: quickbooks_online\n  client_id: a\n  client_secret: b\n"
                                  "  refresh_token: c\n  realm_id: '1'\n",
             "quickbooks_desktop": "  plugin: quickbooks_desktop\n  username: u\n  password: p\n"}[target]
    (tmp_path / "connex.yaml").write_text(
        "source:\n  plugin: linnworks\n  application_id: a\n  application_secret: b\n  token: c\n"
        f"target:\n{block}rules:\n  - probe.yaml\n", encoding="utf-8")
    result = run_connex("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for key in ignored:
        hits = [ln for ln in result.stdout.splitlines() if ln.startswith("warning:") and f": {key}: {target} "
                "ignores it" in ln and f"probe.yaml:{expected[key]}:" in ln]
        assert hits, f"validate did not name {key} for {target}:\n{result.stdout}"


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_shipped_mappings_alone_raise_no_warning_on_either_target(tmp_path, target):
    """They serve both targets (tax_country steers only QuickBooks Online): warnings about them would name files
    the user never wrote."""
    block = {"quickbooks_online": "  plugin: quickbooks_online\n  client_id: a\n  client_secret: b\n"
                                  "  refresh_token: c\n  realm_id: '1'\n",
             "quickbooks_desktop": "  plugin: quickbooks_desktop\n  username: u\n  password: p\n"}[target]
    (tmp_path / "connex.yaml").write_text(
        "source:\n  plugin: linnworks\n  application_id: a\n  application_secret: b\n  token: c\n"
        f"target:\n{block}", encoding="utf-8")
    result = run_connex("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning:" not in result.stdout, result.stdout
