"""A simulated QuickBooks Desktop company file answering qbXML the way QuickBooks does.

What it reproduces (quickbooks-desktop-qbwc.md §6, §10, §11, §13, §16): a message set that is not valid qbXML
13.0 (element order, lengths, amount format) or carries characters outside ISO-8859-1 is refused as a whole
with HRESULT 0x80040400 and nothing applied; otherwise each ``*Rq`` gets its ``*Rs`` with QuickBooks' status
codes: 0, 1 (no match), 500 (some names not found), 3000 (bad iteratorID), 3100 (name in use, across
customers, vendors and items' own list), 3120 (linked transaction not found), 3140 (invalid reference to a
customer, vendor, item, account or currency). ``onError="stopOnError"`` stops at the first error;
``continueOnError`` goes on. Inventory items carry a quantity on hand that sales and credit memos move and
bills receive; ItemInventoryQuery supports iterators. ``rollbackOnError`` is treated as stopOnError (Connex
never sends it).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from connex_quickbooks_desktop.safexml import parse_text
from connex_quickbooks_desktop.simulator import journal, taxes
from connex_quickbooks_desktop.validation import QbxmlValidator

PARSE_ERROR = "0x80040400"
PARSE_MESSAGE = "QuickBooks found an error when parsing the provided XML text stream."

TXN_TYPES = ("SalesReceipt", "Invoice", "CreditMemo", "PurchaseOrder", "Bill", "ReceivePayment",
             "ARRefundCreditCard", "Check", "JournalEntry")
_SALES_LINE = {
    "ARRefundCreditCard": "RefundAppliedToTxn",
    "Check": "ExpenseLine",
    "ReceivePayment": "AppliedToTxn",
    "SalesReceipt": "SalesReceiptLine",
    "Invoice": "InvoiceLine",
    "CreditMemo": "CreditMemoLine",
    "PurchaseOrder": "PurchaseOrderLine",
    "Bill": "ItemLine",
}
#: how each transaction moves stock on hand
_STOCK_SIGN = {"SalesReceipt": -1, "Invoice": -1, "CreditMemo": 1, "PurchaseOrder": 0, "Bill": 1}
_HUMAN = {
    "SalesReceipt": "Sales Receipt",
    "Invoice": "Invoice",
    "CreditMemo": "Credit Memo",
    "PurchaseOrder": "Purchase Order",
    "Bill": "Bill",
    "ReceivePayment": "Payment",
    "ARRefundCreditCard": "Credit Card Refund",
    "Check": "Check",
    "JournalEntry": "Journal Entry",
}


class QuickBooksParseError(Exception):
    """The whole message set was refused: the Web Connector reports hresult/message with an empty response."""

    def __init__(self, detail: str, hresult: str = PARSE_ERROR):
        super().__init__(detail)
        self.hresult = hresult
        self.message = PARSE_MESSAGE
        self.detail = detail


@dataclass
class ListRecord:
    list_id: str
    name: str
    kind: str  # Customer | Vendor | ItemInventory | ItemNonInventory | ItemOtherCharge | ItemService
    currency: str | None = None
    quantity: Decimal = Decimal(0)
    fields: dict = field(default_factory=dict)


@dataclass
class TxnLine:
    line_id: str
    item: str
    quantity: Decimal | None
    amount: Decimal
    desc: str | None = None
    received: Decimal = Decimal(0)
    link: tuple[str, str] | None = None
    tax: Decimal = Decimal(0)


@dataclass
class Transaction:
    txn_id: str
    txn_type: str
    entity: str
    txn_date: str
    ref_number: str | None
    memo: str | None
    lines: list[TxnLine]
    number: int
    exchange_rate: str | None = None
    subtotal: Decimal | None = None  # net of tax; None: the lines' sum
    tax: Decimal = Decimal(0)  # SalesTaxTotal, as QuickBooks computed it
    tax_percentage: Decimal | None = None  # SalesTaxPercentage of the header item (US)
    tax_item: str | None = None
    #: a payment's TotalAmount and the (invoice TxnID, amount) it applies; an invoice's amount paid so far
    total_amount: Decimal | None = None
    applied_to: list[tuple[str, Decimal]] = field(default_factory=list)
    paid: Decimal = Decimal(0)
    deposit_to: str | None = None
    payment_method: str | None = None
    void: bool = False
    edit_sequence: int = 1_700_000_000

    @property
    def total(self) -> Decimal:
        """A payment's TotalAmount; else the net lines plus the tax QuickBooks computed (taxes.compute), which on
        a file without tax items is each line's TaxAmount as given (quickbooks-desktop-qbwc.md §7)."""
        if self.total_amount is not None:
            return self.total_amount
        net = self.subtotal if self.subtotal is not None else sum((ln.amount for ln in self.lines), Decimal(0))
        return net + self.tax

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid


class SimulatedCompany:
    """An in-memory company file. Thread-safe; ``fingerprint()`` summarises it without generated IDs, so two
    runs that should end in the same state can be compared."""

    def __init__(
        self,
        *,
        path: str = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\Shop.QBW",
        multicurrency: bool = True,
        home_currency: str = "US Dollar",
        validator: QbxmlValidator | None = None,
    ):
        self.path = path
        self.multicurrency = multicurrency
        self.home_currency = home_currency
        self.validator = validator
        self.lists: dict[str, ListRecord] = {}  # lower-cased name -> record (QuickBooks names are unique)
        self.accounts: set[str] = set()
        self.currencies: set[str] = set()
        self.payment_methods: set[str] = set()
        self.classes: set[str] = set()  # full names ("Parent:Child"); a fresh file has none
        self.ship_methods: set[str] = set()
        self.terms: set[str] = set()
        self.tax_codes: set[str] = set()
        self.tax = taxes.DEFAULT
        self.edition = "default"
        self.transactions: list[Transaction] = []
        self.iterators: dict[str, list[ListRecord]] = {}
        self.received: list[str] = []  # every message set processed, for inspection
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._epoch = 1_700_000_000

    # --- seeding -----------------------------------------------------------------------------------------
    @classmethod
    def seeded(cls, edition: str = "default", *, service_items: bool = True, **kwargs) -> SimulatedCompany:
        """A small UK/US web shop: accounts, currencies, payment methods, tax codes, service items and
        stock. ``edition``: "us" (sales tax codes Tax/Non and a sales tax item, quickbooks-tax.md §5 "US"), "ca"
        (codes G, H, P, S, E, Z and no item sales tax, §5 "CA"), or the default mixed set.
        ``service_items=False``: no Shipping, Rounding or Discount item, as a seller's fresh company."""
        company = cls(**kwargs)
        company.edition = edition
        company.accounts |= {
            "Sales",
            "Merchandise Sales",
            "Cost of Goods Sold",
            "Purchases",
            "Undeposited Funds",
            "Inventory Asset",
            "Accounts Receivable",
            "Accounts Payable",
            "Shipping Income",
            "Checking",
        }
        company.currencies |= {
            "US Dollar",
            "British Pound Sterling",
            "Euro",
            "Canadian Dollar",
            "Australian Dollar",
        }
        company.payment_methods |= {"Cash", "Check", "PayPal", "Credit Card", "Amazon"}
        company.tax = taxes.SETUPS.get(edition, taxes.DEFAULT)
        company.tax_codes |= {code.name for code in company.tax.codes}
        for tax_item in company.tax.items:
            company.add_list_record(tax_item.name, "ItemSalesTaxGroup" if tax_item.group else "ItemSalesTax")
        # the lists a new company file starts with (QuickBooks' Ship Via and Terms defaults); no classes
        company.ship_methods |= {"DHL", "FedEx", "UPS", "USPS", "Federal Express"}
        company.terms |= {"Due on receipt", "Net 15", "Net 30", "Net 60", "1% 10 Net 30", "2% 10 Net 30"}
        for name in ("Shipping", "Rounding", "Discount") if service_items else ():
            income = "Shipping Income" if name == "Shipping" else "Sales"
            company.add_list_record(name, "ItemOtherCharge").fields["IncomeAccount"] = income
        for name, quantity in (("SKU-ABC-001", 120), ("SKU-ABC-002", 40), ("SKU-XYZ-010", 7)):
            company.add_list_record(name, "ItemInventory", quantity=Decimal(quantity)).fields["IncomeAccount"] = \
                "Merchandise Sales"
        return company

    def add_list_record(
        self, name: str, kind: str, *, currency: str | None = None, quantity: Decimal = Decimal(0),
        part_number: str | None = None,
    ) -> ListRecord:
        """``part_number``: the item's Manufacturer's Part Number (ItemInventoryAdd/ItemNonInventoryAdd, 31)."""
        with self._lock:
            record = ListRecord(self._list_id(), name, kind, currency, quantity,
                                {"ManufacturerPartNumber": part_number} if part_number else {})
            self.lists[name.lower()] = record
            return record

    def _list_id(self) -> str:
        return f"{0x80000000 + next(self._ids):X}-{self._epoch}"

    def _txn_id(self) -> str:
        return f"{next(self._ids):X}-{self._epoch}"

    def recorded(self, txn: str, entity: str, add, rq, *, include_lines: bool, lines=(), **fields):
        """The transaction an ``...Add`` asked for (its date, number, memo and rate as sent) added to the file, and
        the Status OK response that returns it."""
        transaction = Transaction(
            txn_id=self._txn_id(), txn_type=txn, entity=entity,
            txn_date=add.findtext("TxnDate") or dt.date(2024, 1, 1).isoformat(),
            ref_number=add.findtext("RefNumber"), memo=add.findtext("Memo"), lines=list(lines),
            number=len(self.transactions) + 1, exchange_rate=add.findtext("ExchangeRate"), **fields)
        self.transactions.append(transaction)
        rs = _rs(rq, 0, "Info", "Status OK")
        rs.append(self._txn_ret(transaction, include_lines=include_lines, rq=None))
        return rs

    # --- inspection ----------------------------------------------------------------------------------------
    def records(self, kind_prefix: str) -> list[ListRecord]:
        return [r for r in self.lists.values() if r.kind.startswith(kind_prefix)]

    def find_transactions(self, txn_type: str, ref_number: str | None = None) -> list[Transaction]:
        return [
            t
            for t in self.transactions
            if t.txn_type == txn_type and (ref_number is None or t.ref_number == ref_number)
        ]

    def fingerprint(self) -> dict:
        with self._lock:
            return {
                "lists": sorted(
                    (r.kind, r.name, r.currency or "", str(r.quantity)) for r in self.lists.values()
                ),
                "transactions": sorted(
                    (
                        t.txn_type,
                        t.entity,
                        t.ref_number or "",
                        t.memo or "",
                        t.txn_date,
                        str(t.total),
                        tuple(
                            (ln.item, str(ln.quantity), str(ln.amount), str(ln.received), bool(ln.link))
                            for ln in t.lines
                        ),
                    )
                    for t in self.transactions
                ),
            }

    def host_company_preferences(self) -> str:
        """The strHCPResponse of a session's first sendRequestXML (HostQuery, CompanyQuery,
        PreferencesQuery)."""
        versions = "".join(f"<SupportedQBXMLVersion>{v}.0</SupportedQBXMLVersion>" for v in range(1, 14))
        return (
            '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
            '<HostQueryRs requestID="0" statusCode="0" statusSeverity="Info" statusMessage="Status OK">'
            "<HostRet>"
            "<ProductName>QuickBooks Enterprise Solutions 23.0</ProductName><MajorVersion>33</MajorVersion>"
            f"<MinorVersion>0</MinorVersion><Country>US</Country>{versions}<IsAutomaticLogin>false</IsAutomaticLogin>"
            "<QBFileMode>SingleUser</QBFileMode></HostRet></HostQueryRs>"
            '<CompanyQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK">'
            "<CompanyRet>"
            "<IsSampleCompany>false</IsSampleCompany><CompanyName>Simulated Shop</CompanyName></CompanyRet>"
            "</CompanyQueryRs>"
            '<PreferencesQueryRs requestID="2" statusCode="0" statusSeverity="Info" '
            'statusMessage="Status OK">'
            "<PreferencesRet><MultiCurrencyPreferences>"
            f"<IsMultiCurrencyOn>{'true' if self.multicurrency else 'false'}</IsMultiCurrencyOn>"
            f"<HomeCurrencyRef><FullName>{self.home_currency}</FullName></HomeCurrencyRef>"
            "</MultiCurrencyPreferences></PreferencesRet></PreferencesQueryRs>"
            "</QBXMLMsgsRs></QBXML>"
        )

    # --- the request processor ------------------------------------------------------------------------------
    def process(self, request: str) -> str:
        """Answer one qbXML request document; raise QuickBooksParseError when QuickBooks would
        refuse it whole."""
        with self._lock:
            self.received.append(request)
            if any(ord(ch) > 0xFF for ch in request):
                raise QuickBooksParseError("text outside ISO-8859-1")
            if self.validator is not None:
                problems = self.validator.validate(request)
                if problems:
                    raise QuickBooksParseError(str(problems[0]))
            try:
                root = parse_text(request)
            except ValueError as exc:
                raise QuickBooksParseError(str(exc)) from exc
            msgs = root.find("QBXMLMsgsRq")
            if msgs is None or msgs.get("onError") not in (
                "stopOnError",
                "continueOnError",
                "rollbackOnError",
            ):
                raise QuickBooksParseError("QBXMLMsgsRq with onError required")
            out_root = etree.Element("QBXML")
            out = etree.SubElement(out_root, "QBXMLMsgsRs")
            for rq in msgs:
                if not isinstance(rq.tag, str):
                    continue
                rs = self._answer(rq)
                out.append(rs)
                if rs.get("statusSeverity") == "Error" and msgs.get("onError") != "continueOnError":
                    break
            return '<?xml version="1.0" ?>\n' + etree.tostring(out_root, encoding="unicode")

    def _answer(self, rq: etree._Element) -> etree._Element:
        name = rq.tag[:-2]  # CustomerAddRq -> CustomerAdd
        handler = getattr(self, f"_rq_{name}", None)
        if handler is None:
            for txn in TXN_TYPES:
                if name == f"{txn}Add":
                    return self._txn_add(rq, txn)
                if name == f"{txn}Query":
                    return self._txn_query(rq, txn)
                if name == f"{txn}Mod" and txn in ("SalesReceipt", "Invoice", "CreditMemo"):
                    return self._txn_mod(rq, txn)
            return _rs(rq, 2000, "Error", f"The request {rq.tag} is not supported by this simulator.")
        return handler(rq)

    # --- lists -------------------------------------------------------------------------------------------
    def _name_in_use(self, rq: etree._Element, name: str) -> etree._Element | None:
        if name.lower() in self.lists:
            return _rs(rq, 3100, "Error", f'The name "{name}" of the list element is already in use.')
        return None

    def _party_add(self, rq: etree._Element, kind: str) -> etree._Element:
        add = rq.find(f"{kind}Add")
        name = add.findtext("Name")
        clash = self._name_in_use(rq, name)
        if clash is not None:
            return clash
        currency = add.findtext("CurrencyRef/FullName")
        if currency is not None:
            if not self.multicurrency:
                return _rs(
                    rq,
                    3250,
                    "Error",
                    "This feature is not enabled or not available in this version of QuickBooks.",
                )
            if currency not in self.currencies:
                return _rs(
                    rq,
                    3140,
                    "Error",
                    f'There is an invalid reference to QuickBooks Currency "{currency}" in the {kind}. '
                    "QuickBooks error message: Invalid argument. The specified record does not exist "
                    "in the list.",
                )
        record = self.add_list_record(name, kind, currency=currency or self.home_currency)
        record.fields = {child.tag: child for child in add}
        rs = _rs(rq, 0, "Info", "Status OK")
        rs.append(self._list_ret(record, rq))
        return rs

    def _rq_CustomerAdd(self, rq):  # noqa: N802 - named after the qbXML request
        return self._party_add(rq, "Customer")

    def _rq_VendorAdd(self, rq):  # noqa: N802
        return self._party_add(rq, "Vendor")

    def _rq_CustomerQuery(self, rq):  # noqa: N802
        return self._list_query(rq, ("Customer",))

    def _rq_VendorQuery(self, rq):  # noqa: N802
        return self._list_query(rq, ("Vendor",))

    def _rq_ItemQuery(self, rq):  # noqa: N802
        if rq.get("iterator"):
            # ListQuery with an iterator (qbxmlops130.xsd ItemQueryRqType): pages of every item, active only
            # when ActiveStatus says so (every record here is active)
            return self._iterate(rq, lambda: sorted((r for r in self.lists.values() if r.kind.startswith("Item")),
                                                    key=lambda r: r.name.lower()))
        return self._list_query(rq, ("Item",))

    def _rq_ItemNonInventoryAdd(self, rq):  # noqa: N802
        return self._item_add(rq, "ItemNonInventory", "Item Non-inventory")

    def _rq_ItemOtherChargeAdd(self, rq):  # noqa: N802
        return self._item_add(rq, "ItemOtherCharge", "Item Other Charge")

    def _item_add(self, rq, kind: str, label: str):
        """ItemNonInventoryAdd / ItemOtherChargeAdd: a unique name, and accounts that exist. An item with no
        account at all is refused: the XSD leaves AccountRef optional, the reference is silent, and QuickBooks
        cannot post a sale to an item without one, so the stricter behaviour [UNVERIFIED status code]."""
        add = rq.find(f"{kind}Add")
        name = add.findtext("Name")
        clash = self._name_in_use(rq, name)
        if clash is not None:
            return clash
        refs = list(add.iter("IncomeAccountRef", "ExpenseAccountRef", "AccountRef"))
        if not refs:
            return _rs(rq, 3180, "Error", f"There was an error when saving a {label} list, element \"{name}\". "
                       "QuickBooks error message: An account must be specified for this item.")
        for ref in refs:
            account = ref.findtext("FullName")
            if account not in self.accounts:
                return _rs(
                    rq,
                    3140,
                    "Error",
                    f'There is an invalid reference to QuickBooks Account "{account}" in the '
                    f"{label}. QuickBooks error message: Invalid argument. The specified record "
                    "does not exist in the list.",
                )
        record = self.add_list_record(name, kind, part_number=add.findtext("ManufacturerPartNumber"))
        income = next((r.findtext("FullName") for r in add.iter("IncomeAccountRef", "AccountRef")), None)
        if income:
            record.fields["IncomeAccount"] = income
        rs = _rs(rq, 0, "Info", "Status OK")
        rs.append(self._list_ret(record, rq))
        return rs

    def _list_query(self, rq: etree._Element, kinds: tuple[str, ...]) -> etree._Element:
        names = [n.text or "" for n in rq.findall("FullName")]
        matches = [r for r in self.lists.values() if r.kind.startswith(kinds)]
        if names:
            found = [
                self.lists[n.lower()]
                for n in names
                if n.lower() in self.lists and self.lists[n.lower()].kind.startswith(kinds)
            ]
            missing = [
                n
                for n in names
                if n.lower() not in self.lists or not self.lists[n.lower()].kind.startswith(kinds)
            ]
            if not found:
                return _rs(rq, 1, "Info", "A query request did not find a matching object in QuickBooks")
            if missing:
                rs = _rs(
                    rq,
                    500,
                    "Warn",
                    "The query request has not been fully completed. There was a required "
                    f'element ("{missing[0]}") that could not be found in QuickBooks.',
                )
            else:
                rs = _rs(rq, 0, "Info", "Status OK")
            matches = found
        else:
            matches.sort(key=lambda r: r.name.lower())
            limit = rq.findtext("MaxReturned")
            if limit:
                matches = matches[: int(limit)]
            if not matches:
                return _rs(rq, 1, "Info", "A query request did not find a matching object in QuickBooks")
            rs = _rs(rq, 0, "Info", "Status OK")
        for record in matches:
            rs.append(self._list_ret(record, rq))
        return rs

    def _rq_SalesTaxCodeQuery(self, rq):  # noqa: N802
        """The company's sales tax codes (SalesTaxCodeRet: ListCore, Name, IsActive, IsTaxable, Desc,
        ItemPurchaseTaxRef, ItemSalesTaxRef, in the XSD's order)."""
        names = {n.text for n in rq.findall("FullName") if n.text}
        codes = [c for c in self.tax.codes if not names or c.name in names]
        if not codes:
            return _rs(rq, 1, "Info", "A query request did not find a matching object in QuickBooks")
        rs = _rs(rq, 0, "Info", "Status OK")
        for code in codes:
            ret = self._list_core("SalesTaxCodeRet", f"code:{code.name}")
            for tag, text in (("Name", code.name), ("IsActive", "true"),
                              ("IsTaxable", "true" if code.taxable else "false"), ("Desc", code.desc)):
                etree.SubElement(ret, tag).text = text
            for tag, name in (("ItemPurchaseTaxRef", code.purchase_item), ("ItemSalesTaxRef", code.sales_item)):
                if name:
                    self._ref(ret, tag, name)
            rs.append(_only(ret, rq))
        return rs

    def _rq_ItemSalesTaxQuery(self, rq):  # noqa: N802
        return self._tax_items(rq, group=False)

    def _rq_ItemSalesTaxGroupQuery(self, rq):  # noqa: N802
        return self._tax_items(rq, group=True)

    def _tax_items(self, rq, *, group: bool):
        """ItemSalesTaxRet (ListCore, Name, IsActive, ItemDesc, TaxRate, TaxVendorRef) or ItemSalesTaxGroupRet
        (ListCore, Name, IsActive, ItemDesc, ItemSalesTaxRef...)."""
        names = {n.text.lower() for n in rq.findall("FullName") if n.text}
        items = [i for i in self.tax.items if i.group == group and (not names or i.name.lower() in names)]
        if not items:
            return _rs(rq, 1, "Info", "A query request did not find a matching object in QuickBooks")
        rs = _rs(rq, 0, "Info", "Status OK")
        for tax_item in items:
            kind = "ItemSalesTaxGroup" if group else "ItemSalesTax"
            ret = self._list_core(f"{kind}Ret", self.lists[tax_item.name.lower()].list_id)
            etree.SubElement(ret, "Name").text = tax_item.name
            etree.SubElement(ret, "IsActive").text = "true"
            etree.SubElement(ret, "ItemDesc").text = tax_item.vendor or tax_item.name
            if group:
                for member in tax_item.members:
                    self._ref(ret, "ItemSalesTaxRef", member)
            else:
                etree.SubElement(ret, "TaxRate").text = format(tax_item.rate, "f")
                if tax_item.vendor:
                    etree.SubElement(etree.SubElement(ret, "TaxVendorRef"), "FullName").text = tax_item.vendor
            rs.append(_only(ret, rq))
        return rs

    def _list_core(self, tag: str, list_id: str) -> etree._Element:
        ret = etree.Element(tag)
        stamp = _stamp(self._epoch)
        for child, text in (("ListID", list_id), ("TimeCreated", stamp), ("TimeModified", stamp),
                            ("EditSequence", str(self._epoch))):
            etree.SubElement(ret, child).text = text
        return ret

    def _ref(self, parent: etree._Element, tag: str, name: str) -> None:
        node = etree.SubElement(parent, tag)
        record = self.lists.get(name.lower())
        if record is not None:
            etree.SubElement(node, "ListID").text = record.list_id
        etree.SubElement(node, "FullName").text = name

    def _rq_ItemInventoryQuery(self, rq):  # noqa: N802
        def inventory():
            records = sorted((r for r in self.lists.values() if r.kind == "ItemInventory"),
                             key=lambda r: r.name.lower())
            names = {n.text.lower() for n in rq.findall("FullName") if n.text}
            return [r for r in records if r.name.lower() in names] if names else records

        return self._iterate(rq, inventory)

    def _iterate(self, rq: etree._Element, records) -> etree._Element:
        """An iterator query (Start / Continue / Stop): pages of MaxReturned records; ``records()`` the rows."""
        iterator = rq.get("iterator")
        page_size = int(rq.findtext("MaxReturned") or 0) or None
        if iterator == "Continue":
            iterator_id = rq.get("iteratorID", "")
            remaining = self.iterators.get(iterator_id)
            if remaining is None:
                return _rs(
                    rq,
                    3000,
                    "Error",
                    f'The given object ID "{iterator_id}" in the field "iteratorID" is invalid.',
                )
        elif iterator == "Stop":
            self.iterators.pop(rq.get("iteratorID", ""), None)
            return _rs(rq, 0, "Info", "Status OK")
        else:
            remaining = records()
            iterator_id = "{" + str(uuid.uuid4()).upper() + "}" if iterator == "Start" else ""
        page = remaining[:page_size] if (iterator and page_size) else remaining
        rest = remaining[len(page) :]
        if not page and iterator != "Continue":
            return _rs(rq, 1, "Info", "A query request did not find a matching object in QuickBooks")
        rs = _rs(rq, 0, "Info", "Status OK")
        if iterator:
            rs.set("iteratorRemainingCount", str(len(rest)))
            rs.set("iteratorID", iterator_id)
            if rest:
                self.iterators[iterator_id] = rest
            else:
                self.iterators.pop(iterator_id, None)
        for record in page:
            rs.append(self._list_ret(record, rq))
        return rs

    def _list_ret(self, record: ListRecord, rq: etree._Element) -> etree._Element:
        ret = etree.Element(f"{record.kind}Ret")
        stamp = _stamp(self._epoch)
        values = [
            ("ListID", record.list_id),
            ("TimeCreated", stamp),
            ("TimeModified", stamp),
            ("EditSequence", str(self._epoch)),
            ("Name", record.name),
            ("FullName", record.name),
            ("IsActive", "true"),
        ]
        if record.fields.get("ManufacturerPartNumber"):
            values.append(("ManufacturerPartNumber", record.fields["ManufacturerPartNumber"]))
        if record.kind == "ItemInventory":
            values.append(("QuantityOnHand", _quantity(record.quantity)))
        for tag, text in values:
            etree.SubElement(ret, tag).text = text
        income = record.fields.get("IncomeAccount")
        if income and record.kind == "ItemInventory":  # ItemInventoryRet: IncomeAccountRef
            etree.SubElement(etree.SubElement(ret, "IncomeAccountRef"), "FullName").text = income
        elif income and record.kind.startswith("Item"):  # the others: SalesOrPurchase AccountRef
            etree.SubElement(etree.SubElement(etree.SubElement(ret, "SalesOrPurchase"), "AccountRef"),
                             "FullName").text = income
        if record.kind in ("Customer", "Vendor") and record.currency:
            etree.SubElement(etree.SubElement(ret, "CurrencyRef"), "FullName").text = record.currency
        return _only(ret, rq)

    # --- transactions --------------------------------------------------------------------------------------
    def _txn_add(self, rq: etree._Element, txn: str) -> etree._Element:
        add = rq.find(f"{txn}Add")
        entity_tag, entity_kind = (
            ("VendorRef", "Vendor") if txn in ("PurchaseOrder", "Bill") else ("CustomerRef", "Customer")
        )
        entity = add.findtext(f"{entity_tag}/FullName")
        record = self.lists.get((entity or "").lower())
        if record is None or record.kind != entity_kind:
            return _invalid_ref(rq, entity_kind, entity, txn)
        for tag in ("DepositToAccountRef", "ARAccountRef", "APAccountRef"):
            account = add.findtext(f"{tag}/FullName")
            if account is not None and account not in self.accounts:
                return _invalid_ref(rq, "Account", account, txn)
        tax_item = add.findtext("ItemSalesTaxRef/FullName")
        if tax_item is not None:
            # quickbooks-tax.md §5 "CA": "If you use QB Canada, you cannot add an item sales tax" (3140); elsewhere
            # the reference must name a sales tax item or group
            found = self.lists.get(tax_item.lower())
            if self.edition == "ca" or found is None or found.kind not in ("ItemSalesTax", "ItemSalesTaxGroup"):
                return _invalid_ref(rq, "Item Sales Tax", tax_item, txn)
        payment = add.findtext("PaymentMethodRef/FullName")
        if payment is not None and payment not in self.payment_methods:
            return _invalid_ref(rq, "Payment Method", payment, txn)
        for tag in ("CustomerSalesTaxCodeRef", "SalesTaxCodeRef"):
            header_code = add.findtext(f"{tag}/FullName")
            if header_code is not None and header_code not in self.tax_codes:
                return _invalid_ref(rq, "Sales Tax Code", header_code, txn)
        # every list reference names an existing entry, else 3140 (quickbooks-desktop-qbwc.md §174 "missing refs")
        for tag, known, what in (("ClassRef", self.classes, "Class"), ("ShipMethodRef", self.ship_methods,
                                 "Ship Method"), ("TermsRef", self.terms, "Terms")):
            name = add.findtext(f"{tag}/FullName")
            if name is not None and name.lower() not in {k.lower() for k in known}:
                return _invalid_ref(rq, what, name, txn)
        lines: list[TxnLine] = []
        taxed: list[taxes.TaxedLine] = []
        line_tag = _SALES_LINE[txn] + "Add"
        for node in add.findall(line_tag):
            item = node.findtext("ItemRef/FullName")
            if (
                item is None
                or item.lower() not in self.lists
                or not self.lists[item.lower()].kind.startswith("Item")
            ):
                return _invalid_ref(rq, "Item", item, txn)
            line_class = node.findtext("ClassRef/FullName")
            if line_class is not None and line_class.lower() not in {k.lower() for k in self.classes}:
                return _invalid_ref(rq, "Class", line_class, txn)
            code = node.findtext("SalesTaxCodeRef/FullName")
            if code is not None and code not in self.tax_codes:
                return _invalid_ref(rq, "Sales Tax Code", code, txn)

            quantity = node.findtext("Quantity")
            rate = node.findtext("Rate") or node.findtext("Cost")
            amount = node.findtext("Amount")
            if amount is None:
                amount = str(Decimal(quantity or 1) * Decimal(rate or 0))
            tax_amount = node.findtext("TaxAmount")
            taxed.append(taxes.TaxedLine(Decimal(amount), code,
                                         Decimal(tax_amount) if tax_amount is not None else None))
            link = None
            link_node = node.find("LinkToTxn")
            if link_node is not None:
                link = (link_node.findtext("TxnID"), link_node.findtext("TxnLineID"))
                po_line = self._po_line(*link)
                if po_line is None:
                    return _rs(
                        rq, 3120, "Error", f'Object "{link[0]}" specified in the request cannot be found.'
                    )
            lines.append(
                TxnLine(
                    self._txn_id(),
                    self.lists[item.lower()].name,
                    Decimal(quantity) if quantity is not None else None,
                    Decimal(amount),
                    node.findtext("Desc"),
                    link=link,
                    tax=Decimal(node.findtext("TaxAmount") or 0),
                )
            )
        subtotal, tax, percentage = taxes.compute(
            self.tax, taxed, purchase=txn in ("PurchaseOrder", "Bill"), header_item=tax_item,
            customer_code=add.findtext("CustomerSalesTaxCodeRef/FullName"),
            tax_included=(add.findtext("IsTaxIncluded") or "").strip() == "true")
        # Everything checked: apply.
        for line in lines:
            item = self.lists[line.item.lower()]
            if item.kind == "ItemInventory" and line.quantity is not None:
                item.quantity += _STOCK_SIGN[txn] * line.quantity
            if line.link:
                self._po_line(*line.link).received += line.quantity or Decimal(0)
        return self.recorded(
            txn, record.name, add, rq, include_lines=True, lines=lines, subtotal=subtotal, tax=tax,
            tax_percentage=percentage,
            tax_item=tax_item or (self.tax.default_item if percentage is not None else None))

    def _rq_JournalEntryAdd(self, rq):  # noqa: N802 - named after the qbXML request
        return journal.journal_entry_add(self, rq, _rs, _invalid_ref, TxnLine)

    def _rq_ReceivePaymentAdd(self, rq):  # noqa: N802 - named after the qbXML request
        """A customer payment applied to invoices (qbxml130.xsd ReceivePaymentAdd: CustomerRef, ..., TotalAmount,
        PaymentMethodRef, DepositToAccountRef, AppliedToTxnAdd{TxnID, PaymentAmount}). Refused as QuickBooks does:
        an unknown customer, account or payment method (3140); an applied TxnID that is not an open invoice of
        that customer (3120, "cannot be found"); more applied to an invoice than it still owes (3210, "You cannot
        pay more than the amount due", quickbooks-desktop-qbwc.md §10); more applied in all than the payment's
        TotalAmount (3210 too [UNVERIFIED]: the reference is silent, the stricter choice)."""
        add = rq.find("ReceivePaymentAdd")
        txn = "ReceivePayment"
        entity = add.findtext("CustomerRef/FullName")
        record = self.lists.get((entity or "").lower())
        if record is None or record.kind != "Customer":
            return _invalid_ref(rq, "Customer", entity, txn)
        for tag in ("DepositToAccountRef", "ARAccountRef"):
            account = add.findtext(f"{tag}/FullName")
            if account is not None and account not in self.accounts:
                return _invalid_ref(rq, "Account", account, txn)
        method = add.findtext("PaymentMethodRef/FullName")
        if method is not None and method not in self.payment_methods:
            return _invalid_ref(rq, "Payment Method", method, txn)
        applied: list[tuple[Transaction, Decimal]] = []
        for node in add.findall("AppliedToTxnAdd"):
            txn_id = node.findtext("TxnID")
            invoice = next((t for t in self.transactions if t.txn_id == txn_id and t.txn_type == "Invoice"
                            and t.entity == record.name and not t.void), None)
            if invoice is None:
                return _rs(rq, 3120, "Error", f'Object "{txn_id}" specified in the request cannot be found.')
            amount = Decimal(node.findtext("PaymentAmount") or invoice.balance)
            owed = invoice.balance - sum((a for t, a in applied if t is invoice), Decimal(0))
            if amount > owed:
                return _rs(rq, 3210, "Error", "The transaction is not in balance. You cannot pay more than the "
                           f"amount due ({owed}) on invoice {invoice.ref_number}.")
            applied.append((invoice, amount))
        total = Decimal(add.findtext("TotalAmount") or sum((a for _, a in applied), Decimal(0)))
        if sum((a for _, a in applied), Decimal(0)) > total:
            return _rs(rq, 3210, "Error", "The amount applied is more than the payment amount.")
        for invoice, amount in applied:
            invoice.paid += amount
            invoice.edit_sequence += 1  # a payment applied modifies the invoice
        return self.recorded(
            txn, record.name, add, rq, include_lines=False, total_amount=total,
            applied_to=[(invoice.txn_id, amount) for invoice, amount in applied],
            deposit_to=add.findtext("DepositToAccountRef/FullName") or "Undeposited Funds", payment_method=method)

    # --- refunds paid out: credit card refund, cheque ----------------------------------------------------
    def _rq_ARRefundCreditCardAdd(self, rq):  # noqa: N802 - named after the qbXML request
        """ARRefundCreditCardAdd, "refund of a credit memo to a card" (quickbooks-desktop-qbwc.md §7): the
        customer, RefundFromAccountRef and each RefundAppliedToTxnAdd's credit memo must exist (3140, 3120); a
        refund larger than the credit left on the memo is refused (3210 [UNVERIFIED]: the reference is silent,
        the stricter choice)."""
        add = rq.find("ARRefundCreditCardAdd")
        return self._payout(rq, add, "ARRefundCreditCard", add.findtext("CustomerRef/FullName"),
                            add.findtext("RefundFromAccountRef/FullName"),
                            [(n.findtext("TxnID"), n.findtext("RefundAmount")) for n in
                             add.findall("RefundAppliedToTxnAdd")])

    def _rq_CheckAdd(self, rq):  # noqa: N802
        """CheckAdd (AccountRef, PayeeEntityRef, ..., ApplyCheckToTxnAdd{TxnID, Amount}): a cheque to the customer
        applied to a credit memo, checked like a credit card refund."""
        add = rq.find("CheckAdd")
        return self._payout(rq, add, "Check", add.findtext("PayeeEntityRef/FullName"),
                            add.findtext("AccountRef/FullName"),
                            [(n.findtext("TxnID"), n.findtext("Amount")) for n in add.findall("ApplyCheckToTxnAdd")])

    def _payout(self, rq, add, txn: str, entity: str | None, account: str | None, applied) -> etree._Element:
        record = self.lists.get((entity or "").lower())
        if record is None or record.kind != "Customer":
            return _invalid_ref(rq, "Customer", entity, txn)
        if account is None or account not in self.accounts:
            return _invalid_ref(rq, "Account", account, txn)
        plan = []
        for txn_id, amount in applied:
            memo = next((t for t in self.transactions if t.txn_id == txn_id and t.txn_type == "CreditMemo"
                         and t.entity == record.name and not t.void), None)
            if memo is None:
                return _rs(rq, 3120, "Error", f'Object "{txn_id}" specified in the request cannot be found.')
            amount = Decimal(amount or memo.balance)
            if amount > memo.balance:
                return _rs(rq, 3210, "Error", f"The refund ({amount}) is more than the credit left on credit memo "
                                              f"{memo.ref_number} ({memo.balance}).")
            plan.append((memo, amount))
        for memo, amount in plan:
            memo.paid += amount
            memo.edit_sequence += 1
        return self.recorded(
            txn, record.name, add, rq, include_lines=False, total_amount=sum((a for _, a in plan), Decimal(0)),
            applied_to=[(memo.txn_id, amount) for memo, amount in plan], deposit_to=account)

    # --- corrections: void, delete, modify ---------------------------------------------------------------
    def _by_id(self, txn_id: str | None, txn_type: str | None = None) -> Transaction | None:
        return next((t for t in self.transactions
                     if t.txn_id == txn_id and (txn_type is None or t.txn_type == txn_type)), None)

    def _rq_TxnVoid(self, rq):  # noqa: N802 - named after the qbXML request
        """TxnVoidRq (TxnVoidType, TxnID): the transaction stays with its number and every amount zero, its
        stock movement undone. Refused: an unknown TxnID (3120); an invoice with payments still applied, and a
        transaction already void (3210 [UNVERIFIED]: the reference is silent on both; refused, the stricter
        choice)."""
        txn_type, txn_id = rq.findtext("TxnVoidType"), rq.findtext("TxnID")
        t = self._by_id(txn_id, txn_type)
        if t is None:
            return _rs(rq, 3120, "Error", f'Object "{txn_id}" specified in the request cannot be found.')
        if t.void:
            return _rs(rq, 3210, "Error", f"The {_HUMAN.get(t.txn_type, t.txn_type)} {t.ref_number} is already void.")
        if t.txn_type == "Invoice" and t.paid > 0:
            return _rs(rq, 3210, "Error", f"Invoice {t.ref_number} has payments applied; delete them first.")
        for line in t.lines:
            item = self.lists.get(line.item.lower())
            if item is not None and item.kind == "ItemInventory" and line.quantity is not None:
                item.quantity -= _STOCK_SIGN.get(t.txn_type, 0) * line.quantity
            line.amount, line.tax = Decimal(0), Decimal(0)
        t.subtotal, t.tax = Decimal(0), Decimal(0)  # a void transaction keeps its lines at zero and no tax
        t.void = True
        t.memo = f"VOID: {t.memo or ''}".strip()
        t.edit_sequence += 1
        rs = _rs(rq, 0, "Info", "Status OK")
        for tag, text in (("TxnVoidType", txn_type), ("TxnID", txn_id)):
            etree.SubElement(rs, tag).text = text
        return rs

    def _rq_TxnDel(self, rq):  # noqa: N802
        """TxnDelRq (TxnDelType, TxnID): the transaction is gone; a deleted payment gives its invoices their
        balance back. Unknown TxnID: 3120."""
        txn_type, txn_id = rq.findtext("TxnDelType"), rq.findtext("TxnID")
        t = self._by_id(txn_id, txn_type)
        if t is None:
            return _rs(rq, 3120, "Error", f'Object "{txn_id}" specified in the request cannot be found.')
        for invoice_id, amount in t.applied_to:
            invoice = self._by_id(invoice_id)
            if invoice is not None:
                invoice.paid -= amount
                invoice.edit_sequence += 1
        self.transactions.remove(t)
        rs = _rs(rq, 0, "Info", "Status OK")
        for tag, text in (("TxnDelType", txn_type), ("TxnID", txn_id)):
            etree.SubElement(rs, tag).text = text
        return rs

    def _txn_mod(self, rq: etree._Element, txn: str) -> etree._Element:
        """<Txn>ModRq: TxnID and the EditSequence QuickBooks last returned (an older one: 3200, "EditSequence out
        of date", quickbooks-desktop-qbwc.md §10), then the fields to change. Lines sent with TxnLineID -1 are
        new; lines left out of a Mod that sends lines are removed. The header and lines are checked as an Add
        checks them."""
        mod = rq.find(f"{txn}Mod")
        t = self._by_id(mod.findtext("TxnID"), txn)
        if t is None:
            return _rs(rq, 3120, "Error", f'Object "{mod.findtext("TxnID")}" specified in the request cannot be found.')
        if mod.findtext("EditSequence") != str(t.edit_sequence):
            return _rs(rq, 3200, "Error", f'The provided edit sequence "{mod.findtext("EditSequence")}" is '
                                          "out-of-date.")
        if t.void:
            return _rs(rq, 3210, "Error", f"The {_HUMAN[txn]} {t.ref_number} is void and cannot be changed.")
        # checked and built as an Add would be, then put in place of the old lines
        probe_rq = etree.Element(f"{txn}AddRq")
        probe = etree.SubElement(probe_rq, f"{txn}Add")
        for child in mod:
            if child.tag in ("TxnID", "EditSequence"):
                continue
            node = copy.deepcopy(child)
            if node.tag == f"{_SALES_LINE[txn]}Mod":
                node.tag = f"{_SALES_LINE[txn]}Add"
                node.remove(node.find("TxnLineID"))
            probe.append(node)
        if probe.find("CustomerRef") is None:
            ref = etree.SubElement(probe, "CustomerRef")
            etree.SubElement(ref, "FullName").text = t.entity
            probe.insert(0, ref)
        count = len(self.transactions)
        answer = self._txn_add(probe_rq, txn)
        if len(self.transactions) == count:  # refused: the same status, answered as the Mod's
            rs = _rs(rq, int(answer.get("statusCode")), answer.get("statusSeverity"), answer.get("statusMessage"))
            return rs
        new = self.transactions.pop()
        if t.paid > new.total:
            for line in new.lines:  # undo the probe's stock movement
                item = self.lists.get(line.item.lower())
                if item is not None and item.kind == "ItemInventory" and line.quantity is not None:
                    item.quantity -= _STOCK_SIGN[txn] * line.quantity
            return _rs(rq, 3210, "Error", f"{_HUMAN[txn]} {t.ref_number} has {t.paid} paid; its total cannot fall "
                                          f"to {new.total}.")
        for line in t.lines:  # the old lines' stock movement undone; the new lines' is applied already
            item = self.lists.get(line.item.lower())
            if item is not None and item.kind == "ItemInventory" and line.quantity is not None:
                item.quantity -= _STOCK_SIGN[txn] * line.quantity
        t.lines, t.entity, t.txn_date = new.lines, new.entity, new.txn_date
        t.ref_number, t.memo, t.exchange_rate = new.ref_number, new.memo, new.exchange_rate
        t.subtotal, t.tax, t.tax_percentage, t.tax_item = new.subtotal, new.tax, new.tax_percentage, new.tax_item
        t.edit_sequence += 1
        rs = _rs(rq, 0, "Info", "Status OK")
        rs.append(self._txn_ret(t, include_lines=True, rq=None))
        return rs

    def _po_line(self, txn_id: str, line_id: str) -> TxnLine | None:
        for t in self.transactions:
            if t.txn_type == "PurchaseOrder" and t.txn_id == txn_id:
                return next((ln for ln in t.lines if ln.line_id == line_id), None)
        return None

    def _txn_query(self, rq: etree._Element, txn: str) -> etree._Element:
        refs = [r.text for r in rq.findall("RefNumber")]
        ids = [r.text for r in rq.findall("TxnID")]
        found = [
            t
            for t in self.transactions
            if t.txn_type == txn and (not refs or t.ref_number in refs) and (not ids or t.txn_id in ids)
        ]
        if not found:
            return _rs(rq, 1, "Info", "A query request did not find a matching object in QuickBooks")
        rs = _rs(rq, 0, "Info", "Status OK")
        include_lines = (rq.findtext("IncludeLineItems") or "").lower() in ("true", "1")
        for t in found:
            rs.append(self._txn_ret(t, include_lines=include_lines, rq=rq))
        return rs

    def _txn_ret(self, t: Transaction, *, include_lines: bool, rq: etree._Element | None) -> etree._Element:
        ret = etree.Element(f"{t.txn_type}Ret")
        stamp = _stamp(self._epoch)
        for tag, text in (
            ("TxnID", t.txn_id),
            ("TimeCreated", stamp),
            ("TimeModified", stamp),
            ("EditSequence", str(t.edit_sequence)),
            ("TxnNumber", str(t.number)),
        ):
            etree.SubElement(ret, tag).text = text
        if t.txn_type != "JournalEntry":  # a journal entry names its parties per line (JournalEntryRet)
            entity_tag = "VendorRef" if t.txn_type in ("PurchaseOrder", "Bill") else "CustomerRef"
            ref = etree.SubElement(ret, entity_tag)
            etree.SubElement(ref, "ListID").text = self.lists[t.entity.lower()].list_id
            etree.SubElement(ref, "FullName").text = t.entity
        etree.SubElement(ret, "TxnDate").text = t.txn_date
        if t.ref_number:
            etree.SubElement(ret, "RefNumber").text = t.ref_number
        if t.txn_type == "PurchaseOrder":
            received = all(ln.received >= (ln.quantity or 0) for ln in t.lines)
            etree.SubElement(ret, "IsFullyReceived").text = "true" if received else "false"
        if t.txn_type in _SALES_TAXED:
            # XSD order (SalesReceiptRet, InvoiceRet, CreditMemoRet): Subtotal, then the SalesTaxData group
            # (ItemSalesTaxRef, SalesTaxPercentage, SalesTaxTotal), then TotalAmount
            etree.SubElement(ret, "Subtotal").text = str((t.total - t.tax).quantize(Decimal("0.01")))
            if t.tax_item:
                self._ref(ret, "ItemSalesTaxRef", t.tax_item)
            if t.tax_percentage is not None:
                etree.SubElement(ret, "SalesTaxPercentage").text = format(t.tax_percentage, "f")
            etree.SubElement(ret, "SalesTaxTotal").text = str(t.tax.quantize(Decimal("0.01")))
        etree.SubElement(ret, "TotalAmount").text = str(t.total.quantize(Decimal("0.01")))
        if t.txn_type == "Invoice":
            etree.SubElement(ret, "AppliedAmount").text = str((-t.paid).quantize(Decimal("0.01")))
            etree.SubElement(ret, "BalanceRemaining").text = str(t.balance.quantize(Decimal("0.01")))
        if t.txn_type == "CreditMemo":
            etree.SubElement(ret, "CreditRemaining").text = str(t.balance.quantize(Decimal("0.01")))
        if t.memo:
            etree.SubElement(ret, "Memo").text = t.memo
        if t.txn_type == "Invoice":
            etree.SubElement(ret, "IsPaid").text = "true" if t.balance <= 0 else "false"
        if rq is not None and (rq.findtext("IncludeLinkedTxns") or "").lower() in ("true", "1"):
            for other in self.transactions:
                for applied_id, amount in other.applied_to:
                    if applied_id == t.txn_id:
                        link = etree.SubElement(ret, "LinkedTxn")
                        for tag, text in (("TxnID", other.txn_id), ("TxnType", other.txn_type),
                                          ("TxnDate", other.txn_date), ("RefNumber", other.ref_number or ""),
                                          ("LinkType", "AMTTYPE"), ("Amount", str(-amount))):
                            etree.SubElement(link, tag).text = text
        if include_lines:
            for line in t.lines:
                node = etree.SubElement(ret, _SALES_LINE[t.txn_type] + "Ret")
                etree.SubElement(node, "TxnLineID").text = line.line_id
                item = etree.SubElement(node, "ItemRef")
                etree.SubElement(item, "ListID").text = self.lists[line.item.lower()].list_id
                etree.SubElement(item, "FullName").text = line.item
                if line.desc:
                    etree.SubElement(node, "Desc").text = line.desc
                if line.quantity is not None:
                    etree.SubElement(node, "Quantity").text = _quantity(line.quantity)
                etree.SubElement(node, "Amount").text = str(line.amount.quantize(Decimal("0.01")))
                if t.txn_type == "PurchaseOrder":
                    etree.SubElement(node, "ReceivedQuantity").text = _quantity(line.received)
        return _only(ret, rq) if rq is not None else ret


