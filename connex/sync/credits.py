"""Credit memos settled, so nothing stays open in accounts receivable (issue 17 item 4).

A refund booked as a credit memo leaves the customer a credit. On a target that settles credit memos as documents
of their own (``TargetConnector.applies_credit_memos``: QuickBooks Online), each credit memo is followed by a
``credit_application:<refund id>`` document: it has its own ledger row, goes through intent, post, outcome and
crash recovery like every other document, and is posted after its credit memo (the target orders the two). The
target decides, from what QuickBooks holds when it posts, how much of the credit goes to the order's invoice (what
the invoice still owes) and how much is paid back to the buyer (the rest, when ``payout`` says so).
"""

from __future__ import annotations

from connex.documents import CreditApplicationDocument, Document, RefundDocument


def application_key(source_id: str) -> str:
    return f"credit_application:{source_id}"


def application_for(document: Document) -> CreditApplicationDocument | None:
    """The settlement of a credit memo; None for any other document."""
    if document.kind != "credit_memo" or not isinstance(document, RefundDocument):
        return None
    return CreditApplicationDocument(
        kind="credit_application",
        source_id=document.source_id,
        doc_number=document.doc_number,
        txn_date=document.txn_date,
        currency=document.currency,
        exchange_rate=document.exchange_rate,
        total=abs(document.total),
        memo=f"Credit memo {document.doc_number} settled"
             + (f" against invoice {document.original_doc_number}" if document.original_doc_number else ""),
        class_name=document.class_name,
        customer=document.customer,
        store_name=document.store_name,
        credit_number=document.doc_number,
        invoice_number=document.original_doc_number,
        payout=document.payout,
        deposit_account=document.deposit_account,
        payment_method=document.payment_method,
    )
