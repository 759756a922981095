"""Payments for invoices: an invoice of a paid order gets a payment applied to it, exactly once.

The payment is a document of its own (``payment:<order id>``) with its own ledger row, so it goes through intent,
post, outcome and crash recovery like every other document. An invoice of an order not paid yet leaves a ledger
row ``awaiting`` under the payment's key: later passes re-read exactly those orders by id (a hundred per request),
never the whole history, and post the payment once Linnworks marks the order paid.
"""

from __future__ import annotations

from connex.documents import PaymentDocument, SalesDocument
from connex.state.store import LedgerEntry

AWAITING = "awaiting"
#: orders re-read per source request when looking for payments
READ_CHUNK = 100


def payment_key(source_id: str) -> str:
    return f"payment:{source_id}"


def payment_for(invoice: SalesDocument) -> PaymentDocument | None:
    """The payment of a paid order's invoice; None for any other document or an unpaid order."""
    if invoice.kind != "invoice" or not isinstance(invoice, SalesDocument) or invoice.paid_date is None:
        return None
    return PaymentDocument(
        kind="payment",
        source_id=invoice.source_id,
        doc_number=invoice.doc_number,
        txn_date=invoice.paid_date,
        currency=invoice.currency,
        exchange_rate=invoice.exchange_rate,
        total=invoice.total,
        memo=f"Payment for invoice {invoice.doc_number}",
        class_name=invoice.class_name,
        customer=invoice.customer,
        store_name=invoice.store_name,
        invoice_number=invoice.doc_number,
        deposit_account=invoice.deposit_account,
        payment_method=invoice.payment_method,
    )


def awaiting_entry(invoice: SalesDocument) -> LedgerEntry:
    """The ledger row of a payment that has not happened yet: what the next passes look for."""
    return LedgerEntry(payment_key(invoice.source_id), "orders", "payment", invoice.source_id, invoice.doc_number,
                       status=AWAITING, error="the order is not paid yet in Linnworks")
