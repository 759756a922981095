"""The QuickBooks Desktop simulator's payments, voids, Mods and refund payouts answer as QuickBooks does
(quickbooks-desktop-qbwc.md §10 status codes; qbxml130.xsd element order, every request schema-validated)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from connex_quickbooks_desktop.simulator import SimulatedCompany
from connex_quickbooks_desktop.validation import optional_validator
from lxml import etree


def send(company, body: str) -> etree._Element:
    xml = ('<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'
           f'<QBXML><QBXMLMsgsRq onError="continueOnError">{body}</QBXMLMsgsRq></QBXML>')
    answer = etree.fromstring(company.process(xml).encode())
    return answer.find("QBXMLMsgsRs")[0]


@pytest.fixture
def company():
    company = SimulatedCompany.seeded(validator=optional_validator())
    company.add_list_record("Ann Buyer", "Customer")
    rs = send(company, "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Ann Buyer</FullName></CustomerRef>"
                       "<RefNumber>INV1</RefNumber><InvoiceLineAdd><ItemRef><FullName>SKU-ABC-001</FullName>"
                       "</ItemRef><Quantity>2</Quantity><Rate>10.00</Rate><Amount>20.00</Amount>"
                       "<TaxAmount>4.00</TaxAmount></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>")
    assert rs.get("statusCode") == "0", rs.get("statusMessage")
    return company, rs.findtext("InvoiceRet/TxnID"), rs.findtext("InvoiceRet/EditSequence")


def pay(txn_id: str, amount: str, total: str | None = None) -> str:
    return ("<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Ann Buyer</FullName></CustomerRef>"
            f"<RefNumber>P1</RefNumber><TotalAmount>{total or amount}</TotalAmount>"
            f"<AppliedToTxnAdd><TxnID>{txn_id}</TxnID><PaymentAmount>{amount}</PaymentAmount></AppliedToTxnAdd>"
            "</ReceivePaymentAdd></ReceivePaymentAddRq>")


def test_payments_never_pay_more_than_is_due(company):
    company, invoice_id, _ = company
    (invoice,) = company.find_transactions("Invoice")
    assert invoice.total == Decimal("24.00")  # the line's TaxAmount counts
    assert send(company, pay(invoice_id, "24.01")).get("statusCode") == "3210"
    assert send(company, pay("FFFF-1", "1.00")).get("statusCode") == "3120"
    assert send(company, pay(invoice_id, "5.00", total="4.00")).get("statusCode") == "3210"
    assert send(company, pay(invoice_id, "20.00")).get("statusCode") == "0"
    assert invoice.balance == Decimal("4.00")
    assert send(company, pay(invoice_id, "4.01")).get("statusCode") == "3210"


def test_void_once_and_not_while_paid(company):
    company, invoice_id, _ = company
    void = f"<TxnVoidRq><TxnVoidType>Invoice</TxnVoidType><TxnID>{invoice_id}</TxnID></TxnVoidRq>"
    rs = send(company, pay(invoice_id, "1.00"))
    payment_id = rs.findtext("ReceivePaymentRet/TxnID")
    assert send(company, void).get("statusCode") == "3210"  # payments applied
    delete = f"<TxnDelRq><TxnDelType>ReceivePayment</TxnDelType><TxnID>{payment_id}</TxnID></TxnDelRq>"
    assert send(company, delete).get("statusCode") == "0"
    assert send(company, delete).get("statusCode") == "3120"
    assert send(company, void).get("statusCode") == "0"
    again = send(company, void)
    assert again.get("statusCode") == "3210" and "already void" in again.get("statusMessage")


def test_a_mod_needs_the_current_edit_sequence(company):
    company, invoice_id, sequence = company

    def mod(edit_sequence: str, amount: str) -> str:
        return (f"<InvoiceModRq><InvoiceMod><TxnID>{invoice_id}</TxnID><EditSequence>{edit_sequence}</EditSequence>"
                "<InvoiceLineMod><TxnLineID>-1</TxnLineID><ItemRef><FullName>SKU-ABC-002</FullName></ItemRef>"
                f"<Quantity>1</Quantity><Rate>{amount}</Rate><Amount>{amount}</Amount></InvoiceLineMod>"
                "</InvoiceMod></InvoiceModRq>")

    first = send(company, mod(sequence, "30.00"))
    assert first.get("statusCode") == "0", first.get("statusMessage")
    (invoice,) = company.find_transactions("Invoice")
    assert [(ln.item, ln.amount) for ln in invoice.lines] == [("SKU-ABC-002", Decimal("30.00"))]
    assert send(company, mod(sequence, "31.00")).get("statusCode") == "3200"
    assert invoice.total == Decimal("30.00")


def test_a_refund_never_pays_back_more_than_the_credit(company):
    company, _, _ = company
    rs = send(company, "<CreditMemoAddRq><CreditMemoAdd><CustomerRef><FullName>Ann Buyer</FullName></CustomerRef>"
                       "<RefNumber>CM1</RefNumber><CreditMemoLineAdd><ItemRef><FullName>SKU-ABC-001</FullName>"
                       "</ItemRef><Amount>12.00</Amount></CreditMemoLineAdd></CreditMemoAdd></CreditMemoAddRq>")
    memo_id = rs.findtext("CreditMemoRet/TxnID")

    def card(amount: str, account: str = "Checking") -> str:
        return ("<ARRefundCreditCardAddRq><ARRefundCreditCardAdd><CustomerRef><FullName>Ann Buyer</FullName>"
                f"</CustomerRef><RefundFromAccountRef><FullName>{account}</FullName></RefundFromAccountRef>"
                f"<RefNumber>CM1</RefNumber><RefundAppliedToTxnAdd><TxnID>{memo_id}</TxnID>"
                f"<RefundAmount>{amount}</RefundAmount></RefundAppliedToTxnAdd></ARRefundCreditCardAdd>"
                "</ARRefundCreditCardAddRq>")

    assert send(company, card("12.01")).get("statusCode") == "3210"
    assert send(company, card("12.00", "Nowhere")).get("statusCode") == "3140"
    assert send(company, card("12.00")).get("statusCode") == "0"
    (memo,) = company.find_transactions("CreditMemo")
    assert memo.balance == 0
