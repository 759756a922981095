"""Issue 12 item 9: every text field is cut to QuickBooks Online's own length before posting; the simulator
refuses longer text (2050), as QuickBooks does."""

from __future__ import annotations

from connex_quickbooks_online.payloads import LIMITS, party_body
from connex_quickbooks_online.simulator.rules import text_violation

from connex.documents import Address, Party

from .qbo_factories import sale

LONG = "Ω" + "x" * 6000  # longer than any limit, and not ASCII: limits count characters, not bytes


def long_party() -> Party:
    address = Address(line1=LONG, line2=LONG, line3=LONG, city=LONG, region=LONG, postal_code=LONG, country=LONG,
                      country_code="GBR")
    return Party(display_name=LONG, currency="USD", company=LONG, first_name=LONG, last_name=LONG,
                 email=LONG + "@example.com", phone=LONG, billing_address=address, shipping_address=address)


def test_a_customer_with_overlong_fields_is_created_cut_to_qbo_lengths(target, sim):
    party = long_party()
    customer_id = target.find_or_create_customer(party)
    stored = next(c for c in sim.entities("Customer") if str(c["Id"]) == customer_id)
    assert len(stored["DisplayName"]) == LIMITS["DisplayName"]
    assert len(stored["CompanyName"]) == LIMITS["CompanyName"]
    assert len(stored["GivenName"]) == LIMITS["GivenName"] and len(stored["FamilyName"]) == LIMITS["FamilyName"]
    assert len(stored["PrimaryPhone"]["FreeFormNumber"]) == LIMITS["FreeFormNumber"]
    assert len(stored["BillAddr"]["Line1"]) == LIMITS["Line"] and len(stored["BillAddr"]["City"]) == LIMITS["City"]
    assert len(stored["BillAddr"]["PostalCode"]) == LIMITS["PostalCode"]
    # the same overlong name finds the same customer again rather than creating a second one
    assert target.find_or_create_customer(long_party()) == customer_id


def test_a_document_with_overlong_text_posts_cut_to_qbo_lengths(target, sim):
    doc = sale("LONG-1", customer="Long Text Ltd")
    doc.memo = LONG
    doc.lines[0].description = LONG
    doc.billing_address = Address(line1=LONG, city=LONG, postal_code=LONG, country=LONG)
    doc.customer.email = LONG + "@example.com"
    [result] = target.post_documents([doc])
    assert result.status == "posted", result.error
    [receipt] = [r for r in sim.entities("SalesReceipt") if r["DocNumber"] == "LONG-1"]
    assert len(receipt["PrivateNote"]) == LIMITS["PrivateNote"]
    assert receipt["PrivateNote"].startswith(f"Connex {doc.key}")  # the marker survives the cut
    assert len(receipt["Line"][0]["Description"]) == LIMITS["Description"]
    assert len(receipt["BillAddr"]["Line1"]) == LIMITS["Line"]
    assert len(receipt["BillEmail"]["Address"]) == LIMITS["EmailAddress"]


def test_the_simulator_refuses_overlong_text_and_control_characters():
    body = party_body(Party(display_name="A"), "USD")
    assert text_violation(body) is None
    fault = text_violation({**body, "GivenName": "x" * 26})
    assert fault.code == "2050" and "GivenName:Max:25" in fault.detail
    fault = text_violation({"BillAddr": {"Line1": "bad\x00line"}})
    assert fault.code == "2050" and fault.element == "BillAddr.Line1"
