"""Summaries posted as journal entries (``sync.summary.document: journal_entry``, or a ``map_summary_document``
rule per order): which orders go into one, and the target-neutral journal document a target then posts
(QuickBooks Online ``JournalEntry``, QuickBooks Desktop ``JournalEntryAdd``).

A journal-entry summary is its own summary group (kind ``journal_entry``), so a day's receipts and a day's
journal entry of the same store never share members. It is built exactly as a receipt summary is (the same
summed lines, tax and rounding line, so its total is its orders' to the cent), then becomes a ``JournalDocument``:

* debit: the orders' total (gross) to the members' shared deposit account (``map_deposit_account`` rules, per
  store or channel), else ``sync.summary.journal_account`` (Undeposited Funds by default);
* credit: each line's net to its item's income account (shipping to the shipping item's, the rounding line to the
  rounding item's), a discount as a debit to the discount account;
* tax: per tax code on the lines where the target's journal lines carry tax, else credited to
  ``sync.summary.tax_account``;
* refunds: every side reversed.

The targets do the account look-ups and tax codes (each plugin's journal module); this module only decides and
checks what is target-neutral: that there is something to post and that it balances.
"""

from __future__ import annotations

from dataclasses import fields, replace
from decimal import ROUND_HALF_UP, Decimal

from connex.documents import Document, JournalDocument, Line, RefundDocument, SalesDocument

JOURNAL = "journal_entry"
CHOICES = ("document", JOURNAL)


def summary_kind(doc: Document, settings) -> str:
    """The kind of summary ``doc`` (an order or refund) joins: its own, or ``journal_entry`` when a rule or the
    settings say so (a rule's ``document`` overrides a ``journal_entry`` setting for its orders)."""
    chosen = getattr(doc, "summary_as", None) or settings.document
    return JOURNAL if chosen == JOURNAL else doc.kind


def split_included(line: Line) -> Line:
    """A refund line whose amount includes its tax (``tax_included``) as net and tax at its rate (a journal line
    books the net to income and the tax apart); any other line as it is."""
    if not line.tax_included:
        return line
    rate = Decimal(line.tax_rate or 0)
    net = (line.amount / (1 + rate / 100)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if rate else line.amount
    return replace(line, amount=net, tax_amount=line.amount - net, tax_included=False)


def net_and_tax(line: Line) -> tuple[Decimal, Decimal]:
    """A (split) line's signed net and tax as a journal books them: a discount takes both away."""
    if line.kind == "discount":
        return -abs(line.amount), -abs(line.tax_amount)
    return line.amount, line.tax_amount


def included_tax(doc: Document) -> Decimal:
    """The tax inside the amounts of the lines that carry it included (not in ``total_tax``)."""
    return sum((split_included(ln).tax_amount for ln in doc.lines if ln.tax_included), Decimal(0))


def signed_lines_total(doc: Document) -> Decimal:
    """The lines as they add up on the document: a discount always takes away."""
    return sum((-abs(ln.amount) if ln.kind == "discount" else ln.amount for ln in doc.lines), Decimal(0))


def as_journal(summary: Document, settings) -> JournalDocument:
    """The journal entry holding the same money as ``summary`` (a built receipt or refund summary)."""
    if not isinstance(summary, SalesDocument | RefundDocument):
        raise ValueError(f"cannot post a {type(summary).__name__} as a journal entry")
    shared = {f.name for f in fields(JournalDocument)} & {f.name for f in fields(type(summary))}
    values = {name: getattr(summary, name) for name in shared}
    values.update(kind=JOURNAL,
                  debit_account=getattr(summary, "deposit_account", None) or settings.journal_account,
                  tax_account=settings.tax_account,
                  refund=isinstance(summary, RefundDocument))
    journal = JournalDocument(**values)
    # the summary's total is its lines plus tax plus its rounding line, to the cent: a journal entry debits that
    # total and credits the parts, so a difference here would be an unbalanced entry
    difference = journal.total - signed_lines_total(journal) - journal.total_tax
    if difference:
        raise ValueError(f"the summary's lines and tax differ from its total by {difference}")
    return journal
