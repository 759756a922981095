"""The QuickBooks Desktop target connector: the engine's side of the asynchronous Web Connector exchange."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connex.connectors import InventoryLevel, KeyValueStore, Preflight, TargetConnector, Wanted
from connex.documents import Document, Party, PostResult
from connex.errors import DocumentError, DocumentRef
from connex_quickbooks_desktop import codec, qbxml
from connex_quickbooks_desktop.config import CONFIG_SCHEMA, SECRET_KEYS, Settings
from connex_quickbooks_desktop.fields import FIELD_SUPPORT
from connex_quickbooks_desktop.preflight import run_preflight
from connex_quickbooks_desktop.queue import Job, open_queue
from connex_quickbooks_desktop.tax import CompanyTax
from connex_quickbooks_desktop.workflow import (
    CATALOGUE_KEY,
    INVENTORY_KEY,
    TAX_LISTS_LAST,
    item_key,
    party_key,
    sku_key,
)


class QuickBooksDesktopTarget(TargetConnector):
    """QuickBooks Desktop, reached through the Web Connector, hence asynchronous.

    * ``find_or_create_customer`` / ``find_or_create_vendor`` / ``find_or_create_item`` queue the list record
      (CustomerAdd / VendorAdd, reusing an existing name on status 3100; ItemQuery then, under
      ``missing_items: create_non_inventory``, ItemNonInventoryAdd) and return the name QuickBooks will know
      it by, which is what a Desktop ``*Ref/FullName`` uses.
    * ``post_documents`` durably enqueues each document (idempotent by ``Document.key``) and returns
      ``queued``; ``exists`` for a document already done; ``failed`` at once for a document that cannot be
      expressed in qbXML (no lines, no customer, a line without an item).
    * ``collect_results()`` returns the final outcomes (``posted`` / ``exists`` / ``failed`` with QuickBooks'
      status code and message) that Web Connector sessions produced since the last call, each exactly once.
      The engine calls it at the start and end of a run to record what the bookkeeper's PC did meanwhile.
    * ``find_posted`` answers from the queue's recorded outcomes: ``posted``/``exists`` with the TxnID,
      ``queued`` while a session has not finished it, None when the document is unknown or failed.
    * ``read_inventory`` yields the latest complete ItemInventoryQuery snapshot a session stored (nothing
      before the first one) and queues a fresh iterated query for the next session, so levels lag by one Web
      Connector run.
    """

    name = "quickbooks_desktop"
    field_support = FIELD_SUPPORT
    config_names = {"income_account": "account", "expense_account": "account", "cogs_account": "account",
                    "discount_account": "account", "shipping_item": "own_item", "rounding_item": "own_item",
                    "discount_item": "own_item"}
    config_schema = CONFIG_SCHEMA
    secret_keys = SECRET_KEYS

    def __init__(self, config: Mapping[str, Any], *, state: KeyValueStore | None = None):
        super().__init__(config, state=state)
        self.settings = Settings.from_config(self.config, state)
        # the queue is in the state store the connector is given (its database, its connection)
        self.queue = open_queue(self.config, self.settings.queue_db, state)
        self._catalogue_queued = False
        self.builder = qbxml.QbxmlBuilder(
            shipping_item=self.settings.shipping_item,
            rounding_item=self.settings.rounding_item,
            discount_item=self.settings.discount_item,
            discount_account=self.settings.discount_account,
            sku_map=self.settings.sku_map,
            income_account=self.settings.income_account,
            expense_account=self.settings.expense_account,
            tax=self.settings.tax,
        )

    def close(self) -> None:
        self.queue.close()

    def services(self) -> list:
        """The Web Connector endpoint, served by ``connex qbwc`` and by the daemon on ``listen``. The endpoints of
        several Desktop connections on one ``listen`` are one (``shared_key``): the daemon starts one for all."""
        name = getattr(self.state, "connection", None) or "default"
        return [WebConnectorEndpoint(self.config, self.settings.queue_db, self.state, name=name)]

    @classmethod
    def deployment_problems(cls, configs: list) -> list:
        """Each Desktop connection needs a Web Connector user name of its own: the endpoint that serves them all
        knows the connection by it."""
        problems, seen = [], {}
        for config in configs:
            username = config.target.get("username")
            if not isinstance(username, str) or not username:
                continue
            if username in seen:
                error = config.file.error(("target", "username"), f"the Web Connector username {username!r} is "
                                          f"also connection {seen[username]!r}'s; each Desktop connection needs "
                                          "its own (the endpoint knows the connection by it)")
                problems.append((config.name, error))
            else:
                seen[username] = config.name
        return problems

    # --- list records ----------------------------------------------------------------------------------
    def find_or_create_customer(self, customer: Party) -> str:
        return self._queue_party("customer", customer)

    def find_or_create_vendor(self, vendor: Party) -> str:
        return self._queue_party("vendor", vendor)

    def _queue_party(self, role: str, party: Party) -> str:
        key = party_key(role, party)
        self.queue.enqueue(
            Job(key=key, kind=role, payload=codec.dumps(party), stage="add"), retry_failed=True
        )
        return key.split(":", 1)[1]

    def find_or_create_item(self, sku: str, description: str | None = None) -> str:
        mapped = self.builder.mapped_item(sku)
        name = qbxml.item_ref_name(mapped or sku)
        if not name:
            raise DocumentError(f"SKU {sku!r} gives an empty QuickBooks item name")
        self._queue_item(name, description, mapped=mapped is not None)
        return name

    def _queue_item(self, name: str, description: str | None, own: str | None = None, *,
                    mapped: bool = False) -> str:
        """``own``: the line kind (shipping, rounding, discount) when the item is one of Connex's own, created
        as an Other Charge item when missing whatever ``missing_items`` says. ``mapped``: the SKU map named
        the item, so it must exist and is never created."""
        key = item_key(name)
        extra = {"own": own} if own else {"mapped": True} if mapped else {}
        payload = json.dumps({"name": name, "description": description, **extra})
        self.queue.enqueue(Job(key=key, kind="item", payload=payload, stage="query"), retry_failed=True)
        return key

    def _queue_sku(self, sku: str, name: str, description: str | None) -> str:
        """item_matching sku / sku_then_name: the item is found by Manufacturer's Part Number in the item list
        the session reads first (the catalogue job, read again at each session that has SKUs to find), then, for
        sku_then_name, by full name."""
        if not self._catalogue_queued:
            self.queue.enqueue(Job(key=CATALOGUE_KEY, kind="catalogue", payload="{}", stage="page"), refresh=True)
            self._catalogue_queued = True
        key = sku_key(sku)
        payload = json.dumps({"name": name, "sku": sku, "description": description,
                              "matching": self.settings.item_matching})
        self.queue.enqueue(Job(key=key, kind="item", payload=payload, stage="match"), retry_failed=True)
        return key

    # --- documents -------------------------------------------------------------------------------------
    def post_documents(self, documents: list[Document]) -> list[PostResult]:
        # the company's codes as the last session read them: a rate no code carries fails now, not later
        last = self.queue.meta(TAX_LISTS_LAST) if self.builder.tax.reads_company else None
        self.builder.company_tax = CompanyTax.loads(last) if last else None
        self._catalogue_queued = False  # the item list is read again once per call that has SKUs to find
        results = []
        for document in documents:
            try:
                results.append(self._enqueue(document))
            except DocumentError as exc:
                results.append(PostResult(document.key, "failed", error=str(exc), code=exc.code or "invalid"))
        return results

    def _enqueue(self, document: Document) -> PostResult:
        existing = self.queue.get(document.key)
        if existing is not None and existing.status == "done":
            return PostResult(document.key, "exists", target_id=existing.target_id)
        if existing is not None and existing.status == "pending":
            return PostResult(document.key, "queued")
        job = self._document_job(document)
        stored, _ = self.queue.enqueue(job, retry_failed=True)
        if stored.status == "done":
            return PostResult(document.key, "exists", target_id=stored.target_id)
        return PostResult(document.key, "queued")

    def _document_job(self, document: Document, stage: str = "check", **context) -> Job:
        """The queue job of a document, its customer/vendor and items queued as its dependencies."""
        # Build the Add once now, so a document qbXML cannot express fails in this run, not in a session.
        probe_invoice = qbxml.InvoiceLink("probe", document.total) if document.kind == "payment" else None
        self.builder.document_add("probe", document, (), probe_invoice)
        deps = []
        if document.kind == "payment":
            # a payment waits for its invoice when Connex queued that too (else the invoice is in QuickBooks)
            invoice_key = f"invoice:{document.source_id}"
            if self.queue.get(invoice_key) is not None:
                deps.append(invoice_key)
        party = (
            getattr(document, "vendor", None)
            if document.kind in ("purchase_order", "bill")
            else getattr(document, "customer", None)
        )
        if party is not None:
            role = "vendor" if document.kind in ("purchase_order", "bill") else "customer"
            deps.append(party_key(role, party))
            self._queue_party(role, party)
        for index, line in enumerate(document.lines):
            name = self.builder.line_item(document, index, line)
            if self.settings.item_matching != "name" and self.builder.by_part_number(line):
                deps.append(self._queue_sku(line.sku, name, line.description))
                continue
            own = line.kind if line.kind in qbxml.OWN_ITEM_KINDS else None
            mapped = self.builder.mapped_line_item(line) is not None
            deps.append(self._queue_item(name, line.description, own, mapped=mapped))
        if self.builder.tax.may_add_rounding(document) and self.builder.rounding_item:
            # a US file's own tax can leave the total a cent off the source's: a rounding line may carry it
            deps.append(self._queue_item(self.builder.rounding_item, "Rounding", "rounding"))
        return Job(
            key=document.key,
            kind="document",
            payload=codec.dumps(document),
            stage=stage,
            context={"deps": list(dict.fromkeys(deps)), "po_number": _linked_po(document),
                     "invoice_number": getattr(document, "invoice_number", None),
                     "payout": self._payout(document), **context},
            doc_kind=document.kind,
            doc_number=document.doc_number,
        )

    def _payout(self, document: Document) -> dict | None:
        """How a refund's money leaves after its credit memo (a rule, else ``refund_payout``), and from which
        account; None for the credit memo alone."""
        if document.kind not in ("credit_memo", "refund_receipt"):
            return None
        method = getattr(document, "payout", None) or self.config.get("refund_payout") or "none"
        if method == "none":
            return None
        account = getattr(document, "deposit_account", None) or self.config.get("refund_account")
        if not account:
            raise DocumentError(f"a refund paid out by {method.replace('_', ' ')} needs the account it is paid "
                                "from: set refund_account in the target, or a map_deposit_account rule",
                                where=DocumentRef(document.kind, document.source_id, "deposit_account",
                                                  document.doc_number))
        return {"method": method, "account": account}

    # --- corrections (through the Web Connector, like every post) ------------------------------------------
    supports_corrections = True

    def update_document(self, document: Document, target_id: str) -> PostResult:
        """The document's job again, now a Mod: ``edit`` [<Txn>Query by TxnID: its EditSequence] -> ``mod``
        [<Txn>ModRq]; a 3200 (EditSequence out of date) is re-read and sent once more."""
        return self._correction(document, "edit", mode="update", txn_id=target_id)

    def repost_document(self, document: Document, target_id: str) -> PostResult:
        """The document's job again: the old transaction is voided (an invoice's received payments deleted
        first: ``links`` -> ``unpay`` -> ``void``), then the new version goes through ``check`` -> ``add`` like
        any document."""
        if document.kind == "invoice":
            self.queue.retire(f"payment:{document.source_id}", f"#void:{target_id}")
        first = "links" if document.kind == "invoice" else "void"
        return self._correction(document, first, mode="void_and_repost", txn_id=target_id)

    def void_document(self, document: Document, target_id: str) -> PostResult:
        """A job of its own (``void:<key>``): the transaction voided, an invoice's payments deleted first."""
        if document.kind == "invoice":
            self.queue.retire(f"payment:{document.source_id}", f"#void:{target_id}")
        job = Job(key=f"void:{document.key}:{target_id}", kind="void",
                  payload=json.dumps({"kind": document.kind, "number": document.doc_number}),
                  stage="links" if document.kind == "invoice" else "void",
                  context={"txn_id": target_id, "mode": "void"}, doc_kind=document.kind,
                  doc_number=document.doc_number)
        self.queue.enqueue(job, retry_failed=True)
        return PostResult(document.key, "queued", target_id=target_id)

    def _correction(self, document: Document, stage: str, **context) -> PostResult:
        if document.kind not in qbxml.TXN_TYPES:
            raise DocumentError(f"QuickBooks Desktop cannot correct a {document.kind}")
        try:
            job = self._document_job(document, stage, **context)
        except DocumentError as exc:
            return PostResult(document.key, "failed", error=str(exc), code=exc.code or "invalid")
        stored, restarted = self.queue.enqueue(job, refresh=True)
        if not restarted and stored.status == "pending":
            return PostResult(document.key, "failed", error="its earlier post or correction is still waiting for "
                              "the Web Connector; correct it after the next session", code="busy")
        return PostResult(document.key, "queued")

    def collect_results(self) -> list[PostResult]:
        """Final outcomes reached by Web Connector sessions since the last call (each returned once)."""
        return [_result(job) for job in self.queue.collect()]

    def find_posted(self, document: Document) -> PostResult | None:
        job = self.queue.get(document.key)
        if job is None or job.status == "failed":
            return None
        if job.status == "pending":
            return PostResult(document.key, "queued")
        return PostResult(document.key, job.outcome or "posted", target_id=job.target_id)

    # --- check -----------------------------------------------------------------------------------------
    def preflight(self, wanted: Iterable[Wanted]) -> Preflight:
        """What earlier Web Connector sessions left in the queue; the rest cannot be asked (preflight.py)."""
        return run_preflight(self, list(wanted))

    # --- inventory -------------------------------------------------------------------------------------
    def read_inventory(self, skus: Iterable[str] | None = None) -> Iterator[InventoryLevel]:
        wanted = {s.lower() for s in skus} if skus is not None else None
        snapshot = self.queue.inventory()
        # Queued now, not when the caller starts iterating: the next session must refresh either way.
        self.queue.enqueue(Job(key=INVENTORY_KEY, kind="inventory", payload="{}", stage="page"), refresh=True)
        return self._levels(snapshot, wanted)

    @staticmethod
    def _levels(snapshot, wanted) -> Iterator[InventoryLevel]:
        for name, _list_id, quantity in snapshot:
            if wanted is not None and name.lower() not in wanted:
                continue
            try:
                on_hand = int(Decimal(quantity))
            except (InvalidOperation, ValueError):
                on_hand = 0
            yield InventoryLevel(sku=name, quantity_on_hand=on_hand, name=name)


