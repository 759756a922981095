"""What QuickBooks Online checks when something is created, and what it derives (totals, stock, PO status).

Every refusal is a ``SimFault`` carrying a real QBO code, message and Detail, so the connector meets the same
faults it would meet in production.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal

from connex_quickbooks_online.faults import FAULT_MESSAGES
from connex_quickbooks_online.schema import entity_violations, field_tree
from connex_quickbooks_online.simulator import settlement
from connex_quickbooks_online.simulator.company import Company
from connex_quickbooks_online.simulator.journal import journal_entry
from connex_quickbooks_online.simulator.taxes import TaxEngine, cents, number

DOC_NUMBER_MAX = 21
DISPLAY_NAME_MAX = 500
SALES = ("SalesReceipt", "Invoice", "RefundReceipt", "CreditMemo")
PURCHASES = ("PurchaseOrder", "Bill")
SALES_DETAILS = (
    "SalesItemLineDetail",
    "DiscountLineDetail",
    "SubTotalLineDetail",
    "DescriptionOnly",
    "GroupLineDetail",
)
PURCHASE_DETAILS = ("ItemBasedExpenseLineDetail", "AccountBasedExpenseLineDetail")
TXN_LABEL = {
    "SalesReceipt": "Sales Receipt",
    "Invoice": "Invoice",
    "RefundReceipt": "Refund Receipt",
    "CreditMemo": "Credit Memo",
    "PurchaseOrder": "Purchase Order",
    "Bill": "Bill",
    "JournalEntry": "Journal Entry",
}
ITEM_TYPES = ("Inventory", "NonInventory", "Service", "Group", "Category")
CURRENCY = re.compile(r"^[A-Z]{3}\Z")

#: Text lengths from the "Product: QBO" notes of Intuit's XSDs (IntuitNamesTypes.xsd, IntuitBaseTypes.xsd,
#: Finance.xsd) and the reference (quickbooks-online-api.md §8: CompanyName 50). Longer text is refused with
#: 2050, as QBO does for DocNumber (reference §8, error table). Keys are element names wherever they appear.
TEXT_MAX = {
    "CompanyName": 50,
    "GivenName": 25,
    "FamilyName": 15,
    "FreeFormNumber": 21,
    "Line1": 500, "Line2": 500, "Line3": 500, "Line4": 500, "Line5": 500,
    "City": 255,
    "CountrySubDivisionCode": 255,
    "PostalCode": 30,
    "Country": 255,
    "PrivateNote": 4000,
    "Description": 4000,
}
#: [UNVERIFIED] the reference is silent on control characters: refused, the stricter choice (QBO stores its data
#: as XML, where C0 controls other than tab and line breaks cannot appear at all)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_violation(body, path: str = "") -> SimFault | None:
    """The first string of ``body`` that is too long or holds a control character, as QBO's fault."""
    items = body.items() if isinstance(body, dict) else enumerate(body) if isinstance(body, list) else ()
    for key, value in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(value, str):
            limit = TEXT_MAX.get(key) if isinstance(key, str) else None
            if limit is not None and len(value) > limit:
                return SimFault("2050", f"String length is either shorter or longer than supported. "
                                        f"{key}:Max:{limit}", where)
            if CONTROL.search(value):
                return SimFault("2050", f"{key} contains a character that is not allowed", where)
        elif isinstance(value, dict | list):
            found = text_violation(value, where)
            if found is not None:
                return found
    return None


class SimFault(Exception):
    def __init__(
        self,
        code: str,
        detail: str = "",
        element: str = "",
        *,
        status: int = 400,
        fault_type: str = "ValidationFault",
        message: str | None = None,
    ):
        super().__init__(f"{code} {detail}")
        self.message = message
        self.code, self.detail, self.element, self.status, self.fault_type = (
            code,
            detail,
            element,
            status,
            fault_type,
        )

    def fault(self) -> dict:
        return {
            "Error": [
                {
                    "Message": self.message or FAULT_MESSAGES.get(self.code, "Error"),
                    "Detail": self.detail or FAULT_MESSAGES.get(self.code, ""),
                    "code": self.code,
                    "element": self.element,
                }
            ],
            "type": self.fault_type,
        }


def decimal(value, element: str) -> Decimal:
    return number(value, element, SimFault)