_SALES_TAXED = ("SalesReceipt", "Invoice", "CreditMemo")


def _rs(rq: etree._Element, code: int, severity: str, message: str) -> etree._Element:
    rs = etree.Element(rq.tag[:-2] + "Rs")
    if rq.get("requestID") is not None:
        rs.set("requestID", rq.get("requestID"))
    rs.set("statusCode", str(code))
    rs.set("statusSeverity", severity)
    rs.set("statusMessage", message)
    return rs


def _invalid_ref(rq: etree._Element, what: str, name: str | None, txn: str) -> etree._Element:
    return _rs(
        rq,
        3140,
        "Error",
        f'There is an invalid reference to QuickBooks {what} "{name}" in the {_HUMAN[txn]}. QuickBooks '
        "error message: Invalid argument. The specified record does not exist in the list.",
    )


def _only(ret: etree._Element, rq: etree._Element) -> etree._Element:
    """Honour IncludeRetElement: only the named top-level children come back."""
    wanted = {n.text for n in rq.findall("IncludeRetElement") if n.text}
    if not wanted:
        return ret
    trimmed = etree.Element(ret.tag)
    for child in ret:
        if child.tag in wanted:
            trimmed.append(copy.deepcopy(child))
    return trimmed


def _stamp(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _quantity(value: Decimal) -> str:
    normal = value.normalize()
    return str(int(normal)) if normal == normal.to_integral_value() else format(normal, "f")