def _linked_po(document: Document) -> str | None:
    """The purchase order a bill settles: the bill waits for it and links its lines to it."""
    return getattr(document, "linked_po_number", None) or None if document.kind == "bill" else None


def _result(job: Job) -> PostResult:
    if job.status == "failed":
        return PostResult(job.key, "failed", error=job.error, code=job.code)
    return PostResult(job.key, job.outcome or "posted", target_id=job.target_id)


class WebConnectorEndpoint:
    """The SOAP endpoint as a ``connex.connectors.Service``: started and stopped by whoever runs Connex. Endpoints of
    connections on the same ``listen`` address share ``shared_key``; ``absorb`` makes one serve them all."""

    def __init__(self, config: Mapping[str, Any], queue_db: str, state: KeyValueStore | None, *,
                 name: str = "default"):
        self.connections: list[tuple[str, dict, Any]] = [
            (name, {**dict(config), **({"queue_db": queue_db} if config.get("queue_db") else {})}, state)]
        self.server = None

    @property
    def shared_key(self) -> tuple:
        return ("quickbooks-web-connector", str(self.connections[0][1].get("listen", "127.0.0.1:8085")))

    def absorb(self, other: WebConnectorEndpoint) -> None:
        """Serve ``other``'s connections too (before ``start``)."""
        self.connections.extend(other.connections)

    @property
    def url(self) -> str:
        return self.server.url if self.server is not None else ""

    def start(self) -> WebConnectorEndpoint:
        from connex_quickbooks_desktop.service import serve_many

        self.server = serve_many(self.connections)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