class Rules:
    def __init__(self, company: Company):
        self.company = company
        self.taxes = TaxEngine(company, self._resolve, SimFault)
        field_tree()  # parse Intuit's XSDs now: a missing schema folder fails here, not on a first create

    # --- entry point ---------------------------------------------------------------------------------------
    def create(self, entity: str, body: dict, *, visible_upto: int | None = None) -> dict:
        """Validate and store one create. ``visible_upto``: the last Id that existed when the batch started,
        because a batch item cannot see what earlier items of the same batch created."""
        if not isinstance(body, dict):
            raise SimFault("2010", f"Request body for {entity} must be an object")
        unknown = entity_violations(entity, body)
        if unknown:
            field = unknown[0].split(":")[0]
            raise SimFault(
                "2010",
                f'Property Name:Unrecognized field "{field.split(".")[-1]}" (class '
                f"com.intuit.schema.finance.v3.{entity}), not marked as ignorable",
                field,
            )
        too_long = text_violation(body, entity)
        if too_long is not None:
            raise too_long
        if body.get("Id"):
            raise SimFault(
                "5010",
                f"{entity} Id {body['Id']} given on create: updates need the current SyncToken",
                f"{entity}.Id",
            )
        body = copy.deepcopy(body)
        self._visible = visible_upto
        with self.company.lock:
            if entity in ("Customer", "Vendor", "Employee"):
                return self._name_entity(entity, body)
            if entity == "Item":
                return self._item(body)
            if entity in SALES or entity in PURCHASES:
                return self._transaction(entity, body)
            if entity == "JournalEntry":
                return journal_entry(self, body, self._check_number)
            if entity == "Payment":
                return self._payment(body)
            if entity == "Purchase":
                return settlement.purchase(self, body, SimFault)
            if entity == "Account":
                return self._account(body)
            if entity in ("Class", "Department", "PaymentMethod"):
                return self._list_entry(entity, body)
        raise SimFault("2010", f"Create is not supported for {entity}")

    # --- what the journal-entry rules (simulator/journal.py) share with the other transactions ---------------
    fault_class = SimFault
    decimal = staticmethod(decimal)

    def resolve(self, entity: str, reference, element: str) -> dict:
        return self._resolve(entity, reference, element)

    def _check_number(self, entity: str, body: dict, existing: dict | None = None) -> None:
        """DocNumber: at most 21 characters (2050), unique among the entity's transactions (6140)."""
        number = body.get("DocNumber")
        if number is None:
            return
        if len(str(number)) > DOC_NUMBER_MAX:
            raise SimFault("2050", "String length is either shorter or longer than supported by specification. "
                                   f"DocNumber:Max:{DOC_NUMBER_MAX}", f"{entity}.DocNumber")
        holder = self.company.by_name(entity, "DocNumber", str(number))
        if holder is not None and holder is not existing:
            raise SimFault("6140", "Duplicate Document Number Error : You must specify a different number. "
                                   f"This number has already been used. DocNumber={number} is assigned to "
                                   f"TxnType={TXN_LABEL[entity]} with TxnId={holder['Id']}")

    # --- references ----------------------------------------------------------------------------------------
    def _resolve(self, entity: str, reference, element: str) -> dict:
        value = reference.get("value") if isinstance(reference, dict) else None
        row = self.company.get(entity, value)
        visible = row is not None and (
            self._visible is None or not str(row["Id"]).isdigit() or int(row["Id"]) <= self._visible
        )
        if not visible:
            raise SimFault(
                "2500",
                f"Invalid Reference Id : {entity} assigned to {element} with Id {value} does not exist",
                element,
            )
        if row.get("Active") is False:
            raise SimFault(
                "610",
                f"Object Not Found : Something you're trying to use has been made inactive. "
                f"Check the fields with accounts, customers, items, vendors or employees. ({element})",
                element,
            )
        return row

    # --- names ---------------------------------------------------------------------------------------------
    def _name_entity(self, entity: str, body: dict) -> dict:
        name = body.get("DisplayName")
        if not name:
            parts = [body.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
            name = " ".join(p for p in parts if p)
            if not name:
                raise SimFault(
                    "2020",
                    "Required parameter DisplayName or a name part is missing",
                    f"{entity}.DisplayName",
                )
            body["DisplayName"] = name
        if ":" in name:
            raise SimFault("2050", "DisplayName cannot contain a colon (:)", f"{entity}.DisplayName")
        if len(name) > DISPLAY_NAME_MAX:
            raise SimFault(
                "2050",
                f"String length is either shorter or longer than supported by specification. "
                f"DisplayName:Max:{DISPLAY_NAME_MAX}",
                f"{entity}.DisplayName",
            )
        for other in ("Customer", "Vendor", "Employee"):
            holder = self.company.by_name(other, "DisplayName", name)
            if holder is not None:
                raise SimFault(
                    "6240",
                    "The name supplied already exists. : Another customer, vendor or employee is "
                    f"already using this name. Please use a different name. Id={holder['Id']}",
                )
        currency = (body.get("CurrencyRef") or {}).get("value") or self.company.home_currency
        if not CURRENCY.match(currency):
            raise SimFault(
                "2500", f"Invalid Reference Id : Currency {currency} is not valid", f"{entity}.CurrencyRef"
            )
        body["CurrencyRef"] = {"value": currency}
        body.setdefault("Active", True)
        body["FullyQualifiedName"] = name
        if entity in ("Customer", "Vendor"):
            body["Balance"] = 0
        return self.company.store(entity, body)

    def _account(self, body: dict) -> dict:
        if not body.get("Name"):
            raise SimFault("2020", "Required parameter Name is missing", "Account.Name")
        if self.company.by_name("Account", "Name", body["Name"]):
            raise SimFault("6240", f"Another account is already using this name: {body['Name']}")
        body.setdefault("Active", True)
        return self.company.store("Account", body)

    def _list_entry(self, entity: str, body: dict) -> dict:
        """A class, location (Department) or payment method: a Name, unique in its list (6240 as for accounts);
        a sub-entry names its parent (ParentRef), and its full name is the parent's, a colon, its own.
        Lengths from Finance.xsd: Class and Department Name 100 (QBO), PaymentMethod Name 15 (QBO)."""
        name = body.get("Name")
        if not name or not isinstance(name, str):
            raise SimFault("2020", "Required parameter Name is missing", f"{entity}.Name")
        limit = 15 if entity == "PaymentMethod" else 100
        if ":" in name or len(name) > limit:
            raise SimFault("2050", f"String length is either shorter or longer than supported by specification. "
                           f"Name:Max:{limit} (a colon is not allowed)", f"{entity}.Name")
        full = name
        if body.get("ParentRef") and entity != "PaymentMethod":
            parent = self._resolve(entity, body["ParentRef"], f"{entity}.ParentRef")
            full = f"{parent.get('FullyQualifiedName') or parent['Name']}:{name}"
            body[f"Sub{entity}"] = True
        if any(str(row.get("FullyQualifiedName") or row.get("Name")).casefold() == full.casefold()
               for row in self.company.all(entity)):
            raise SimFault("6240", f"Duplicate Name Exists Error : The name supplied already exists. : {full}",
                           f"{entity}.Name")
        if entity == "PaymentMethod" and body.get("Type", "NON_CREDIT_CARD") not in ("CREDIT_CARD", "NON_CREDIT_CARD"):
            raise SimFault("2170", f"Invalid Enumeration : {body['Type']}", "PaymentMethod.Type")
        if entity != "PaymentMethod":
            body["FullyQualifiedName"] = full
        body.setdefault("Active", True)
        return self.company.store(entity, body)

    def _item(self, body: dict) -> dict:
        name = body.get("Name")
        if not name:
            raise SimFault("2020", "Required parameter Name is missing", "Item.Name")
        if ":" in name or len(name) > 100:
            raise SimFault(
                "2050", "Name cannot contain a colon (:) and has at most 100 characters", "Item.Name"
            )
        if len(str(body.get("Sku", ""))) > 100:
            raise SimFault(
                "2050", "String length is either shorter or longer than supported. Sku:Max:100", "Item.Sku"
            )
        if self.company.by_name("Item", "Name", name):
            raise SimFault(
                "6240",
                f"The name supplied already exists. : Another product or service is already "
                f"using this name: {name}",
            )
        item_type = body.get("Type") or "NonInventory"
        if item_type not in ITEM_TYPES:
            raise SimFault("2170", f"Invalid Enumeration : {item_type}", "Item.Type")
        body["Type"] = item_type
        if item_type != "Category":
            if not body.get("IncomeAccountRef") and not body.get("ExpenseAccountRef"):
                raise SimFault(
                    "2020",
                    "Required parameter An account is required (IncomeAccountRef)",
                    "Item.IncomeAccountRef",
                )
            for field in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
                if body.get(field):
                    self._resolve("Account", body[field], f"Item.{field}")
        if item_type == "Inventory":
            for field in (
                "TrackQtyOnHand",
                "QtyOnHand",
                "InvStartDate",
                "AssetAccountRef",
                "ExpenseAccountRef",
            ):
                if body.get(field) in (None, ""):
                    raise SimFault(
                        "2020",
                        f"Required param missing, need to supply the required value for the API: "
                        f"{field} (inventory item)",
                        f"Item.{field}",
                    )
            if body.get("TrackQtyOnHand") is not True:
                raise SimFault("6000", "Inventory items must track quantity on hand", "Item.TrackQtyOnHand")
            body["QtyOnHand"] = decimal(body["QtyOnHand"], "Item.QtyOnHand")
            body["QtyOnHand"] = (
                int(body["QtyOnHand"])
                if body["QtyOnHand"] == int(body["QtyOnHand"])
                else float(body["QtyOnHand"])
            )
        body.setdefault("Active", True)
        body["FullyQualifiedName"] = name
        return self.company.store("Item", body)

    # --- transactions --------------------------------------------------------------------------------------
    def _transaction(self, entity: str, body: dict, existing: dict | None = None) -> dict:
        label = TXN_LABEL[entity]
        number = body.get("DocNumber")
        if number is not None:
            if len(str(number)) > DOC_NUMBER_MAX:
                raise SimFault(
                    "2050",
                    "String length is either shorter or longer than supported by specification. "
                    f"DocNumber:Max:{DOC_NUMBER_MAX}",
                    f"{entity}.DocNumber",
                )
            holder = self.company.by_name(entity, "DocNumber", str(number))
            if holder is not None and holder is not existing:
                raise SimFault(
                    "6140",
                    "Duplicate Document Number Error : You must specify a different number. "
                    f"This number has already been used. DocNumber={number} is assigned to "
                    f"TxnType={label} with TxnId={holder['Id']}",
                )
        currency = (body.get("CurrencyRef") or {}).get("value")
        if not currency:
            raise SimFault(
                "2020",
                "Required param missing, need to supply the required value for the API: "
                "CurrencyRef (multicurrency is on)",
                f"{entity}.CurrencyRef",
            )
        if entity in SALES:
            if not body.get("CustomerRef") and entity != "SalesReceipt":
                raise SimFault("2020", "Required parameter CustomerRef is missing", f"{entity}.CustomerRef")
            party = (
                self._resolve("Customer", body["CustomerRef"], f"{entity}.CustomerRef")
                if body.get("CustomerRef")
                else None
            )
        else:
            if not body.get("VendorRef"):
                raise SimFault("2020", "Required parameter VendorRef is missing", f"{entity}.VendorRef")
            party = self._resolve("Vendor", body["VendorRef"], f"{entity}.VendorRef")
        if party is not None:
            party_currency = party["CurrencyRef"]["value"]
            if party_currency != currency:
                raise SimFault(
                    "6000",
                    f"A business validation error has occurred while processing your request: "
                    f"Business Validation Error: The currency of {party['DisplayName']} ({party_currency}) "
                    f"doesn't match the transaction currency ({currency})",
                    f"{entity}.CurrencyRef",
                )
        if currency == self.company.home_currency:
            body["ExchangeRate"] = 1
        else:
            # Faithful to QBO: an omitted rate is silently stored as 1.0.
            rate = decimal(body.get("ExchangeRate", 1), f"{entity}.ExchangeRate")
            if rate <= 0:
                raise SimFault("6000", "ExchangeRate must be positive", f"{entity}.ExchangeRate")
            body["ExchangeRate"] = rate
        if entity == "RefundReceipt" and not body.get("DepositToAccountRef"):
            raise SimFault(
                "2020",
                "Required param missing, need to supply the required value for the API: DepositToAccountRef",
                "RefundReceipt.DepositToAccountRef",
            )
        if body.get("DepositToAccountRef"):
            self._resolve("Account", body["DepositToAccountRef"], f"{entity}.DepositToAccountRef")
        for field, listed in (("ClassRef", "Class"), ("DepartmentRef", "Department"),
                              ("PaymentMethodRef", "PaymentMethod"), ("SalesTermRef", "Term")):
            if body.get(field):
                self._resolve(listed, body[field], f"{entity}.{field}")
        ship = body.get("ShipMethodRef")
        if ship is not None:
            # no shipping-method list in QuickBooks Online: the reference carries the text (Intuit's SalesReceipt
            # page); its length is not documented, so the stricter 31 of QuickBooks' short names applies
            text = ship.get("value") if isinstance(ship, dict) else None
            if not isinstance(text, str) or not text.strip() or len(text) > 31:
                raise SimFault("2050", "String length is either shorter or longer than supported by "
                               "specification. ShipMethodRef:Max:31", f"{entity}.ShipMethodRef")
        if entity == "PurchaseOrder" and body.get("POStatus", "Open") not in ("Open", "Closed"):
            raise SimFault("2170", f"Invalid Enumeration : {body['POStatus']}", "PurchaseOrder.POStatus")
        lines = body.get("Line")
        if not isinstance(lines, list) or not lines:
            raise SimFault(
                "2020",
                "Required param missing, need to supply the required value for the API: Line",
                f"{entity}.Line",
            )
        allowed = SALES_DETAILS if entity in SALES else PURCHASE_DETAILS
        total = Decimal(0)
        movements: list[tuple[dict, Decimal]] = []
        links: list[tuple[dict, dict]] = []
        for number_in_doc, line in enumerate(lines, start=1):
            amount, movement, link = self._line(entity, line, allowed, number_in_doc)
            total += amount
            if movement:
                movements.append(movement)
            if link:
                links.append(link)
        tax = self.taxes.apply(entity, body, purchase=entity in PURCHASES)
        total = cents(total + tax)
        if entity in ("SalesReceipt", "RefundReceipt") and total < 0:
            raise SimFault(
                "6000",
                f"Business Validation Error: Transaction total can not be negative ({total})",
                f"{entity}.TotalAmt",
            )
        body["TotalAmt"] = float(total)
        if currency != self.company.home_currency:
            body["HomeTotalAmt"] = float(cents(total * Decimal(str(body["ExchangeRate"]))))
        if entity == "PurchaseOrder":
            body.setdefault("POStatus", "Open")
        if entity in ("Invoice", "Bill"):
            paid = self._paid(existing) if existing is not None else Decimal(0)
            if paid > total:
                raise SimFault("6000", f"Business Validation Error: payments of {paid} are applied to this "
                                       f"{label}; its total cannot fall to {total}", f"{entity}.TotalAmt")
            body["Balance"] = float(total - paid)
        if entity == "CreditMemo":
            # Finance.xsd CreditMemo.RemainingCredit: what is left to apply (Non QB-writable: computed here)
            used = settlement.applied_to(self.company, existing) if existing is not None else Decimal(0)
            if used > total:
                raise SimFault("6000", f"Business Validation Error: {used} of this credit memo is applied; its "
                                       f"total cannot fall to {total}", f"{entity}.TotalAmt")
            body["RemainingCredit"] = float(total - used)
        if existing is not None:
            return self._replace(entity, existing, body, movements)
        stored = self.company.store(entity, body)
        self._apply_stock(entity, movements)
        self._apply_links(stored, links)
        return stored

    # --- updates, voids, deletes ---------------------------------------------------------------------------
    def _paid(self, invoice: dict) -> Decimal:
        """What the payments linked to an invoice apply to it."""
        paid = Decimal(0)
        for link in invoice.get("LinkedTxn") or []:
            payment = self.company.get("Payment", link.get("TxnId")) if link.get("TxnType") == "Payment" else None
            if payment is None or payment.get("TxnStatus") == "Voided":
                continue
            for line in payment.get("Line") or []:
                if any(lt.get("TxnId") == invoice["Id"] for lt in line.get("LinkedTxn") or []):
                    paid += cents(decimal(line.get("Amount", 0), "Payment.Line.Amount"))
        return paid

    def current(self, entity: str, body: dict) -> dict:
        """The stored entity an update, void or delete names, checked against its SyncToken
        (quickbooks-online-api.md §6: an update "must carry the current value or fails with 5010 Stale Object
        Error")."""
        if not isinstance(body, dict) or not body.get("Id"):
            raise SimFault("2020", "Required param missing, need to supply the required value for the API: Id",
                           f"{entity}.Id")
        row = self.company.get(entity, body["Id"])
        if row is None:
            raise SimFault("610", f"Object Not Found : Something you're trying to use has been made inactive or "
                                  f"deleted: {entity} {body['Id']}", f"{entity}.Id")
        if str(body.get("SyncToken")) != str(row["SyncToken"]):
            raise SimFault("5010", f"Stale Object Error : You and {entity} {row['Id']} were working on this at the "
                                   f"same time. SyncToken {body.get('SyncToken')} is not the current "
                                   f"{row['SyncToken']}", f"{entity}.SyncToken")
        return row

    def update(self, entity: str, body: dict) -> dict:
        """``POST /{entity}`` with Id and SyncToken (reference §2, §6). ``sparse: true`` changes only the fields
        sent, and a ``Line`` sent replaces every line ([UNVERIFIED] in the reference; the stricter reading); a
        full update sets every writable field left out to nothing. A voided transaction cannot be edited
        [UNVERIFIED: the reference is silent; refused, the stricter choice]."""
        if entity not in SALES and entity not in PURCHASES:
            raise SimFault("2010", f"Update is not supported for {entity} by this simulator")
        unknown = entity_violations(entity, body)
        if unknown:
            raise SimFault("2010", f'Property Name:Unrecognized field "{unknown[0].split(":")[0]}"', unknown[0])
        too_long = text_violation(body, entity)
        if too_long is not None:
            raise too_long
        with self.company.lock:
            row = self.current(entity, body)
            if row.get("TxnStatus") == "Voided":
                raise SimFault("6000", f"Business Validation Error: {TXN_LABEL[entity]} {row['Id']} is void and "
                                       "cannot be changed", f"{entity}.Id")
            kept = ("Id", "SyncToken", "MetaData", "domain", "LinkedTxn")
            if body.get("sparse") is True:
                merged = {k: copy.deepcopy(v) for k, v in row.items()
                          if k not in ("TotalAmt", "HomeTotalAmt", "Balance", "RemainingCredit", "sparse")}
                merged.update(copy.deepcopy({k: v for k, v in body.items() if k not in ("sparse", "SyncToken")}))
            else:
                merged = {**{k: copy.deepcopy(row[k]) for k in kept if k in row},
                          **copy.deepcopy({k: v for k, v in body.items() if k not in ("sparse", "SyncToken")})}
            merged.pop("Id", None)
            self._visible = None
            return self._transaction(entity, merged, existing=row)

    def _replace(self, entity: str, row: dict, body: dict, movements) -> dict:
        """An update applied: stock moves by the difference, the Id stays, the SyncToken goes up."""
        self._apply_stock(entity, [(item, -qty) for item, qty in self._movements(entity, row)])
        self._apply_stock(entity, movements)
        number = row.get("DocNumber")
        for key in [k for k in row if k not in ("Id", "SyncToken", "MetaData", "domain", "LinkedTxn")]:
            del row[key]
        row.update({k: v for k, v in body.items() if k not in ("Id", "SyncToken", "MetaData", "domain")})
        row["sparse"] = False
        self.company.reindex(entity, row, number)
        self.company.touch(row)
        return row

    def _movements(self, entity: str, row: dict) -> list[tuple[dict, Decimal]]:
        sign = {"SalesReceipt": -1, "Invoice": -1, "RefundReceipt": 1, "CreditMemo": 1, "Bill": 1}.get(entity, 0)
        out = []
        for line in row.get("Line") or []:
            detail = line.get(line.get("DetailType") or "") or {}
            item = self.company.get("Item", (detail.get("ItemRef") or {}).get("value")) if isinstance(detail, dict) \
                else None
            if sign and item is not None and item.get("Type") == "Inventory":
                out.append((item, sign * decimal(detail.get("Qty", 1), "Line.Qty")))
        return out

    def void(self, entity: str, body: dict) -> dict:
        """Invoice ``?operation=void``; SalesReceipt and Payment ``?operation=update&include=void`` with a sparse
        body (reference §2). A voided transaction keeps its number and lines with every amount zero, so its
        money leaves the books ([UNVERIFIED] detail: QuickBooks shows "Voided" in the memo). Voiding one that is
        already void is refused [UNVERIFIED code: the reference is silent; 6000, the stricter choice], as is
        voiding an invoice that still has payments applied [UNVERIFIED: stricter; void the payment first]."""
        if entity not in ("Invoice", "SalesReceipt", "Payment"):
            raise SimFault("2010", f"Void is not supported for {entity} (reference §2: Invoice, SalesReceipt, "
                                   "Payment, BillPayment)")
        with self.company.lock:
            row = self.current(entity, body)
            if row.get("TxnStatus") == "Voided":
                raise SimFault("6000", f"Business Validation Error: {entity} {row['Id']} is already voided",
                               f"{entity}.Id")
            if entity == "Invoice" and self._paid(row) > 0:
                raise SimFault("6000", f"Business Validation Error: invoice {row['Id']} has payments applied; "
                                       "void or delete them first", f"{entity}.Id")
            if entity == "Payment":
                settlement.release_payment(self.company, row)
            else:
                self._apply_stock(entity, [(item, -qty) for item, qty in self._movements(entity, row)])
            for line in row.get("Line") or []:
                line["Amount"] = 0
                detail = line.get(line.get("DetailType") or "")
                if isinstance(detail, dict) and "UnitPrice" in detail:
                    detail["UnitPrice"] = 0
            row["TotalAmt"] = 0
            if "Balance" in row:
                row["Balance"] = 0
            if "TxnTaxDetail" in row:
                row["TxnTaxDetail"] = {"TotalTax": 0}
            row["TxnStatus"] = "Voided"
            row["PrivateNote"] = ("Voided; " + str(row.get("PrivateNote") or "")).strip("; ")[:4000]
            self.company.touch(row)
            return row

    def delete(self, entity: str, body: dict) -> dict:
        """``POST /{entity}?operation=delete`` with Id and SyncToken (reference §2): the transaction is gone."""
        if entity not in SALES and entity not in PURCHASES and entity != "Payment":
            raise SimFault("2010", f"Delete is not supported for {entity} by this simulator")
        with self.company.lock:
            row = self.current(entity, body)
            if entity == "Invoice" and self._paid(row) > 0:
                raise SimFault("6000", f"Business Validation Error: invoice {row['Id']} has payments applied",
                               f"{entity}.Id")
            if entity == "CreditMemo" and settlement.applied_to(self.company, row) > 0:
                # as for an invoice [UNVERIFIED: the reference is silent; refused, the stricter choice]
                raise SimFault("6000", f"Business Validation Error: credit memo {row['Id']} is applied by a payment; "
                                       "void or delete the payment first", f"{entity}.Id")
            if entity == "Payment" and row.get("TxnStatus") != "Voided":
                settlement.release_payment(self.company, row)
            self._apply_stock(entity, [(item, -qty) for item, qty in self._movements(entity, row)])
            self.company.remove(entity, row)
            return {"Id": row["Id"], "status": "Deleted", "domain": "QBO"}

    def _payment(self, body: dict) -> dict:
        """A customer payment applied to invoices (Finance.xsd ``Payment``: "a payment from a customer applied to
        one or more sales transactions"; quickbooks-online-api.md §7 ``LinkedTxn: TxnId, TxnType``).

        Enforced: CustomerRef and TotalAmt are required [UNVERIFIED: the XSD marks TotalAmt "Non QB-writable" for
        Desktop only; Intuit's Payment page requires it, the stricter choice]; the lines (invoices, credit memos,
        refund cheques of the same customer, none above its open balance or remaining credit, the charges less
        the credits never above TotalAmt) as ``settlement.plan_payment`` says; DepositToAccountRef, when given,
        must exist, else Undeposited Funds (Finance.xsd Payment.DepositToAccountRef "If not specified, the
        Undeposited Funds account will be used"); PaymentMethodRef must exist. Applying lowers the invoice's
        Balance (a credit memo's RemainingCredit), links the payment in its LinkedTxn and bumps its SyncToken
        (IntuitBaseTypes.xsd: "As soon as an application modifies an entity, its SyncToken is incremented")."""
        for field in ("CustomerRef", "TotalAmt"):
            if body.get(field) in (None, ""):
                raise SimFault("2020", f"Required param missing, need to supply the required value for the API: "
                                       f"{field}", f"Payment.{field}")
        customer = self._resolve("Customer", body["CustomerRef"], "Payment.CustomerRef")
        currency = (body.get("CurrencyRef") or {}).get("value") or customer["CurrencyRef"]["value"]
        if currency != customer["CurrencyRef"]["value"]:
            raise SimFault("6000", f"Business Validation Error: The currency of {customer['DisplayName']} "
                                   f"({customer['CurrencyRef']['value']}) doesn't match the payment currency "
                                   f"({currency})", "Payment.CurrencyRef")
        body["CurrencyRef"] = {"value": currency}
        total = cents(decimal(body["TotalAmt"], "Payment.TotalAmt"))
        if total < 0:
            raise SimFault("6000", "Business Validation Error: a payment amount cannot be negative", "Payment.TotalAmt")
        if body.get("DepositToAccountRef"):
            self._resolve("Account", body["DepositToAccountRef"], "Payment.DepositToAccountRef")
        else:
            undeposited = self.company.by_name("Account", "Name", "Undeposited Funds")
            body["DepositToAccountRef"] = {"value": undeposited["Id"], "name": "Undeposited Funds"}
        if body.get("PaymentMethodRef"):
            self._resolve("PaymentMethod", body["PaymentMethodRef"], "Payment.PaymentMethodRef")
        plan = settlement.plan_payment(self, body, customer, total, SimFault)
        applied = sum((a for e, _, a in plan if e != "CreditMemo"), Decimal(0)) - sum(
            (a for e, _, a in plan if e == "CreditMemo"), Decimal(0))
        body["TotalAmt"] = float(total)
        body["UnappliedAmt"] = float(total - applied)
        stored = self.company.store("Payment", body)
        settlement.apply_plan(self.company, stored, plan)
        return stored

    def _line(self, entity: str, line: dict, allowed: tuple[str, ...], number: int):
        where = f"{entity}.Line"
        if not isinstance(line, dict):
            raise SimFault("2010", "Line must be an object", where)
        detail_type = line.get("DetailType")
        if detail_type not in allowed:
            raise SimFault(
                "2170", f"Invalid Enumeration : DetailType {detail_type} on {entity}", f"{where}.DetailType"
            )
        detail = line.get(detail_type)
        if detail_type != "DescriptionOnly" and not isinstance(detail, dict):
            raise SimFault("2020", f"Required param missing: {detail_type}", f"{where}.{detail_type}")
        if "Amount" not in line and detail_type not in ("DescriptionOnly", "SubTotalLineDetail"):
            raise SimFault(
                "2020",
                "Required param missing, need to supply the required value for the API: Amount",
                f"{where}.Amount",
            )
        amount = cents(decimal(line.get("Amount", 0), f"{where}.Amount"))
        line["Id"] = str(number)
        line["LineNum"] = number
        movement = link = None
        if isinstance(detail, dict) and detail.get("ClassRef"):
            self._resolve("Class", detail["ClassRef"], f"{where}.{detail_type}.ClassRef")
        if detail_type == "DiscountLineDetail":
            if detail.get("DiscountAccountRef"):
                self._resolve(
                    "Account", detail["DiscountAccountRef"], f"{where}.DiscountLineDetail.DiscountAccountRef"
                )
            return -abs(amount), None, None
        if detail_type in ("DescriptionOnly", "SubTotalLineDetail"):
            return Decimal(0), None, None
        if detail_type == "AccountBasedExpenseLineDetail":
            self._resolve(
                "Account", detail.get("AccountRef"), f"{where}.AccountBasedExpenseLineDetail.AccountRef"
            )
            return amount, None, None
        item = self._resolve("Item", detail.get("ItemRef"), f"{where}.{detail_type}.ItemRef")
        if item.get("Type") == "Category":
            raise SimFault(
                "2500",
                "Invalid Reference Id : Categories cannot be used in transactions",
                f"{where}.{detail_type}.ItemRef",
            )
        qty = decimal(detail.get("Qty", 1), f"{where}.{detail_type}.Qty")
        if "UnitPrice" in detail:
            price = decimal(detail["UnitPrice"], f"{where}.{detail_type}.UnitPrice")
            if cents(qty * price) != amount:
                raise SimFault(
                    "6070",
                    f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}, computed "
                    f"{cents(qty * price)} (line {number})",
                    f"{where}.Amount",
                )
        if item.get("Type") == "Inventory":
            sign = {"SalesReceipt": -1, "Invoice": -1, "RefundReceipt": 1, "CreditMemo": 1, "Bill": 1}.get(
                entity, 0
            )
            if sign:
                movement = (item, sign * qty)
        for linked in line.get("LinkedTxn") or []:
            if linked.get("TxnType") != "PurchaseOrder" or entity != "Bill":
                continue
            if not all(linked.get(k) for k in ("TxnId", "TxnType", "TxnLineId")):
                raise SimFault("2020", "LinkedTxn needs TxnId, TxnType and TxnLineId", f"{where}.LinkedTxn")
            po = self._resolve("PurchaseOrder", {"value": linked["TxnId"]}, f"{where}.LinkedTxn.TxnId")
            po_line = next(
                (pl for pl in po.get("Line", []) if str(pl.get("Id")) == str(linked["TxnLineId"])), None
            )
            if po_line is None:
                raise SimFault(
                    "2500",
                    f"Invalid Reference Id : PurchaseOrder {po['Id']} has no line {linked['TxnLineId']}",
                    f"{where}.LinkedTxn.TxnLineId",
                )
            link = (po, po_line)
        return amount, movement, link

    def _apply_stock(self, entity: str, movements) -> None:
        for item, change in movements:
            qty = Decimal(str(item.get("QtyOnHand", 0))) + change
            item["QtyOnHand"] = int(qty) if qty == int(qty) else float(qty)
            self.company.touch(item)

    def _apply_links(self, bill: dict, links) -> None:
        """A linked bill closes the PO lines it receives, and the PO once every line is received."""
        for po, po_line in links:
            po_line["Received"] = True
            po.setdefault("LinkedTxn", [])
            if not any(lt.get("TxnId") == bill["Id"] for lt in po["LinkedTxn"]):
                po["LinkedTxn"].append({"TxnId": bill["Id"], "TxnType": "Bill"})
            if all(
                pl.get("Received")
                for pl in po.get("Line", [])
                if pl.get("DetailType") == "ItemBasedExpenseLineDetail"
            ):
                po["POStatus"] = "Closed"
            self.company.touch(po)
