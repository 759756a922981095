"""A journal-entry summary (``JournalDocument``) -> a QuickBooks Online ``JournalEntry`` body.

Debits and credits, positive amounts with a ``PostingType`` (Finance.xsd ``JournalEntryLineDetail``; Intuit's
Desktop page says the same of qbXML: "DO NOT supply negative sign"): the orders' gross total on the debit account
(with the summary's customer as the line's Entity, which an accounts-receivable account requires), each sales line's
net on its item's income account (shipping and rounding on their items' accounts), discounts on the discount
account on the other side. Lines of one account, tax code and class are joined, so a day of a thousand orders is a
journal entry of a dozen lines.

Tax (tax.md §3-4, Finance.xsd): in a global company (UK, AU...) each income line carries its ``TaxCodeRef`` with
``TaxApplicableOn: Sales`` and its ``TaxAmount`` (2270/2280 without them), and QuickBooks books the tax to the
tax liability; a US company's journal lines take no tax code (``TaxCodeRef`` is "For Non US/CA Companies"), nor
does this connector post a CA company's (``TaxRateRef``), so there the tax is one credit to
``sync.summary.tax_account``, and a summary with tax fails when that is not set.
"""

from __future__ import annotations

from decimal import Decimal

from connex.documents import JournalDocument, Line
from connex.errors import DocumentError
from connex.sync.summary_journal import net_and_tax, split_included
from connex_quickbooks_online.payloads import PayloadBuilder, fit, money, private_note, ref, where
from connex_quickbooks_online.tax import SALES

DETAIL = "JournalEntryLineDetail"


def journal_entry(builder: PayloadBuilder, doc: JournalDocument) -> dict:
    refs, tax = builder.refs, builder.tax
    body = builder._header(doc)
    body["PrivateNote"] = private_note(doc, doc.store_name and f"store {doc.store_name}")
    credit, debit = ("Debit", "Credit") if doc.refund else ("Credit", "Debit")
    per_line = tax is not None and not tax.us and tax.country_code != "CA"
    customer = ref(refs.customer(doc.customer, doc.currency, where(doc, "Entity"))) if doc.customer else None

    # (account id, tax code, class id) -> [account ref, code value, class ref, net, tax, description]
    groups: dict[tuple, list] = {}
    included_tax = Decimal(0)
    for index, original in enumerate(doc.lines):
        line = split_included(original)
        included_tax += line.tax_amount if original.tax_included else 0
        net, line_tax = net_and_tax(line)
        at = where(doc, f"Line[{index}].AccountRef")
        if line.kind == "discount":
            account = refs.account_named(builder.options.discount_account, at)
        elif line.kind == "item":
            account = _income_account(refs.item_for_sku(line.sku, at), line.sku, at)
        else:
            default = {"shipping": builder.options.shipping_item, "rounding": builder.options.rounding_item}
            name = line.item_name or default[line.kind]
            account = _income_account(refs.item_named(name, at), name, at)
        code = None
        if per_line:
            choice = builder._choose(doc, line, index, SALES)
            code = choice.value if choice is not None else None
        klass = ref(refs.named("class", line.class_name, at)) if line.class_name else None
        key = (str(account["Id"]), code, klass and klass["value"])
        group = groups.setdefault(key, [ref(account), code, klass, Decimal(0), Decimal(0), set()])
        group[3] += net
        group[4] += line_tax
        group[5].add(_label(line))

    lines_tax = sum((g[4] for g in groups.values()), Decimal(0))
    wanted_tax = doc.total_tax + included_tax
    if per_line and groups:
        # the orders' tax to the cent: per-line tax summed can differ from the orders' own totals by a few cents,
        # which go to the largest taxed line, as a single order's penny does
        gap = wanted_tax - lines_tax
        if gap:
            taxed = [g for g in groups.values() if g[1] is not None and g[4] != 0] or \
                [g for g in groups.values() if g[1] is not None]
            if taxed:
                max(taxed, key=lambda g: abs(g[3]))[4] += gap
    out: list[dict] = []
    debit_total = doc.total
    out.append(_line(debit if debit_total >= 0 else credit, abs(debit_total),
                     refs.account_named(doc.debit_account, where(doc, "Line[0].AccountRef")),
                     doc.memo or doc.doc_number, customer, doc))
    carried = Decimal(0)
    for account, code, klass, net, line_tax, labels in groups.values():
        description = ", ".join(sorted(labels))
        posting = credit if net >= 0 else debit
        entry = {"Amount": money(abs(net)), "DetailType": DETAIL,
                 "Description": fit(description, "Description"),
                 DETAIL: {"PostingType": posting, "AccountRef": account}}
        if klass:
            entry[DETAIL]["ClassRef"] = klass
        if per_line and code is not None:
            if line_tax and (line_tax > 0) != (net >= 0):
                raise DocumentError(f"the tax {line_tax} of {description} is on the other side of its net {net}: a "
                                    "journal line cannot carry both", where=where(doc, "TaxAmount"))
            entry[DETAIL].update(TaxCodeRef={"value": code}, TaxApplicableOn="Sales", TaxAmount=money(abs(line_tax)))
            carried += line_tax
        out.append(entry)
    leftover = wanted_tax - carried
    if leftover:
        if not doc.tax_account:
            company = "a US" if tax is not None and tax.us else "a Canadian" if tax is not None else "this"
            raise DocumentError(
                f"this journal-entry summary has {leftover} of tax and {company} QuickBooks Online company's journal "
                "lines cannot carry a tax code (Finance.xsd: TaxCodeRef is for non-US/CA companies): set "
                "sync.summary.tax_account to the tax liability account the tax is credited to",
                where=where(doc, "sync.summary.tax_account"), code="journal_tax")
        account = refs.account_named(doc.tax_account, where(doc, "sync.summary.tax_account"))
        out.append(_line(credit if leftover > 0 else debit, abs(leftover), account, "Tax", None, doc))
    body["Line"] = out
    if per_line and carried:
        body["TxnTaxDetail"] = {"TotalTax": money(abs(carried))}
    builder.tax_choices[doc.key] = [(g[5] and ", ".join(sorted(g[5])), g[1] or "none", g[4], "journal line")
                                    for g in groups.values()]
    return body


def _line(posting: str, amount: Decimal, account: dict, description: str, entity: dict | None, doc) -> dict:
    detail: dict = {"PostingType": posting, "AccountRef": ref(account)}
    if entity is not None:
        detail["Entity"] = {"Type": "Customer", "EntityRef": entity}
    return {"Amount": money(amount), "DetailType": DETAIL, "Description": fit(description, "Description"),
            DETAIL: detail}


def _income_account(item: dict, name: str, at) -> dict:
    account = item.get("IncomeAccountRef")
    if not account or not account.get("value"):
        raise DocumentError(f"item {name!r} has no income account in QuickBooks, so its sales have nowhere to go in "
                            "a journal entry", where=at)
    return {"Id": account["value"], "Name": account.get("name")}


def _label(line: Line) -> str:
    if line.kind == "item":
        return line.sku or line.description or "item"
    return {"shipping": "Shipping", "discount": "Discounts", "rounding": "Rounding"}.get(line.kind, line.kind)
