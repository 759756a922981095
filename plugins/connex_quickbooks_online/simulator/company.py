"""The simulated company: every entity by type and Id, a seed that looks like a small online retailer, and the
few derived numbers QuickBooks keeps (Ids, SyncTokens, QtyOnHand)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

from connex_quickbooks_online.simulator.profiles import PROFILES, Profile

#: The entities the simulator stores (the JSON wrapper key and the URL's lower-case name).
ENTITIES = (
    "Customer",
    "Vendor",
    "Employee",
    "Item",
    "Account",
    "SalesReceipt",
    "Invoice",
    "PurchaseOrder",
    "Bill",
    "RefundReceipt",
    "CreditMemo",
    "JournalEntry",
    "Payment",
    "Purchase",
    "PaymentMethod",
    "Preferences",
    "CompanyInfo",
    "TaxCode",
    "TaxRate",
    "TaxAgency",
    "Class",
    "Department",
    "PaymentMethod",
    "Term",
)
INDEXED_FIELDS = ("DisplayName", "Name", "DocNumber")
LIST_ENTITIES = ("Customer", "Vendor", "Employee", "Item", "Account", "TaxCode", "TaxRate", "TaxAgency", "Class",
                 "Department", "PaymentMethod", "Term")
#: the lists a transaction names entries of by reference (Finance.xsd), each entity with the field holding the
#: reference: an unknown Id is refused with 2500, an inactive entry with 610, as for accounts and items
NAME_LISTS = ("Class", "Department", "PaymentMethod", "Term")
TRANSACTIONS = ("SalesReceipt", "Invoice", "PurchaseOrder", "Bill", "RefundReceipt", "CreditMemo")

#: a new QuickBooks Online company's payment methods and terms (Finance.xsd PaymentMethod.Type: QBO takes
#: CREDIT_CARD or NON_CREDIT_CARD; Term: Standard terms with DueDays). It has no classes and no locations:
#: both are switched on and filled in by the bookkeeper.
SEED_PAYMENT_METHODS = (("Cash", "NON_CREDIT_CARD"), ("Check", "NON_CREDIT_CARD"), ("Visa", "CREDIT_CARD"),
                        ("MasterCard", "CREDIT_CARD"), ("American Express", "CREDIT_CARD"),
                        ("Discover", "CREDIT_CARD"), ("Diners Club", "CREDIT_CARD"))
SEED_TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))

SEED_ACCOUNTS = (
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Checking", "Bank", "Checking"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
    ("Inventory Asset", "Other Current Asset", "Inventory"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Shipping Income", "Income", "OtherPrimaryIncome"),
    ("Discounts given", "Income", "DiscountsRefundsGiven"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
)

#: SKU, name, item type, unit price, cost, quantity on hand: the catalogue of a small Linnworks shop (the same
#: SKUs the Linnworks simulator sells, so ``connex demo`` syncs cleanly). The gift set is a bundle whose stock
#: Linnworks tracks through its parts, so in QuickBooks it is a non-inventory item.
SEED_PRODUCTS = (
    ("MUG-BLU-01", "Blue Mug", "Inventory", "12.00", "3.11", 120),
    ("TEA-EARL-250", "Earl Grey 250g", "Inventory", "18.00", "6.50", 300),
    ("TSHIRT-M-RED", "T-shirt 红色 (M)", "Inventory", "19.99", "4.28", 80),
    ("CANDLE-SOY-L", "Soy Candle - Large", "Inventory", "24.50", "7.80", 40),
    ("SOCKS-3PK", "Wool Socks 3-pack", "Inventory", "14.95", "3.33", 150),
    ("BOOK-CHAI", "Книга о чае", "Inventory", "9.99", "2.40", 60),
    ("GIFT-SET-TEA", "Tea Lover's Gift Set", "NonInventory", "39.90", "16.11", None),
)


class Company:
    def __init__(
        self,
        *,
        profile: str | Profile = "us",
        home_currency: str | None = None,
        realm_id: str = "9130350000000001",
        now=None,
        service_items: bool = True,
    ):
        """``service_items=False``: a fresh company holding only the product items (no Shipping or
        Rounding item), as a seller's company looks before Connex is connected."""
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.service_items = service_items
        self.realm_id = realm_id
        self.home_currency = home_currency or self.profile.home_currency
        # home-currency units per 1 unit of each currency, as QuickBooks' own rate table holds them
        table = {code: Decimal(rate) for code, rate in self.profile.exchange_rates.items()}
        # another home currency: the profile's table crossed through it (a simulator's rates need only agree)
        self.exchange_rates: dict[str, Decimal] = (
            table if self.home_currency == self.profile.home_currency
            else {code: (rate / table[self.home_currency]).quantize(Decimal("0.000001"))
                  for code, rate in table.items()}
            if self.home_currency in table else {self.home_currency: Decimal("1")}
        )
        # rates a user set for one day (QuickBooks keeps a rate per currency and date); other days take the table
        self.day_rates: dict[tuple[str, str], Decimal] = {}
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self.lock = threading.RLock()
        self.entities: dict[str, dict[str, dict]] = {name: {} for name in ENTITIES}
        # Unique-name look-ups run on every create; an index keeps a 2,000-order sync linear.
        self._names: dict[tuple[str, str], dict[str, dict]] = {}
        self._next_id = 1
        self._seed()

    # --- exchange rates ------------------------------------------------------------------------------------
    def rate_on(self, code: str, day: str | None) -> Decimal | None:
        """Home-currency units per 1 ``code`` on ``day`` (ISO date; None = today)."""
        day = day or self._now().date().isoformat()
        return self.day_rates.get((code, day), self.exchange_rates.get(code))

    def exchange_rate_rows(self, first: dt.date, last: dt.date) -> list[dict]:
        """``ExchangeRate`` entities (Finance.xsd: SourceCurrencyCode, TargetCurrencyCode, Rate, AsOfDate), one per
        foreign currency and day from ``first`` to ``last``, never past today (a rate is recorded as days pass)."""
        last = min(last, self._now().date())
        rows = []
        day = first
        while day <= last:
            text = day.isoformat()
            for code in sorted(self.exchange_rates):
                if code != self.home_currency:
                    rows.append({"SourceCurrencyCode": code, "TargetCurrencyCode": self.home_currency,
                                 "Rate": self.rate_on(code, text), "AsOfDate": text})
            day += dt.timedelta(days=1)
        return rows

    # --- storage -------------------------------------------------------------------------------------------
    def new_id(self) -> str:
        with self.lock:
            value = self._next_id
            self._next_id += 1
            return str(value)

    @property
    def last_id(self) -> int:
        return self._next_id - 1

    def timestamp(self) -> str:
        return self._now().isoformat(timespec="seconds")

    def store(self, entity: str, body: dict) -> dict:
        """Give ``body`` the fields QuickBooks adds on create and keep it."""
        with self.lock:
            body["Id"] = body.get("Id") or self.new_id()
            body["SyncToken"] = "0"
            body["domain"] = "QBO"
            body["sparse"] = False
            stamp = self.timestamp()
            body["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
            self.entities[entity][body["Id"]] = body
            for field in INDEXED_FIELDS:
                if body.get(field) is not None:
                    self._names.setdefault((entity, field), {}).setdefault(str(body[field]).casefold(), body)
            return body

    def reindex(self, entity: str, body: dict, old_number=None) -> None:
        """After an update: the look-up indexes follow the entity's new names and number."""
        with self.lock:
            if old_number is not None:
                index = self._names.get((entity, "DocNumber"), {})
                if index.get(str(old_number).casefold()) is body:
                    del index[str(old_number).casefold()]
            for field in INDEXED_FIELDS:
                if body.get(field) is not None:
                    self._names.setdefault((entity, field), {}).setdefault(str(body[field]).casefold(), body)

    def remove(self, entity: str, body: dict) -> None:
        with self.lock:
            self.entities[entity].pop(str(body["Id"]), None)
            for field in INDEXED_FIELDS:
                index = self._names.get((entity, field), {})
                if body.get(field) is not None and index.get(str(body[field]).casefold()) is body:
                    del index[str(body[field]).casefold()]

    def get(self, entity: str, entity_id: str | None) -> dict | None:
        return self.entities.get(entity, {}).get(str(entity_id)) if entity_id is not None else None

    def all(self, entity: str) -> list[dict]:
        with self.lock:
            return list(self.entities[entity].values())

    def by_name(self, entity: str, field: str, name: str) -> dict | None:
        """The entity whose ``field`` (one of ``INDEXED_FIELDS``) equals ``name``, ignoring case as QBO
        does."""
        return self._names.get((entity, field), {}).get(name.casefold())

    def touch(self, entity_row: dict) -> None:
        """An update: QuickBooks bumps SyncToken and LastUpdatedTime."""
        entity_row["SyncToken"] = str(int(entity_row.get("SyncToken", "0")) + 1)
        entity_row["MetaData"]["LastUpdatedTime"] = self.timestamp()

    # --- seed ----------------------------------------------------------------------------------------------
    def _seed(self) -> None:
        self.store(
            "Preferences",
            {
                "CurrencyPrefs": {
                    "MultiCurrencyEnabled": True,
                    "HomeCurrency": {"value": self.home_currency},
                },
                "SalesFormsPrefs": {"CustomTxnNumbers": True},
                # quickbooks-tax.md §1 "Detection": UsingSalesTax; PartnerTaxEnabled = automated sales tax
                "TaxPrefs": {
                    "UsingSalesTax": True,
                    "PartnerTaxEnabled": self.profile.automated_sales_tax,
                },
            },
        )
        self.store(
            "CompanyInfo",
            {
                "CompanyName": f"Connex Demo {self.profile.name.upper()}",
                "LegalName": f"Connex Demo {self.profile.name.upper()} Ltd",
                "Country": self.profile.country,
                "CompanyAddr": dict(self.profile.legal_address),
                "LegalAddr": dict(self.profile.legal_address),
                "SupportedLanguages": "en",
            },
        )
        self._seed_tax()
        accounts = {}
        for name, account_type, sub_type in SEED_ACCOUNTS:
            accounts[name] = self.store(
                "Account",
                {
                    "Name": name,
                    "FullyQualifiedName": name,
                    "AccountType": account_type,
                    "AccountSubType": sub_type,
                    "Active": True,
                    "CurrencyRef": {"value": self.home_currency},
                },
            )

        def ref(name):
            return {"value": accounts[name]["Id"], "name": name}

        for name, kind in SEED_PAYMENT_METHODS:
            self.store("PaymentMethod", {"Name": name, "Type": kind, "Active": True})
        for name, days in SEED_TERMS:
            self.store("Term", {"Name": name, "Type": "STANDARD", "DueDays": days, "Active": True})
        if self.service_items:
            self._seed_service_items(ref)
        self._seed_catalogue(ref)

    def _seed_service_items(self, ref) -> None:
        self.store(
            "Item",
            {
                "Name": "Shipping",
                "FullyQualifiedName": "Shipping",
                "Type": "Service",
                "Active": True,
                "IncomeAccountRef": ref("Shipping Income"),
            },
        )
        self.store(
            "Item",
            {
                "Name": "Rounding",
                "FullyQualifiedName": "Rounding",
                "Type": "NonInventory",
                "Active": True,
                "IncomeAccountRef": ref("Sales of Product Income"),
                "ExpenseAccountRef": ref("Cost of Goods Sold"),
            },
        )

    def _seed_catalogue(self, ref) -> None:
        for sku, name, item_type, price, cost, qty in SEED_PRODUCTS:
            item = {
                "Name": name,
                "FullyQualifiedName": name,
                "Sku": sku,
                "Type": item_type,
                "Active": True,
                "UnitPrice": float(Decimal(price)),
                "PurchaseCost": float(Decimal(cost)),
                "IncomeAccountRef": ref("Sales of Product Income"),
                "ExpenseAccountRef": ref("Cost of Goods Sold"),
            }
            if item_type == "Inventory":
                item.update(
                    TrackQtyOnHand=True,
                    QtyOnHand=qty,
                    InvStartDate="2025-01-01",
                    AssetAccountRef=ref("Inventory Asset"),
                )
            self.store("Item", item)
        self.store(
            "Employee",
            {"DisplayName": "Jane Warehouse", "GivenName": "Jane", "FamilyName": "Warehouse", "Active": True},
        )
        self.store(
            "Customer",
            {
                "DisplayName": "Walk-in Customer",
                "Active": True,
                "CurrencyRef": {"value": self.home_currency},
                "Balance": 0,
            },
        )

    def _seed_tax(self) -> None:
        """Agencies, rates and codes of the profile, shaped as the XSD and the real rows of §2 show them."""
        agencies = {}
        for name in self.profile.agencies:
            agencies[name] = self.store(
                "TaxAgency",
                {"DisplayName": name, "Active": True, "TaxTrackedOnSales": True, "TaxTrackedOnPurchases": True},
            )
        rates = {}
        for name, value, agency, special in self.profile.rates:
            rates[name] = self.store(
                "TaxRate",
                {
                    "Name": name,
                    "Description": name,
                    "RateValue": float(Decimal(value)),
                    "AgencyRef": {"value": agencies[agency]["Id"]},
                    "SpecialTaxType": special,
                    "DisplayType": "ReadOnly",
                    "Active": True,
                    "EffectiveTaxRate": [{"RateValue": float(Decimal(value)), "EffectiveDate": "2011-01-01T00:00:00Z"}],
                },
            )

        def rate_list(names):
            return {
                "TaxRateDetail": [
                    {
                        "TaxRateRef": {"value": rates[n]["Id"], "name": n},
                        "TaxTypeApplicable": "TaxOnAmount",
                        "TaxOrder": 0,
                    }
                    for n in names
                ]
            }

        for name, description, sales, purchases in self.profile.codes:
            self.store(
                "TaxCode",
                {
                    "Name": name,
                    "Description": description,
                    "Active": True,
                    "Hidden": False,
                    "Taxable": any(Decimal(str(rates[n]["RateValue"])) != 0 for n in (*sales, *purchases)),
                    "TaxGroup": True,
                    "SalesTaxRateList": rate_list(sales),
                    "PurchaseTaxRateList": rate_list(purchases),
                    "TaxCodeConfigType": "SYSTEM_GENERATED",
                },
            )
