"""The QuickBooks Online target: posts mapped documents through the batch endpoint, once each."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from urllib.parse import quote as url_quote

from connex.connectors import InventoryLevel, Preflight, TargetConnector, Wanted
from connex.documents import (
    CreditApplicationDocument,
    Document,
    Party,
    PaymentDocument,
    PostResult,
    PurchaseDocument,
    RefundDocument,
    SalesDocument,
)
from connex.errors import ConfigError, ConnexError, DocumentError
from connex.skumap import load_sku_map
from connex.transport import HttpClient, RetryPolicy
from connex_quickbooks_online.authorize import AUTHORIZE_URL
from connex_quickbooks_online.batch import Create, send_creates
from connex_quickbooks_online.client import BATCH_MAX_ITEMS, QboClient, make_limiter, quote
from connex_quickbooks_online.faults import fault_error
from connex_quickbooks_online.fields import FIELD_SUPPORT
from connex_quickbooks_online.lookups import (
    CREATE_SWITCHES,
    ITEM_MATCHING,
    MISSING_ITEM_POLICIES,
    ItemPolicy,
    Lookups,
)
from connex_quickbooks_online.oauth import TokenManager, connected_realm, state_key
from connex_quickbooks_online.payloads import ENTITY_BY_KIND, Options, PayloadBuilder, carries_marker, where
from connex_quickbooks_online.preflight import run_preflight
from connex_quickbooks_online.settle import PAYOUT_METHODS, CreditSettler
from connex_quickbooks_online.tax import TaxModel, parse_rate_table

PRODUCTION_API = "https://quickbooks.api.intuit.com"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"

_text = {"type": "string", "minLength": 1}

CONFIG_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["client_id", "client_secret"],
    "properties": {
        "client_id": _text,
        "client_secret": _text,
        "refresh_token": {**_text, "description": "omitted: the one `connex connect quickbooks` stored"},
        "realm_id": {"type": ["string", "integer"], "description": "omitted: the company last connected"},
        "api_url": {**_text, "default": PRODUCTION_API},
        "token_url": {**_text, "default": TOKEN_URL},
        "authorize_url": {**_text, "default": AUTHORIZE_URL},
        "redirect_uri": {**_text, "default": "http://localhost:8765/callback"},
        "missing_items": {"enum": list(MISSING_ITEM_POLICIES), "default": "fail"},
        "item_matching": {"enum": list(ITEM_MATCHING), "default": "sku_then_name",
                          "description": "find a SKU's item by its Sku field, its Name, or the Sku then the Name"},
        "sku_map": {**_text, "description": "CSV file: columns sku,item (Linnworks SKU -> QuickBooks item)"},
        "income_account": {**_text, "default": "Sales of Product Income"},
        "expense_account": {**_text, "default": "Cost of Goods Sold"},
        "asset_account": {**_text, "default": "Inventory Asset"},
        "deposit_account": {**_text, "description": "omitted: sales receipts go to Undeposited Funds"},
        "shipping_item": {**_text, "default": "Shipping"},
        "discount_account": {**_text, "default": "Discounts given"},
        "rounding_item": {**_text, "default": "Rounding"},
        "create_own_items": {"type": "boolean", "default": True,
                             "description": "create the shipping and rounding items as Service items when missing"},
        "create_missing": {
            "type": "array",
            "uniqueItems": True,
            "items": {"enum": list(CREATE_SWITCHES)},
            "default": [],
            "description": "lists Connex adds a missing entry to (by the name a rule or mapping gives) instead of "
                           "failing the document; terms are never created (a term needs its due days)",
        },
        "rounding_tolerance": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.05},
        "tax_codes": {
            "type": "object",
            "additionalProperties": _text,
            "description": "tax rate (20 for 20%) -> QuickBooks tax code name, e.g. {20: '20.0% S', 0: '0.0% Z'}",
        },
        "purchase_tax_codes": {
            "type": "object",
            "additionalProperties": _text,
            "description": "the same for purchase orders and bills; omitted: tax_codes",
        },
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120, "default": 60},
        "refund_payout": {"enum": list(PAYOUT_METHODS), "default": "none",
                          "description": "what happens to the part of a credit memo its order's invoice no longer "
                                         "owes (the money went back to the buyer): check (a cheque to the customer) "
                                         "or credit_card (an expense: the money left through the card processor), "
                                         "each from refund_account and applied to the credit memo so no credit "
                                         "stays open; none: the customer keeps the credit. The part the invoice "
                                         "still owes is always applied to it. A map_refund_payout rule decides per "
                                         "refund"},
        "refund_account": {**_text, "description": "the account refunds are paid out from (a bank account for "
                                                   "cheques); a map_deposit_account rule decides per refund"},
    },
}


class QuickBooksOnlineTarget(TargetConnector):
    name = "quickbooks_online"
    field_support = FIELD_SUPPORT
    config_names = {"income_account": "account", "expense_account": "account", "asset_account": "account",
                    "deposit_account": "account", "discount_account": "account", "shipping_item": "own_item",
                    "rounding_item": "own_item"}
    config_schema = CONFIG_SCHEMA
    secret_keys = ("client_id", "client_secret", "refresh_token")
    post_batch_size = BATCH_MAX_ITEMS
    supports_corrections = True
    applies_credit_memos = True

    #: the QuickBooks Online app's page of each kind of transaction. [UNVERIFIED] the reference names the API's
    #: hosts only (quickbooks-online-api.md §2): these are the app's own addresses (app.qbo.intuit.com, and
    #: app.sandbox.qbo.intuit.com for a sandbox company), each page taking the transaction's id as ``txnId``.
    APP_PAGES = {"sales_receipt": "salesreceipt", "invoice": "invoice", "refund_receipt": "refundreceipt",
                 "credit_memo": "creditmemo", "purchase_order": "purchaseorder", "bill": "bill",
                 "journal_entry": "journal"}

    @classmethod
    def document_url(cls, config: dict, kind: str, target_id: str | None) -> str | None:
        """Where a person opens a posted document in QuickBooks Online (the console links to it); None when the
        kind has no page or the document has no id."""
        page = cls.APP_PAGES.get(kind)
        if not page or not target_id:
            return None
        sandbox = "sandbox" in str(config.get("api_url") or PRODUCTION_API)
        host = "app.sandbox.qbo.intuit.com" if sandbox else "app.qbo.intuit.com"
        return f"https://{host}/app/{page}?txnId={url_quote(str(target_id), safe='')}"

    def __init__(
        self,
        config,
        *,
        state=None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ):
        """``retry``, ``clock`` and ``sleep`` exist so tests and the benchmark can run on a scaled clock; the
        engine builds the connector from ``config`` and ``state`` alone."""
        super().__init__(config, state=state)
        missing = [k for k in CONFIG_SCHEMA["required"] if not self.config.get(k)]
        if missing:
            raise ConfigError(f"quickbooks_online target: missing {', '.join(missing)}")
        self.realm = str(self.config.get("realm_id") or connected_realm(state) or "")
        stored_token = state.get(state_key(self.realm)) if state is not None and self.realm else None
        if not self.realm or not (self.config.get("refresh_token") or stored_token):
            raise ConfigError("quickbooks_online target: not connected to a company yet (no realm_id and "
                              "refresh_token in the config, none stored); run `connex connect quickbooks`")
        self.http = HttpClient(
            timeout=float(self.option("timeout")),
            # Intuit asks for a minute's pause after a 429; a long budget lets a throttled run finish.
            retry=retry or RetryPolicy(max_attempts=6, base_delay=2.0, max_delay=60.0, time_budget=300.0),
            limiter=make_limiter(clock=clock, sleep=sleep, api_url=self.option("api_url"), realm_id=self.realm),
            sleep=sleep or time.sleep,
            user_agent="connex-quickbooks-online",
        )
        self.tokens = TokenManager(
            http=self.http,
            token_url=self.option("token_url"),
            client_id=self.config["client_id"],
            client_secret=self.config["client_secret"],
            refresh_token=self.config.get("refresh_token"),
            realm_id=self.realm,
            state=state,
            clock=clock or time.monotonic,
        )
        self.client = QboClient(
            api_url=self.option("api_url"), realm_id=self.realm, tokens=self.tokens, http=self.http
        )
        self.lookups = Lookups(
            self.client,
            self.realm,
            ItemPolicy(
                missing=self.option("missing_items"),
                income_account=self.option("income_account"),
                expense_account=self.option("expense_account"),
                asset_account=self.option("asset_account"),
                create_own_items=bool(self.option("create_own_items")),
                matching=self.option("item_matching"),
                create_missing=frozenset(self.option("create_missing")),
                # Item Name is at most 100 characters (quickbooks-online-api.md §8)
                sku_map=load_sku_map(self.config["sku_map"], item_max_length=100) if self.config.get("sku_map")
                else {},
            ),
            rate_store=state,
        )
        # checked now, so a bad table is a config error before anything is read
        self._tax_tables = (
            parse_rate_table(self.config.get("tax_codes"), "tax_codes"),
            parse_rate_table(self.config.get("purchase_tax_codes"), "purchase_tax_codes"),
        )
        self._builder: PayloadBuilder | None = None
        self._posted: dict[str, str] = {}  # Document.key -> QBO Id, for this connector's life
        self._purchase_orders: dict[str, dict | None] = {}  # DocNumber (casefolded) -> PurchaseOrder
        self._invoices: dict[str, dict | None] = {}  # DocNumber (casefolded) -> Invoice, for payments
        self.settler = CreditSettler(self)

    def option(self, name: str):
        return self.config.get(name, CONFIG_SCHEMA["properties"][name].get("default"))

    def close(self) -> None:
        self.http.close()

    def begin_run(self) -> None:
        self.lookups.forget_misses()  # an item added in QuickBooks since the last run is found without a restart

    @property
    def builder(self) -> PayloadBuilder:
        """Built on first use: the home currency and the tax model cost four reads (Preferences, CompanyInfo,
        TaxCode, TaxRate), once per run, and only documents need them."""
        if self._builder is None:
            prefs = next(iter(self.client.query("SELECT * FROM Preferences")), {})
            home = ((prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value")
            if not home:
                raise ConfigError(f"realm {self.realm}: QuickBooks did not report a home currency")
            options = Options(
                home_currency=home,
                shipping_item=self.option("shipping_item"),
                rounding_item=self.option("rounding_item"),
                discount_account=self.option("discount_account"),
                deposit_account=self.config.get("deposit_account"),
                rounding_tolerance=Decimal(str(self.option("rounding_tolerance"))),
            )
            tax = TaxModel.read(
                self.client, prefs, sales_table=self._tax_tables[0], purchase_table=self._tax_tables[1] or None
            )
            self._builder = PayloadBuilder(self.lookups, options, tax)
        return self._builder

    def explain_tax(self, document: Document) -> list[str]:
        """``connex explain``: per line, the company's tax code (name and Id) the line resolves to and why."""
        return self.builder.explain_tax(document)

    # --- names ---------------------------------------------------------------------------------------------
    def find_or_create_customer(self, customer: Party) -> str:
        return str(self.lookups.customer(customer, customer.currency)["Id"])

    def find_or_create_vendor(self, vendor: Party) -> str:
        return str(self.lookups.vendor(vendor, vendor.currency)["Id"])

    def find_or_create_item(self, sku: str, description: str | None = None) -> str:
        return str(self.lookups.item_for_sku(sku, None, description)["Id"])

    # --- documents -----------------------------------------------------------------------------------------
    def post_documents(self, documents: list[Document]) -> list[PostResult]:
        results: list[PostResult | None] = [None] * len(documents)
        first_seen: dict[str, int] = {}
        repeats: list[tuple[int, int]] = []  # the same document twice in one call is posted once
        for index, doc in enumerate(documents):
            if doc.key in self._posted:
                results[index] = PostResult(doc.key, "exists", target_id=self._posted[doc.key])
            elif doc.key in first_seen:
                repeats.append((index, first_seen[doc.key]))
            else:
                first_seen[doc.key] = index
        todo = list(first_seen.values())
        try:
            if todo:
                self._prefetch([documents[i] for i in todo])
        except ConfigError:
            raise
        except ConnexError as exc:
            # QuickBooks unreachable past the retry budget before anything was posted: every document fails
            # for this run with the reason, and the engine retries them next run.
            return [
                r or PostResult(d.key, "failed", error=str(exc), code=exc.code)
                for d, r in zip(documents, results)
            ]
        # Batch items cannot see each other, so bills go after the purchase orders they link to, payments
        # after the invoices they pay, and credit memos' settlements after both (they read the invoice's balance).
        first = [i for i in todo if documents[i].kind not in ("bill", "payment", "credit_application")]
        settling = [i for i in todo if documents[i].kind == "credit_application"]
        bills = [i for i in todo if documents[i].kind == "bill"]
        paying = [i for i in todo if documents[i].kind == "payment"]
        self._post_phase(documents, first, results)
        if bills:
            self._prefetch_purchase_orders([documents[i] for i in bills])
            self._post_phase(documents, bills, results)
        if paying:
            self._prefetch_invoices([documents[i] for i in paying])
            self._post_phase(documents, paying, results)
        for index in settling:
            results[index] = self._settle(documents[index])
        for index, original in repeats:
            done = results[original]
            status = "exists" if done.status in ("posted", "exists") else done.status
            results[index] = PostResult(done.key, status, done.target_id, done.error, done.code)
        return results

    def _prefetch(self, docs: list[Document]) -> None:
        """One look-up per kind of name for the whole call instead of one per document."""
        builder = self.builder
        customers = [
            (d.customer, d.currency)
            for d in docs
            if isinstance(d, SalesDocument | RefundDocument) and d.customer is not None
        ]
        vendors = [(d.vendor, d.currency) for d in docs if isinstance(d, PurchaseDocument) and d.vendor]
        skus: dict[str, str | None] = {}
        item_names = {builder.options.shipping_item, builder.options.rounding_item}
        accounts = {builder.options.discount_account}
        for doc in docs:
            for line in doc.lines:
                if line.kind == "item" and line.sku:
                    skus.setdefault(line.sku, line.description)
                elif line.kind == "discount":
                    continue  # the configured discount_account, already wanted
                elif line.item_name:
                    item_names.add(line.item_name)
            deposit = getattr(doc, "deposit_account", None) or builder.options.deposit_account
            if isinstance(doc, RefundDocument):
                deposit = deposit or builder.options.refund_deposit_account
            if deposit and doc.kind in ("sales_receipt", "refund_receipt", "payment"):
                accounts.add(deposit)
            for account in (getattr(doc, "debit_account", None), getattr(doc, "tax_account", None)):
                if account and doc.kind == "journal_entry":  # a journal-entry summary's own accounts
                    accounts.add(account)
        methods = {d.payment_method for d in docs if isinstance(d, PaymentDocument) and d.payment_method}
        if methods:
            self.lookups.prefetch("PaymentMethod", methods)
        self.lookups.ensure_parties(
            {kind: wanted for kind, wanted in (("Customer", customers), ("Vendor", vendors)) if wanted}
        )
        if skus:
            self.lookups.ensure_items(skus)
        self.lookups.ensure_own_items(item_names)
        self.lookups.ensure_named(named_in(docs))
        self.lookups.prefetch("Account", accounts)
        home = builder.options.home_currency
        self.lookups.prefetch_rates(
            (d.currency, d.txn_date) for d in docs if d.currency and d.currency != home and d.exchange_rate is None
        )

    def _prefetch_purchase_orders(self, bills: list[Document]) -> None:
        """Purchase orders posted in earlier runs, found by number in one read (this run's are cached)."""
        numbers = {
            d.linked_po_number
            for d in bills
            if getattr(d, "linked_po_number", None)
            and d.linked_po_number.casefold() not in self._purchase_orders
        }
        for row in self.client.query_in("PurchaseOrder", "DocNumber", list(numbers)):
            self._purchase_orders[str(row.get("DocNumber", "")).casefold()] = row
        for number in numbers:
            self._purchase_orders.setdefault(number.casefold(), None)

    def _prefetch_invoices(self, payments: list[Document]) -> None:
        """The invoices payments apply to: this run's from the create answers, earlier runs' in one read."""
        numbers = {d.invoice_number for d in payments
                   if d.invoice_number and d.invoice_number.casefold() not in self._invoices}
        for row in self.client.query_in("Invoice", "DocNumber", list(numbers)):
            self._invoices[str(row.get("DocNumber", "")).casefold()] = row  # a DocNumber is unique (6140)
        for number in numbers:
            self._invoices.setdefault(number.casefold(), None)

    def _invoice_for(self, doc: PaymentDocument) -> dict:
        invoice = self._invoices.get((doc.invoice_number or "").casefold())
        if invoice is None or not carries_marker(invoice.get("PrivateNote"), _invoice_key(doc)):
            raise DocumentError(
                f"invoice {doc.invoice_number} of this order is not in QuickBooks (posted by Connex); the payment "
                "waits for it",
                where=where(doc, "LinkedTxn"),
                code="2500",
            )
        return invoice

    def _settle(self, doc: CreditApplicationDocument) -> PostResult:
        try:
            result = self.settler.settle(doc)
        except ConfigError:
            raise
        except ConnexError as exc:
            return PostResult(doc.key, "failed", error=str(exc), code=exc.code)
        if result.target_id:
            self._posted[doc.key] = result.target_id
        return result

    def _build(self, doc: Document) -> Create:
        if isinstance(doc, PaymentDocument):
            return Create(doc.key, "Payment", self.builder.payment(doc, self._invoice_for(doc)))
        entity, body = self.builder.build(doc)
        if isinstance(doc, PurchaseDocument) and doc.kind == "bill":
            self._link_bill(doc, body)
        return Create(doc.key, entity, body)

    def _link_bill(self, doc: PurchaseDocument, body: dict) -> None:
        """Link each bill line to the matching purchase-order line (QBO needs the line-level TxnLineId)."""
        if (doc.status or "").casefold() == "pending":
            raise DocumentError(
                "a Pending purchase order gets no bill (nothing was received yet)", where=where(doc, "status")
            )
        if not doc.linked_po_number:
            return
        po = self._purchase_orders.get(doc.linked_po_number.casefold())
        if po is None:
            raise DocumentError(
                f"purchase order {doc.linked_po_number} not in QuickBooks",
                where=where(doc, "LinkedTxn"),
                code="2500",
            )
        open_lines = [
            (str(line.get("Id")), _expense_item(line)) for line in po.get("Line", []) if _expense_item(line)
        ]
        linked = 0
        for line in body["Line"]:
            item = _expense_item(line)
            match = next((pair for pair in open_lines if item and pair[1] == item), None)
            if match:
                open_lines.remove(match)
                line["LinkedTxn"] = [
                    {"TxnId": str(po["Id"]), "TxnType": "PurchaseOrder", "TxnLineId": match[0]}
                ]
                linked += 1
        if not linked:
            raise DocumentError(
                f"no bill line matches an item of purchase order {doc.linked_po_number}",
                where=where(doc, "LinkedTxn"),
            )

    def _post_phase(self, documents: list[Document], indexes: list[int], results: list) -> None:
        creates: list[tuple[int, Create]] = []
        for index in indexes:
            doc = documents[index]
            try:
                creates.append((index, self._build(doc)))
            except ConfigError:
                raise
            except ConnexError as exc:
                results[index] = PostResult(doc.key, "failed", error=str(exc), code=exc.code)
        by_key = {c.key: i for i, c in creates}
        duplicates: list[tuple[int, str]] = []
        try:
            for outcomes in send_creates(self.client, self.realm, [c for _, c in creates]):
                for outcome in outcomes:
                    index = by_key[outcome.key]
                    doc = documents[index]
                    if outcome.created is not None:
                        self._record(doc, outcome.created)
                        results[index] = PostResult(doc.key, "posted", target_id=str(outcome.created["Id"]))
                        continue
                    fault = outcome.fault
                    if fault.code == "6140":
                        duplicates.append((index, outcome.entity))
                    error = fault_error(fault, endpoint=f"POST batch create {outcome.entity}")
                    field = "DocNumber" if fault.code == "6140" else fault.element or None
                    results[index] = PostResult(
                        doc.key,
                        "failed",
                        code=fault.code,
                        error=str(DocumentError(error.message, where=where(doc, field))),
                    )
        except ConfigError:
            raise
        except ConnexError as exc:
            # QuickBooks stayed unreachable past the retry budget: what was not answered is failed for this
            # run (the deterministic requestid makes the next run's retry safe even if it did arrive).
            for index, _ in creates:
                if results[index] is None:
                    results[index] = PostResult(documents[index].key, "failed", error=str(exc), code=exc.code)
        self._resolve_duplicates(documents, duplicates, results)

    def _record(self, doc: Document, created: dict) -> None:
        self._posted[doc.key] = str(created["Id"])
        if doc.kind == "purchase_order":
            self._purchase_orders[doc.doc_number.casefold()] = created
        elif doc.kind == "invoice":
            self._invoices[doc.doc_number.casefold()] = created

    def _resolve_duplicates(self, documents, duplicates: list[tuple[int, str]], results) -> None:
        """6140 means the number is taken. It is ours ("exists") when the holder carries this document's
        marker; otherwise another source document owns that number and this one rightly stays failed."""
        by_entity: dict[str, list[int]] = {}
        for index, entity in duplicates:
            by_entity.setdefault(entity, []).append(index)
        for entity, indexes in by_entity.items():
            rows = list(self.client.query_in(entity, "DocNumber", [documents[i].doc_number for i in indexes]))
            for index in indexes:
                doc = documents[index]
                holder = next((r for r in rows if carries_marker(r.get("PrivateNote"), doc)), None)
                if holder is not None:
                    self._record(doc, holder)
                    results[index] = PostResult(doc.key, "exists", target_id=str(holder["Id"]))

    def find_posted(self, document: Document) -> PostResult | None:
        if document.key in self._posted:
            return PostResult(document.key, "exists", target_id=self._posted[document.key])
        if isinstance(document, PaymentDocument):
            return self._find_payment(document)
        if isinstance(document, CreditApplicationDocument):
            return self.settler.find(document)
        entity = ENTITY_BY_KIND[document.kind]
        for row in self.client.query(
            f"SELECT * FROM {entity} WHERE DocNumber = {quote(document.doc_number)}"
        ):
            if carries_marker(row.get("PrivateNote"), document):
                self._record(document, row)
                return PostResult(document.key, "exists", target_id=str(row["Id"]))
        return None

    # --- check ---------------------------------------------------------------------------------------------
    def preflight(self, wanted: Iterable[Wanted]) -> Preflight:
        """Read-only: queries only (no creates), one per kind of name."""
        return run_preflight(self, list(wanted))

    def _find_payment(self, document: PaymentDocument) -> PostResult | None:
        """A payment is found through its invoice: QuickBooks lists the payments applied to an invoice in the
        invoice's LinkedTxn; the one carrying this document's marker is ours."""
        self._invoices.pop((document.invoice_number or "").casefold(), None)
        self._prefetch_invoices([document])
        invoice = self._invoices.get((document.invoice_number or "").casefold())
        if invoice is None:
            return None
        ids = [str(link["TxnId"]) for link in invoice.get("LinkedTxn") or []
               if link.get("TxnType") == "Payment" and link.get("TxnId")]
        for row in self.client.query_in("Payment", "Id", ids) if ids else ():
            if carries_marker(row.get("PrivateNote"), document):
                self._record(document, row)
                return PostResult(document.key, "exists", target_id=str(row["Id"]))
        return None

    # --- corrections ---------------------------------------------------------------------------------------
    def _read(self, entity: str, target_id: str) -> dict:
        return self.client.call("GET", f"{entity.lower()}/{target_id}", endpoint="read")[entity]

    def _fresh(self, entity: str, target_id: str, send: Callable[[dict], dict]) -> dict:
        """``send`` with the entity as QuickBooks holds it now; a 5010 (someone changed it since it was read:
        reference §6 "re-read and retry") is re-read and sent once more."""
        try:
            return send(self._read(entity, target_id))
        except DocumentError as exc:
            if exc.code != "5010":
                raise
            return send(self._read(entity, target_id))

    def update_document(self, document: Document, target_id: str) -> PostResult:
        """A sparse update (reference §6: Id, SyncToken, ``sparse: true`` and the fields to change) carrying the
        whole new body: lines, tax, customer, dates; the number and the marker stay."""
        entity = ENTITY_BY_KIND[document.kind]
        try:
            if isinstance(document, PaymentDocument):
                raise DocumentError("a payment is not updated in place; it follows its invoice",
                                    where=where(document))
            if isinstance(document, CreditApplicationDocument):
                raise DocumentError("a credit memo's settlement is not updated in place; it was decided by what "
                                    "QuickBooks held when it was posted", where=where(document))
            self._prefetch([document])
            create = self._build(document)

            def send(current: dict) -> dict:
                body = {**create.body, "Id": str(current["Id"]), "SyncToken": str(current["SyncToken"]),
                        "sparse": True}
                return self.client.call("POST", entity.lower(), endpoint="update", params={"operation": "update"},
                                        json=body)[entity]

            row = self._fresh(entity, target_id, send)
        except ConfigError:
            raise
        except ConnexError as exc:
            return PostResult(document.key, "failed", error=str(exc), code=exc.code)
        self._record(document, row)
        return PostResult(document.key, "posted", target_id=str(row["Id"]))

    def void_document(self, document: Document, target_id: str) -> PostResult:
        """Invoice ``?operation=void``, SalesReceipt and Payment ``?operation=update&include=void`` (reference
        §2); an invoice's payments are voided first (QuickBooks keeps them applied otherwise). The reference names
        no void for credit memos, refund receipts, purchase orders and bills: those are deleted."""
        entity = ENTITY_BY_KIND[document.kind]
        try:
            if entity in ("Invoice", "CreditMemo"):  # a settled credit memo is linked by its payment of 0
                invoice = self._read(entity, target_id)
                for link in invoice.get("LinkedTxn") or []:
                    if link.get("TxnType") == "Payment" and link.get("TxnId"):
                        self._void_one("Payment", str(link["TxnId"]))
            self._void_one(entity, target_id)
        except ConfigError:
            raise
        except ConnexError as exc:
            return PostResult(document.key, "failed", error=str(exc), code=exc.code)
        if self._posted.get(document.key) == target_id:
            del self._posted[document.key]  # the document's next version is posted anew
        self._invoices.pop(document.doc_number.casefold(), None)
        return PostResult(document.key, "posted", target_id=target_id)

    def _void_one(self, entity: str, target_id: str) -> None:
        if entity == "Invoice":
            params = {"operation": "void"}
        elif entity in ("SalesReceipt", "Payment"):
            params = {"operation": "update", "include": "void"}
        else:
            params = {"operation": "delete"}

        def send(current: dict) -> dict:
            if current.get("TxnStatus") == "Voided":
                return current  # voided by an earlier attempt
            body = {"Id": str(current["Id"]), "SyncToken": str(current["SyncToken"])}
            if params.get("include") == "void":
                body["sparse"] = True
            return self.client.call("POST", entity.lower(), endpoint="update", params=params, json=body)

        try:
            self._fresh(entity, target_id, send)
        except DocumentError as exc:
            if exc.code == "610" and params["operation"] == "delete":
                return  # deleted by an earlier attempt
            raise

    # --- stock ---------------------------------------------------------------------------------------------
    def read_inventory(self, skus: Iterable[str] | None = None) -> Iterator[InventoryLevel]:
        """Quantities are read fresh every time (they move with every sale), never from the look-up cache."""
        if skus is None:
            rows = self.client.query("SELECT * FROM Item WHERE Type = 'Inventory'")
        else:
            rows = self.client.query_in("Item", "Sku", list(skus))
        for row in rows:
            if row.get("Type") == "Inventory" and row.get("Sku"):
                quantity = int(Decimal(str(row.get("QtyOnHand", 0))))
                yield InventoryLevel(sku=row["Sku"], quantity_on_hand=quantity, name=row.get("Name"))


class _Keyed:
    """Just enough of a document for ``carries_marker``: its key."""

    def __init__(self, key: str):
        self.key = key


def _invoice_key(payment: PaymentDocument) -> _Keyed:
    return _Keyed(f"invoice:{payment.source_id}")


def _expense_item(line: dict) -> str | None:
    """The item Id of an item-based expense line (purchase order or bill), None for any other line."""
    return (line.get("ItemBasedExpenseLineDetail") or {}).get("ItemRef", {}).get("value")


def named_in(docs: Iterable[Document]) -> dict[str, set[str]]:
    """The classes, locations, payment methods and terms a set of documents names, by list."""
    wanted: dict[str, set[str]] = {"class": set(), "department": set(), "payment_method": set(), "term": set()}
    for doc in docs:
        for kind, value in (("class", doc.class_name), ("department", doc.department),
                            ("payment_method", getattr(doc, "payment_method", None)),
                            ("term", getattr(doc, "terms", None))):
            if value:
                wanted[kind].add(value)
        wanted["class"].update(line.class_name for line in doc.lines if line.class_name)
    return {kind: names for kind, names in wanted.items() if names}
