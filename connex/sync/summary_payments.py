"""Payments of summary invoices (``sync.posting: summary`` with invoices): the per-order payment of a paid
order has no invoice of its own to apply to, so a summary invoice whose orders were all paid when it closed gets
one payment of its whole total, dated the last of their paid dates, applied to it (Online ``Payment`` with
``LinkedTxn``, Desktop ``ReceivePaymentAdd``), exactly once under its own ledger key (``payment:summary-N``). A
summary holding an order not paid by then stays open in accounts receivable for the bookkeeper to settle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from connex.documents import Document, PaymentDocument, SalesDocument
from connex.sync import payments

#: ledger statuses after which a summary's payment is never built again
SETTLED = ("posted", "exists", "in_flight", "queued")


def summary_payment(summary: Document, members: Sequence[Document]) -> PaymentDocument | None:
    """The payment of a summary invoice whose members were all paid; None for anything else."""
    if summary.kind != "invoice" or not isinstance(summary, SalesDocument) or not members:
        return None
    paid = [getattr(doc, "paid_date", None) for doc in members]
    if any(day is None for day in paid):
        return None
    payment = payments.payment_for(replace(summary, paid_date=max(paid)))
    if payment is not None:
        payment.memo = f"Payment for summary invoice {summary.doc_number} ({len(members)} paid orders)"
    return payment


def is_summary_payment(row) -> bool:
    """A ledger row of a summary invoice's payment (its source id is the summary's, ``summary-N``)."""
    return row.kind == "payment" and str(row.source_id).startswith("summary-")
