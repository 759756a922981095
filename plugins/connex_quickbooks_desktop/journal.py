"""A journal-entry summary (``JournalDocument``) -> a qbXML ``JournalEntryAdd`` (qbxml130.xsd: TxnDate, RefNumber
(11), Memo, ..., then ``JournalDebitLine`` / ``JournalCreditLine``, each AccountRef, Amount, Memo, EntityRef,
ClassRef).

Intuit's JournalEntryAdd page: debits and credits "in the same request", the credits' total equal to the debits',
"DO NOT supply negative sign for the monetary amounts". So: the orders' gross total debited to the clearing
account (with the summary's customer as the line's name, which an accounts-receivable account requires), each
line's net credited to the income account of the item it would post to on a sales receipt (read from QuickBooks
with an ItemQuery just before the add: ``income_accounts``), discounts debited to their discount item's account,
and the tax credited to ``sync.summary.tax_account``. The lines' ``ItemSalesTaxRef`` / ``TaxAmount`` are not
used: the reference says nothing of how QuickBooks Desktop books them on a journal line, and the tax liability
account says exactly where the money goes; a summary with tax and no ``tax_account`` fails, naming it.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from connex.documents import JournalDocument
from connex.errors import DocumentError
from connex.sync.summary_journal import included_tax, net_and_tax, split_included
from connex_quickbooks_desktop import limits


def journal_add(builder, request_id: str, document: JournalDocument,
                income_accounts: dict[str, str] | None) -> etree._Element:
    """``income_accounts``: item full name -> its income account, as QuickBooks answered; None builds a probe
    (each item's own name standing in for its account) that only checks the document can be expressed."""
    from connex_quickbooks_desktop.qbxml import _date, _ref, _sub, _where, memo_with_number

    credit, debit = ("JournalDebitLine", "JournalCreditLine") if document.refund else \
        ("JournalCreditLine", "JournalDebitLine")
    customer = builder._party(document, document.customer, "customer")
    groups: dict[tuple, list] = {}  # (account, class) -> [net, labels]
    for index, original in enumerate(document.lines):
        line = split_included(original)
        item = builder.line_item(document, index, line)
        account = item if income_accounts is None else income_accounts.get(item.casefold())
        if not account:
            raise DocumentError(f"item {item!r} has no income account in QuickBooks, so its sales have nowhere to go "
                                "in a journal entry", where=_where(document, f"lines[{index}]"))
        net, _ = net_and_tax(line)
        group = groups.setdefault((account, line.class_name), [Decimal(0), []])
        group[0] += net
        if item not in group[1]:
            group[1].append(item)
    tax = document.total_tax + included_tax(document)
    if tax and not document.tax_account:
        raise DocumentError(
            f"this journal-entry summary has {tax} of tax: set sync.summary.tax_account to the tax liability account "
            "QuickBooks Desktop should credit it to (journal lines carry no tax code here)",
            where=_where(document, "sync.summary.tax_account"), code="journal_tax")

    rq = etree.Element("JournalEntryAddRq", requestID=request_id)
    add = etree.SubElement(rq, "JournalEntryAdd")
    _sub(add, "TxnDate", _date(document.txn_date))
    _sub(add, "RefNumber", limits.ref_number(document.doc_number))
    _sub(add, "Memo", memo_with_number(document))
    if document.exchange_rate is not None:
        _sub(add, "ExchangeRate", format(Decimal(document.exchange_rate).normalize(), "f"))

    def line_out(tag: str, account: str, amount: Decimal, memo: str | None, entity: str | None = None,
                 class_name: str | None = None) -> None:
        node = etree.SubElement(add, tag)
        _ref(node, "AccountRef", account)
        _sub(node, "Amount", limits.amount(amount))
        _sub(node, "Memo", limits.clip(memo, limits.DESC) if memo else None)
        _ref(node, "EntityRef", entity)
        _ref(node, "ClassRef", class_name)

    total = document.total
    line_out(debit if total >= 0 else credit, document.debit_account, abs(total), document.memo, customer)
    for (account, class_name), (net, items) in groups.items():
        if net:
            line_out(credit if net > 0 else debit, account, abs(net), ", ".join(items), None, class_name)
    if tax:
        line_out(credit if tax > 0 else debit, document.tax_account, abs(tax), "Tax")
    return rq
