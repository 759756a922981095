"""What QuickBooks Desktop checks on a ``JournalEntryAdd`` (the simulated company's side).

Sources: Intuit's JournalEntryAdd page (qbXML reference, via the ``search`` reference corpus; its words are
quoted by Conductor's QuickBooks Desktop reference): "you must supply the credit line and a corresponding debit
line in the same request"; "as many credit lines and debit lines ... so long as the total monetary amount from the
credits equals the total monetary amount from the debits in that request"; "DO NOT supply negative sign for the
monetary amounts ... you'll get a runtime error"; and "any line that posts to Accounts Receivable or Accounts
Payable must include the related customer or vendor reference". ``quickbooks-desktop-qbwc.md`` §10 gives the
status codes: 3140 for a reference to something not in the company file, 3180 for a transaction QuickBooks
cannot save, 3210 for an invalid field value. The messages of the 3180/3210 answers are not in the reference
[UNVERIFIED wording]; the codes are the stricter reading of §10.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from lxml import etree

#: the accounts whose lines must name their customer or vendor (the seeded file's A/R and A/P accounts)
ENTITY_ACCOUNTS = {"Accounts Receivable": "Customer", "Accounts Payable": "Vendor"}


def journal_entry_add(company, rq: etree._Element, rs, invalid_ref, line_cls) -> etree._Element:
    add = rq.find("JournalEntryAdd")
    nodes = [n for n in add if n.tag in ("JournalDebitLine", "JournalCreditLine")]
    sides = {"JournalDebitLine": Decimal(0), "JournalCreditLine": Decimal(0)}
    lines = []
    entity_name = None
    for node in nodes:
        account = node.findtext("AccountRef/FullName")
        if account is None or account not in company.accounts:
            return invalid_ref(rq, "Account", account, "JournalEntry")
        try:
            amount = Decimal(node.findtext("Amount") or "0")
        except InvalidOperation:
            return rs(rq, 3210, "Error", f"The amount {node.findtext('Amount')!r} is not valid.")
        if amount < 0:
            return rs(rq, 3210, "Error", f"Journal line amounts are entered without a sign: {amount} on {account}.")
        entity = node.findtext("EntityRef/FullName")
        needed = ENTITY_ACCOUNTS.get(account)
        if entity is not None:
            record = company.lists.get(entity.lower())
            if record is None or record.kind not in ("Customer", "Vendor", "Employee", "OtherName"):
                return invalid_ref(rq, "Entity", entity, "JournalEntry")
            entity_name = entity_name or record.name
        if needed and (entity is None or company.lists[entity.lower()].kind != needed):
            return rs(rq, 3180, "Error", f"There was an error when saving a Journal Entry. QuickBooks error "
                      f"message: a line posting to {account} must name a {needed.lower()}.")
        for tag, known, what in (("ClassRef", company.classes, "Class"),):
            name = node.findtext(f"{tag}/FullName")
            if name is not None and name.lower() not in {k.lower() for k in known}:
                return invalid_ref(rq, what, name, "JournalEntry")
        tax_item = node.findtext("ItemSalesTaxRef/FullName")
        if tax_item is not None:
            found = company.lists.get(tax_item.lower())
            if found is None or found.kind not in ("ItemSalesTax", "ItemSalesTaxGroup"):
                return invalid_ref(rq, "Item Sales Tax", tax_item, "JournalEntry")
        sides[node.tag] += amount
        signed = amount if node.tag == "JournalDebitLine" else -amount
        lines.append(line_cls(company._txn_id(), account, None, signed, node.findtext("Memo")))
    if not sides["JournalDebitLine"] or not sides["JournalCreditLine"]:
        return rs(rq, 3180, "Error", "There was an error when saving a Journal Entry. QuickBooks error message: "
                  "a journal entry needs a debit line and a credit line in the same request.")
    if sides["JournalDebitLine"] != sides["JournalCreditLine"]:
        return rs(rq, 3180, "Error", "There was an error when saving a Journal Entry. QuickBooks error message: "
                  f"the debits ({sides['JournalDebitLine']}) and credits ({sides['JournalCreditLine']}) "
                  "must be equal.")
    return company.recorded("JournalEntry", entity_name or "", add, rq, include_lines=False, lines=lines,
                            total_amount=sides["JournalDebitLine"])
