"""What each Web Connector round trip carries, and what each response does to the queue.

Jobs and their stages (requests in brackets):

* customer / vendor: ``add`` [CustomerAdd / VendorAdd]. Status 3100 (name in use) reuses the existing record.
* item: ``query`` [ItemQuery by FullName] -> found: done; missing: ``add`` [ItemNonInventoryAdd] when
  ``missing_items: create_non_inventory``, else the item fails and so do the documents that need it. Connex's
  own items (shipping, rounding, discount) are added [ItemOtherChargeAdd] unless ``create_own_items: false``.
* document: ``check`` [SalesReceiptQuery / InvoiceQuery / ... by RefNumber = first 11 characters, one query
  for all the documents of a type in the round trip] -> duplicate found (RefNumber matches and, when the
  number was cut, the Memo holds the full number): done as ``exists``; else ``deps`` (waits for its
  customer/vendor and items, and a bill for the purchase order it settles when Connex queued that too) ->
  a bill: ``link`` [PurchaseOrderQuery with lines], a payment: ``link`` [InvoiceQuery: the invoice's TxnID and
  open balance] -> ``add`` [SalesReceiptAdd / InvoiceAdd / CreditMemoAdd / PurchaseOrderAdd / BillAdd /
  ReceivePaymentAdd with AppliedToTxnAdd]. A payment waits for its invoice when Connex queued that too.
* inventory: ``page`` [ItemInventoryQuery iterator Start, then Continue] until ``iteratorRemainingCount`` is
  0, then the staged snapshot replaces the previous one.
* taxlists (``tax_model`` us or global): once per session, before any document's ``add``: ``read``
  [SalesTaxCodeQuery, ItemSalesTaxQuery, ItemSalesTaxGroupQuery] -> the company's codes and tax items, kept for
  the session; documents name codes from them (tax.py). A failed read fails the documents waiting on it.

Several jobs' requests share one ``QBXMLMsgsRq`` (``continueOnError``), up to ``batch_size`` requests, so a
round trip stays well inside the Web Connector's timeout. Requests are matched back to jobs by ``requestID``.

Crash safety: requests are recorded in flight before they are handed out. When a new session starts, whatever
was still in flight never got an answer: it is forgotten, and every document that had passed its duplicate
check goes back to ``check``; its Add may have reached QuickBooks, and the check will then find it. A check is
only trusted within the session that made it, so a resumed session never posts twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from connex.documents import Party
from connex.errors import DocumentError, DocumentRef
from connex_quickbooks_desktop import codec, limits, qbxml
from connex_quickbooks_desktop.currencies import currency_name
from connex_quickbooks_desktop.queue import Inflight, Job, RequestQueue
from connex_quickbooks_desktop.safexml import parse_text
from connex_quickbooks_desktop.tax import CompanyTax
from connex_quickbooks_desktop.validation import QbxmlValidator

log = logging.getLogger(__name__)

NAME_IN_USE = 3100
OBJECT_NOT_FOUND = 3120
EDIT_SEQUENCE_STALE = 3200  # quickbooks-desktop-qbwc.md §10: "EditSequence out of date (Mod requests); re-query"
#: stages of a correction: an invoice's received payments found (links) and deleted (unpay), the old transaction
#: voided (void); or an update's EditSequence read (edit) and the Mod sent (mod)
CORRECTION_STAGES = ("links", "unpay", "void", "edit", "mod")
#: a refund's money going back after its credit memo: already there? (payout_check), then the cheque or card
#: refund applied to the credit memo (payout)
PAYOUT_STAGES = ("payout_check", "payout")
NO_MATCH = 1
NOT_FOUND_WARN = 500
#: record locked / modified by another user / could not save: QuickBooks is busy, not the document wrong
RETRYABLE = {3170, 3175, 3176, 3180}
MAX_ATTEMPTS = 3
INVENTORY_KEY = "inventory"
TAX_LISTS_KEY = "taxlists"
TAX_LISTS_META = "tax_lists"
TAX_LISTS_LAST = "tax_lists_last"  # kept across sessions: documents are checked against it when queued
TAX_PARTS = ("codes", "items", "groups")
#: the item list read page by page when items are matched by Manufacturer's Part Number (item_matching sku)
CATALOGUE_KEY = "item-catalogue"
#: transaction lines per message set; with ``batch_size`` this keeps a round trip well inside the Web
#: Connector's timeout (about two minutes) even for orders with hundreds of lines
MAX_LINES_PER_ROUND_TRIP = 500
CHECK_GROUP_MAX = 50  # RefNumbers per duplicate-check query: small answers, far fewer requests


class _Batch:
    """The requests of one message set. Duplicate checks of the same transaction type share one query (one
    RefNumber per document): a response holds every match, and each document picks out its own."""

    def __init__(self, ticket: str, size: int):
        self.ticket = ticket
        self.size = size
        self.requests: list[etree._Element] = []
        self.lines = 0
        self._checks: dict[str, tuple[str, etree._Element]] = {}

    @property
    def full(self) -> bool:
        return len(self.requests) >= self.size or self.lines >= MAX_LINES_PER_ROUND_TRIP

    def fits(self, emitted: list[tuple[str, etree._Element]]) -> bool:
        """QuickBooks' time per message set grows with transaction lines, not only with requests: a job whose
        lines would push the set past MAX_LINES_PER_ROUND_TRIP waits for the next round trip (a set always
        takes at least one job, however large)."""
        return not self.requests or self.lines + _line_count(emitted) <= MAX_LINES_PER_ROUND_TRIP

    def add(self, conn, queue: RequestQueue, job: Job, part: str, element: etree._Element) -> None:
        if part == "dup":
            group = self._checks.get(element.tag)
            if group is not None and len(group[1].findall("RefNumber")) < CHECK_GROUP_MAX:
                request_id, query = group
                ref = element.find("RefNumber")
                if ref.text not in {r.text for r in query.findall("RefNumber")}:
                    query.findall("RefNumber")[-1].addnext(ref)
                queue.add_inflight(conn, Inflight(request_id, job.key, job.stage, part, self.ticket))
                return
        request_id = uuid.uuid4().hex[:20]
        element.set("requestID", request_id)
        self.lines += _line_count([(part, element)])
        queue.add_inflight(conn, Inflight(request_id, job.key, job.stage, part, self.ticket))
        self.requests.append(element)
        if part == "dup":
            self._checks[element.tag] = (request_id, element)


def _line_count(emitted: list[tuple[str, etree._Element]]) -> int:
    return sum(1 for _, element in emitted for node in element.iter() if str(node.tag).endswith("LineAdd"))


def party_key(role: str, party: Party) -> str:
    return f"{role}:{qbxml.party_name(party)}"


def item_key(name: str) -> str:
    return f"item:{name}"


def sku_key(sku: str) -> str:
    """The job finding a SKU's item by part number; SKUs compare without regard to case."""
    return f"item-sku:{sku.casefold()}"


@dataclass
class Reply:
    """One ``*Rs`` element, leniently read (responses are never schema-validated: QuickBooks is
    the authority)."""

    request_id: str
    status: int
    severity: str
    message: str
    element: etree._Element
    _txns: dict[str, list[tuple[etree._Element, str]]] | None = field(default=None, repr=False)

    @classmethod
    def from_element(cls, rs: etree._Element) -> Reply:
        try:
            status = int(rs.get("statusCode", "0"))
        except ValueError:
            status = 1000
        return cls(
            rs.get("requestID", ""), status, rs.get("statusSeverity", ""), rs.get("statusMessage", ""), rs
        )

    def rets(self) -> list[etree._Element]:
        return [child for child in self.element if isinstance(child.tag, str) and child.tag.endswith("Ret")]

    def txns_by_ref(self) -> dict[str, list[tuple[etree._Element, str]]]:
        """Returned transactions grouped by RefNumber, each with its Memo; built once per reply, because a
        grouped duplicate check is read by every document in the group."""
        if self._txns is None:
            self._txns = {}
            for ret in self.rets():
                ref, memo = _text(ret, "RefNumber") or "", _text(ret, "Memo") or ""
                self._txns.setdefault(ref, []).append((ret, memo))
        return self._txns

    def describe(self, request_name: str) -> str:
        return f"QuickBooks {request_name} status {self.status}: {self.message}"


def _links(job: Job) -> bool:
    """True when the document needs another transaction first: a bill its purchase order, a payment its
    invoice."""
    return bool(job.context.get("po_number") or job.context.get("invoice_number"))


def _after_deps(job: Job) -> str:
    """The stage after a document's dependencies: the transaction it links to, a journal entry's item accounts,
    or the add."""
    return "link" if _links(job) else "accounts" if job.doc_kind == "journal_entry" else "add"


def _text(node: etree._Element, path: str) -> str | None:
    found = node.find(path)
    return found.text if found is not None and found.text is not None else None


class Workflow:
    def __init__(
        self,
        queue: RequestQueue,
        builder: qbxml.QbxmlBuilder,
        *,
        batch_size: int = 50,
        missing_items: str = "fail",
        validator: QbxmlValidator | None = None,
        create_own_items: bool = True,
    ):
        self.queue = queue
        self.builder = builder
        self.batch_size = max(1, int(batch_size))
        self.missing_items = missing_items
        self.create_own_items = create_own_items
        self.validator = validator

    # --- session boundaries ------------------------------------------------------------------------------
    def resume(self) -> int:
        """Start of a session: forget unanswered requests of any earlier session and re-arm checks. Returns
        the number of requests that had been lost in flight."""
        with self.queue.transaction() as conn:
            # the pending jobs locked first: a message set another process is building meanwhile commits its
            # requests in flight before they are read (and forgotten) here, never after
            pending = self.queue.pending_in(conn, lock=True)
            lost = self.queue.take_inflight(conn)
            for job in pending:
                changed = False
                if job.kind in ("document", "void") and job.stage in CORRECTION_STAGES:
                    # a correction resumes at a stage that is safe to send again: a Mod re-reads its
                    # EditSequence; a void or a payment's deletion already done answers "already" and moves on
                    restart = "edit" if job.stage in ("edit", "mod") else job.stage
                    if restart != job.stage:
                        job.stage, changed = restart, True
                elif job.kind == "document" and job.stage == "payout":
                    job.stage, changed = "payout_check", True  # the cheque may have got through
                elif job.kind == "document" and job.stage not in ("check", "payout_check"):
                    job.stage, changed = "check", True
                if job.context.pop("po_links", None) is not None:
                    changed = True
                if job.context.pop("invoice", None) is not None:
                    changed = True
                if job.kind in ("inventory", "catalogue") and (job.context.get("iterator_id") or job.stage != "page"):
                    job.context.pop("iterator_id", None)
                    job.stage, changed = "page", True
                if changed:
                    self.queue.save(conn, job)
            self.queue.clear_staging(conn)
            # the company's tax set-up is read afresh each session: the bookkeeper may have changed it
            self.queue.drop_meta_in(conn, TAX_LISTS_META)
        if self.builder.tax.reads_company:
            self.queue.enqueue(Job(TAX_LISTS_KEY, "taxlists", "{}", "read"), refresh=True, retry_failed=True)
        if lost:
            log.warning(
                "QuickBooks Web Connector: %d request(s) of an interrupted session had no answer", len(lost)
            )
        return len(lost)

    # --- sendRequestXML -----------------------------------------------------------------------------------
    def next_request(self, ticket: str) -> tuple[str, int]:
        """The next message set for ``ticket`` and how many requests it holds; ("", 0) when nothing is
        ready. Pending jobs are scanned oldest first, a page at a time, until ``batch_size`` requests are
        collected, so a queue of thousands of documents costs no more per round trip than one of fifty."""
        batch = _Batch(ticket, self.batch_size)
        with self.queue.transaction() as conn:
            # Stock is read last, once this session's documents are in: the levels then include them.
            postings_left = self.queue.has_pending_in(conn, besides="inventory")
            # claimed: a job in flight in any session, or being handed out by another process, is not taken
            for job in self.queue.claim_pending(conn):
                if batch.full:
                    break
                if job.kind == "inventory" and postings_left:
                    continue
                solo = bool(job.context.get("solo"))
                if solo and batch.requests:
                    continue  # a job suspected of breaking a message set travels alone
                emitted = self._emit(conn, job)
                if not batch.fits(emitted):
                    continue
                for part, element in emitted:
                    batch.add(conn, self.queue, job, part, element)
                if solo and batch.requests:
                    break
        if not batch.requests:
            return "", 0
        return qbxml.message_set(batch.requests), len(batch.requests)

    def _emit(self, conn, job: Job) -> list[tuple[str, etree._Element]]:
        """The requests ``job`` needs now (none while it waits); a job that cannot be expressed in valid
        qbXML is failed here instead of being handed to QuickBooks."""
        try:
            emitted = self._build(conn, job)
        except DocumentError as exc:
            self._fail(conn, job, str(exc), exc.code)
            return []
        if emitted and self.validator is not None:
            problems = self.validator.validate(qbxml.message_set([el for _, el in emitted]))
            if problems:
                # Never hand QuickBooks XML its own validator would refuse: it fails the whole message set.
                self._fail(conn, job, f"{self._label(job)}: qbXML does not validate: {problems[0]}", "xsd")
                return []
        return emitted

    def _build(self, conn, job: Job) -> list[tuple[str, etree._Element]]:
        if job.kind in ("customer", "vendor"):
            party = codec.loads(job.payload)
            currency = currency_name(party.currency) if self._multicurrency_on(conn) else None
            build = self.builder.customer_add if job.kind == "customer" else self.builder.vendor_add
            return [("add", build("", party, currency))]
        if job.kind == "catalogue":
            return [("page", self.builder.item_catalogue_query("", iterator_id=job.context.get("iterator_id")))]
        if job.kind == "item":
            spec = json.loads(job.payload)
            if job.stage == "match":
                self._match_part_number(conn, job, spec)
                return [] if job.status != "pending" or job.stage == "match" else self._build(conn, job)
            if job.stage == "query":
                return [("query", self.builder.item_query("", [spec["name"]]))]
            if spec.get("own"):
                return [("add", self.builder.item_other_charge_add("", spec["name"], spec["own"]))]
            part = spec.get("sku") if spec.get("matching") in ("sku", "sku_then_name") else None
            return [("add", self.builder.item_non_inventory_add("", spec["name"], spec.get("description"), part))]
        if job.kind == "inventory":
            iterator_id = job.context.get("iterator_id")
            return [("page", self.builder.item_inventory_query("", iterator_id=iterator_id))]
        if job.kind == "taxlists":
            return [(part, self.builder.tax_lists_query("", part)) for part in TAX_PARTS]
        if job.stage in CORRECTION_STAGES:
            return self._build_correction(conn, job)
        if job.stage in PAYOUT_STAGES:
            document, payout = codec.loads(job.payload), job.context["payout"]
            if job.stage == "payout_check":
                return [("payout_check", self.builder.payout_query("", document, payout["method"]))]
            return [("payout", self.builder.payout_add("", document, payout["method"], payout["account"],
                                                       job.context["credit_txn"]))]
        return self._build_document(conn, job)

    def _company_tax(self, conn, job: Job) -> tuple[bool, CompanyTax | None]:
        """(ready, the company's tax set-up) for a document about to be added: not ready while this session's
        read is pending; a DocumentError when it failed."""
        if not self.builder.tax.reads_company:
            return True, None
        value = self.queue.meta_in(conn, TAX_LISTS_META)
        if value is not None:
            return True, CompanyTax.loads(value)
        reader = self.queue.get_in(conn, TAX_LISTS_KEY)
        if reader is not None and reader.status == "failed":
            raise DocumentError(f"reading the company file's sales tax codes failed: {reader.error}",
                                where=self._where(job, "SalesTaxCodeRef"), code=reader.code)
        return False, None

    def _build_correction(self, conn, job: Job) -> list[tuple[str, etree._Element]]:
        kind, txn_id = job.doc_kind, job.context["txn_id"]
        if job.stage == "links":
            return [("links", self.builder.txn_by_id("", kind, txn_id, linked=True))]
        if job.stage == "unpay":
            return [("unpay", self.builder.txn_del("", "ReceivePayment", job.context["payments"][0]))]
        if job.stage == "void" and kind == "payment":  # not a TxnVoidType: a received payment is deleted
            return [("void", self.builder.txn_del("", "ReceivePayment", txn_id))]
        if job.stage == "void":
            return [("void", self.builder.txn_void("", kind, txn_id))]
        if job.stage == "edit":
            return [("edit", self.builder.txn_by_id("", kind, txn_id))]
        if not self._deps_ready(conn, job):
            return []  # a new customer or item the new version needs is not in QuickBooks yet
        ready, company_tax = self._company_tax(conn, job)
        if not ready:
            return []
        self.builder.company_tax = company_tax
        document = codec.loads(job.payload)
        return [("mod", self._builder_for(conn, job).document_mod("", document, txn_id,
                                                                 job.context["edit_sequence"]))]

    def _build_document(self, conn, job: Job) -> list[tuple[str, etree._Element]]:
        document = codec.loads(job.payload)
        if job.stage == "check":
            return [("dup", self.builder.txn_query("", document))]
        if job.stage == "deps":
            if not self._deps_ready(conn, job):
                return []
            job.stage = _after_deps(job)
            self.queue.save(conn, job)
        if job.stage == "accounts":
            # a journal entry credits each item's income account: read them, just before the add
            return [("accounts", self.builder.item_query("", self._builder_for(conn, job).item_names(document)))]
        if job.stage == "link" and job.context.get("invoice_number"):
            return [("invoice", self.builder.invoice_query("", job.context["invoice_number"]))]
        if job.stage == "link":
            return [("po", self.builder.purchase_order_lines_query("", document.linked_po_number))]
        links = [qbxml.PoLineLink(*link) for link in job.context.get("po_links", [])]
        ready, company_tax = self._company_tax(conn, job)
        if not ready:
            return []
        self.builder.company_tax = company_tax
        invoice = job.context.get("invoice")
        invoice = qbxml.InvoiceLink(invoice[0], Decimal(invoice[1])) if invoice else None
        return [("add", self._builder_for(conn, job).document_add("", document, links, invoice,
                                                                  job.context.get("income_accounts")))]

    def _builder_for(self, conn, job: Job) -> qbxml.QbxmlBuilder:
        """The builder, told which items the document's SKUs were found as by part number."""
        keys = [k for k in job.context.get("deps", []) if k.startswith("item-sku:")]
        if not keys:
            return self.builder
        resolved = {}
        for dep in self.queue.get_many_in(conn, keys):
            if dep.context.get("full_name"):
                resolved[json.loads(dep.payload)["sku"].casefold()] = dep.context["full_name"]
        return self.builder.with_items(resolved)

    def _match_part_number(self, conn, job: Job, spec: dict) -> None:
        """A SKU's item by Manufacturer's Part Number, once this session's item list is read; not found: by
        full name (sku_then_name), or the missing-item policy (sku)."""
        catalogue = self.queue.get_in(conn, CATALOGUE_KEY)
        if catalogue is not None and catalogue.status == "pending":
            return  # the list is still being read
        if catalogue is None or catalogue.status == "failed":
            why = catalogue.error if catalogue is not None else "it was never read"
            self._fail(conn, job, f"item for SKU {spec['sku']!r}: the item list could not be read ({why})",
                       "missing_item")
            return
        found = self.queue.by_part_number(conn, spec["sku"])
        if len(found) > 1:
            names = ", ".join(repr(name) for name, _ in found)
            self._fail(conn, job, f"SKU {spec['sku']!r} is the Manufacturer's Part Number of several items "
                       f"({names}): keep it on one, or name the item in the SKU map", "ambiguous_item")
        elif found:
            job.context["full_name"] = found[0][0]
            self._done(conn, job, "exists", found[0][1])
        elif spec.get("matching") == "sku_then_name":
            job.stage = "query"
            self.queue.save(conn, job)
        elif self.missing_items == "create_non_inventory":
            job.stage = "add"
            self.queue.save(conn, job)
        else:
            self._fail(conn, job, f"item {spec['sku']!r} is not in QuickBooks (no item has it as Manufacturer's "
                       "Part Number; item_matching: sku, missing_items: fail)", "missing_item")

    def _deps_ready(self, conn, job: Job) -> bool:
        """True when the customer/vendor, items (and a bill's purchase order, if Connex queued it) are done;
        False while one is pending; a DocumentError naming the dependency when one failed."""
        deps = self.queue.get_many_in(conn, list(job.context.get("deps", [])))
        po_number = job.context.get("po_number")
        if po_number:
            po = self.queue.find_document_in(conn, "purchase_order", po_number)
            if po is not None:  # a purchase order Connex did not queue must already be in QuickBooks
                deps.append(po)
        if any(dep.status == "pending" for dep in deps):
            return False
        for dep in deps:
            if dep.status == "failed":
                is_po = dep.kind == "document"
                name = dep.doc_number if is_po else dep.key.split(":", 1)[1]
                raise DocumentError(
                    f"{'purchase order' if is_po else dep.kind} {name} failed: {dep.error}",
                    where=self._where(job, "linked_po_number" if is_po else dep.kind),
                    code=dep.code,
                )
        return True

    def _multicurrency_on(self, conn) -> bool:
        """CurrencyRef only when the company has multicurrency on (QuickBooks refuses it otherwise); unknown
        until a session's HostQuery/PreferencesQuery answer says, in which case Connex sends it."""
        value = self.queue.meta_in(conn, "multicurrency")
        return value is None or value == "true"

    # --- receiveResponseXML ---------------------------------------------------------------------------------
    def handle_response(self, ticket: str, response: str) -> int:
        """Apply a qbXML response to the jobs of ``ticket``'s requests; return how many requests it
        answered."""
        root = parse_text(response)
        replies = {}
        for msgs in root.iter("QBXMLMsgsRs"):
            for rs in msgs:
                if isinstance(rs.tag, str) and rs.get("requestID") is not None:
                    replies[rs.get("requestID")] = Reply.from_element(rs)
        answered = 0
        with self.queue.transaction() as conn:
            sent = self.queue.take_inflight(conn, ticket)
            per_job: dict[str, dict[str, Reply | None]] = defaultdict(dict)
            for request in sent:
                per_job[request.job_key][request.part] = replies.get(request.request_id)
            for key, parts in per_job.items():
                job = self.queue.get_in(conn, key)
                if job is None or job.status != "pending":
                    continue
                if any(reply is None for reply in parts.values()):
                    # QuickBooks stopped before these (stopOnError elsewhere): nothing happened, send again.
                    if job.kind == "document" and job.stage == "add":
                        job.stage = "check"
                    elif job.stage == "mod":
                        job.stage = "edit"
                    self.queue.save(conn, job)
                    continue
                answered += len(parts)
                job.context.pop("solo", None)
                self._apply(conn, job, parts)  # type: ignore[arg-type]
        return answered

    def handle_failed_message_set(self, ticket: str, hresult: str, message: str) -> None:
        """QuickBooks refused the whole message set (empty response, an HRESULT): nothing in it was applied.
        Each job in it is retried alone; one that still fails alone after MAX_ATTEMPTS is failed with the
        message, so one bad document never blocks the others."""
        with self.queue.transaction() as conn:
            sent = self.queue.take_inflight(conn, ticket)
            for key in dict.fromkeys(r.job_key for r in sent):
                job = self.queue.get_in(conn, key)
                if job is None or job.status != "pending":
                    continue
                job.attempts += 1
                if job.kind == "document" and job.stage == "add":
                    job.stage = "check"
                if job.attempts >= MAX_ATTEMPTS and job.context.get("solo"):
                    self._fail(conn, job, f"QuickBooks refused the request ({hresult}): {message}", hresult)
                    continue
                job.context["solo"] = True
                self.queue.save(conn, job)

    def _apply(self, conn, job: Job, parts: dict[str, Reply]) -> None:
        if job.kind in ("customer", "vendor"):
            reply = parts["add"]
            request_name = "CustomerAdd" if job.kind == "customer" else "VendorAdd"
            if reply.status == 0:
                self._done(conn, job, "posted", _text(reply.rets()[0], "ListID") if reply.rets() else None)
            elif reply.status == NAME_IN_USE:
                self._done(conn, job, "exists", job.key.split(":", 1)[1])
            else:
                self._retry_or_fail(conn, job, reply, request_name)
        elif job.kind == "item":
            self._apply_item(conn, job, parts)
        elif job.kind == "inventory":
            self._apply_inventory(conn, job, parts["page"])
        elif job.kind == "taxlists":
            self._apply_tax_lists(conn, job, parts)
        elif job.kind == "catalogue":
            self._apply_catalogue(conn, job, parts["page"])
        elif job.stage in CORRECTION_STAGES:
            self._apply_correction(conn, job, parts[job.stage])
        elif job.stage in PAYOUT_STAGES:
            self._apply_payout(conn, job, parts[job.stage])
        elif job.stage == "check":
            self._apply_check(conn, job, parts["dup"])
        elif job.stage == "link" and "invoice" in parts:
            self._apply_invoice(conn, job, parts["invoice"])
        elif job.stage == "link":
            self._apply_link(conn, job, parts["po"])
        elif job.stage == "accounts":
            self._apply_accounts(conn, job, parts["accounts"])
        else:
            reply = parts["add"]
            txn = qbxml.TXN_TYPES[job.doc_kind][0]
            if reply.status == 0:
                self._document_in(conn, job, _text(reply.rets()[0], "TxnID") if reply.rets() else None, "posted")
            else:
                self._retry_or_fail(conn, job, reply, f"{txn}Add", back_to="check")

    def _apply_accounts(self, conn, job: Job, reply: Reply) -> None:
        """The items' income accounts for a journal entry (ItemQuery): an inventory item's IncomeAccountRef, a
        non-inventory, service or other-charge item's SalesOrPurchase AccountRef or SalesAndPurchase
        IncomeAccountRef (qbxml130.xsd ItemInventoryRet, ItemNonInventoryRet...)."""
        if reply.status != 0:
            self._retry_or_fail(conn, job, reply, "ItemQuery")
            return
        accounts = {}
        for ret in reply.rets():
            name = _text(ret, "FullName")
            account = (_text(ret, "IncomeAccountRef/FullName") or _text(ret, "SalesOrPurchase/AccountRef/FullName")
                       or _text(ret, "SalesAndPurchase/IncomeAccountRef/FullName"))
            if name and account:
                accounts[name.casefold()] = account
        job.context["income_accounts"] = accounts
        job.stage = "add"
        self.queue.save(conn, job)

    def _apply_tax_lists(self, conn, job: Job, parts: dict[str, Reply]) -> None:
        """Keep the session's read of the company's codes and tax items; "no match" (status 1) is an empty
        list (a file without sales tax groups), any other error fails the read."""
        found = {}
        for part in TAX_PARTS:
            reply = parts.get(part)
            if reply is None or reply.status not in (0, NO_MATCH):
                request = qbxml.QbxmlBuilder.tax_lists_query("", part).tag[:-2]
                if reply is None:
                    self._fail(conn, job, f"{request}: no answer", "qbxml")
                else:
                    self._retry_or_fail(conn, job, reply, request)
                return
            found[part] = reply.rets() if reply.status == 0 else []
        company = CompanyTax.from_rets(found["codes"], found["items"], found["groups"])
        for key in (TAX_LISTS_META, TAX_LISTS_LAST):
            self.queue.set_meta_in(conn, key, company.dumps())
        self._done(conn, job, "read", None)

    def _document_in(self, conn, job: Job, txn_id: str | None, outcome: str) -> None:
        """The document is in QuickBooks; a refund paid out goes on to its cheque or card refund."""
        if job.context.get("payout") and txn_id:
            job.context["credit_txn"], job.context["outcome"] = txn_id, outcome
            job.stage = "payout_check"
            self.queue.save(conn, job)
            return
        self._done(conn, job, outcome, txn_id)

    def _apply_payout(self, conn, job: Job, reply: Reply) -> None:
        method = job.context["payout"]["method"]
        request = qbxml.QbxmlBuilder.PAYOUT_TXN[method]
        if job.stage == "payout_check":
            if reply.status not in (0, NO_MATCH):
                self._retry_or_fail(conn, job, reply, f"{request}Query")
                return
            if self._matching_txn(reply, job.doc_number or "", limits.REF_NUMBER) is not None:
                self._done(conn, job, job.context.get("outcome", "posted"), job.context["credit_txn"])
                return
            job.stage = "payout"
            self.queue.save(conn, job)
            return
        if reply.status == 0:
            self._done(conn, job, job.context.get("outcome", "posted"), job.context["credit_txn"])
        else:
            self._retry_or_fail(conn, job, reply, f"{request}Add", back_to="payout_check")

    def _apply_correction(self, conn, job: Job, reply: Reply) -> None:
        """A correction's step answered. Voiding a void transaction or deleting a deleted payment (an earlier
        attempt got through before the session died) counts as done."""
        txn = qbxml.TXN_TYPES[job.doc_kind][0]
        if job.stage == "links":
            if reply.status != 0 or not reply.rets():
                self._retry_or_fail(conn, job, reply, f"{txn}Query")
                return
            payments = [_text(link, "TxnID") for link in reply.rets()[0].findall("LinkedTxn")
                        if _text(link, "TxnType") == "ReceivePayment" and _text(link, "TxnID")]
            job.context["payments"] = payments
            job.stage = "unpay" if payments else "void"
        elif job.stage == "unpay":
            if reply.status not in (0, OBJECT_NOT_FOUND):
                self._retry_or_fail(conn, job, reply, "TxnDel")
                return
            job.context["payments"] = job.context["payments"][1:]
            job.stage = "unpay" if job.context["payments"] else "void"
        elif job.stage == "void":
            gone = job.doc_kind == "payment" and reply.status == OBJECT_NOT_FOUND  # deleted by an earlier attempt
            if reply.status != 0 and not gone and "already void" not in reply.message.lower():
                self._retry_or_fail(conn, job, reply, "TxnVoid")
                return
            if job.kind == "void":
                self._done(conn, job, "posted", job.context["txn_id"])
                return
            job.stage = "check"  # the new version: duplicate check, dependencies, add
        elif job.stage == "edit":
            if reply.status != 0 or not reply.rets():
                self._retry_or_fail(conn, job, reply, f"{txn}Query")
                return
            job.context["edit_sequence"] = _text(reply.rets()[0], "EditSequence") or ""
            job.stage = "mod"
        else:  # mod
            if reply.status == EDIT_SEQUENCE_STALE and not job.context.get("stale_retried"):
                job.context["stale_retried"] = True  # changed in QuickBooks since it was read: re-read, once
                job.stage = "edit"
            elif reply.status == 0:
                self._done(conn, job, "posted", _text(reply.rets()[0], "TxnID") if reply.rets()
                           else job.context["txn_id"])
                return
            else:
                self._retry_or_fail(conn, job, reply, f"{txn}Mod")
                return
        self.queue.save(conn, job)

    def _apply_item(self, conn, job: Job, parts: dict[str, Reply]) -> None:
        spec = json.loads(job.payload)
        name, own = spec["name"], spec.get("own")
        if job.stage == "query":
            reply = parts["query"]
            if reply.status == 0 and reply.rets():
                job.context["full_name"] = _text(reply.rets()[0], "FullName") or name
                self._done(conn, job, "exists", _text(reply.rets()[0], "ListID"))
            elif reply.status in (NO_MATCH, NOT_FOUND_WARN, 0):
                if spec.get("mapped"):
                    self._fail(conn, job, f"item {name!r} (named by the SKU map) is not in QuickBooks",
                               "missing_item")
                elif own and not self.create_own_items:
                    self._fail(conn, job, f"item {name!r} (for {own} lines) is not in QuickBooks "
                               f"(create_own_items: false): create it, or name an existing one in {own}_item",
                               "missing_item")
                elif own or self.missing_items == "create_non_inventory":
                    job.stage = "add"
                    self.queue.save(conn, job)
                else:
                    self._fail(
                        conn, job, f"item {name!r} is not in QuickBooks (missing_items: fail)", "missing_item"
                    )
            else:
                self._retry_or_fail(conn, job, reply, "ItemQuery")
        else:
            reply = parts["add"]
            request_name = "ItemOtherChargeAdd" if own else "ItemNonInventoryAdd"
            if reply.status == 0:
                if own:
                    log.info("created QuickBooks item %r (Other Charge) for Connex's %s lines", name, own)
                job.context["full_name"] = name
                self._done(conn, job, "posted", _text(reply.rets()[0], "ListID") if reply.rets() else None)
            elif reply.status == NAME_IN_USE:
                job.context["full_name"] = name
                self._done(conn, job, "exists", name)
            else:
                self._retry_or_fail(conn, job, reply, request_name)

    def _apply_check(self, conn, job: Job, dup: Reply) -> None:
        """Duplicate check answered: done as ``exists`` when QuickBooks has the document, else wait for the
        customer/vendor and items (``deps``)."""
        document = codec.loads(job.payload)
        txn, limit = qbxml.TXN_TYPES[document.kind]
        if dup.status not in (0, NO_MATCH):
            self._retry_or_fail(conn, job, dup, f"{txn}Query")
            return
        found = self._matching_txn(dup, document.doc_number, limit)
        if found is not None:
            log.info("%s is already in QuickBooks as %s", self._label(job), _text(found, "TxnID"))
            self._document_in(conn, job, _text(found, "TxnID"), "exists")
            return
        job.stage = "deps"
        self.queue.save(conn, job)

    def _apply_link(self, conn, job: Job, po_reply: Reply) -> None:
        """The purchase order a bill settles, with its lines: remember them so each bill line links to one."""
        document = codec.loads(job.payload)
        if po_reply.status not in (0, NO_MATCH):
            self._retry_or_fail(conn, job, po_reply, "PurchaseOrderQuery")
            return
        po = self._matching_txn(po_reply, document.linked_po_number, limits.REF_NUMBER)
        if po is None:
            message = f"purchase order {document.linked_po_number} is not in QuickBooks"
            self._fail(conn, job, f"{self._label(job, 'linked_po_number')}: {message}", "missing_po")
            return
        txn_id = _text(po, "TxnID")
        job.context["po_links"] = [
            [txn_id, _text(line, "TxnLineID"), _text(line, "ItemRef/FullName") or ""]
            for line in po.findall("PurchaseOrderLineRet")
            if _text(line, "TxnLineID")
        ]
        job.stage = "add"
        self.queue.save(conn, job)

    def _apply_invoice(self, conn, job: Job, reply: Reply) -> None:
        """The invoice a payment applies to: its TxnID and open balance. One with nothing left to pay was paid in
        QuickBooks already, and a second payment would book the money twice: the payment fails, saying so."""
        if reply.status not in (0, NO_MATCH):
            self._retry_or_fail(conn, job, reply, "InvoiceQuery")
            return
        number = job.context["invoice_number"]
        invoice = self._matching_txn(reply, number, limits.REF_NUMBER)
        if invoice is None:
            self._fail(conn, job, f"{self._label(job, 'invoice_number')}: invoice {number} is not in QuickBooks",
                       "missing_invoice")
            return
        try:
            balance = Decimal(_text(invoice, "BalanceRemaining") or "0")
        except ArithmeticError:
            balance = Decimal(0)
        if balance <= 0:
            self._fail(conn, job, f"{self._label(job, 'invoice_number')}: invoice {number} has no open balance in "
                       "QuickBooks (paid there already); no second payment is recorded", "already_paid")
            return
        job.context["invoice"] = [_text(invoice, "TxnID"), str(balance)]
        job.stage = "add"
        self.queue.save(conn, job)

    @staticmethod
    def _matching_txn(reply: Reply, number: str, limit: int) -> etree._Element | None:
        """Connex's duplicate rule: RefNumber equals the first ``limit`` characters and, when the number had
        to be cut to fit, the Memo carries the full number (two orders can share their first 11
        characters)."""
        ref = limits.ref_number(number, limit)
        full = " ".join(limits.to_latin1(number).split())
        memo_needed = limits.is_truncated(number, limit)
        for ret, memo in reply.txns_by_ref().get(ref, []):
            if not memo_needed or (full in memo and qbxml.memo_mentions(memo, full)):
                return ret
        return None

    def _apply_catalogue(self, conn, job: Job, reply: Reply) -> None:
        """A page of the item list: items with a part number are staged; the last page publishes them."""
        if reply.status not in (0, NO_MATCH):
            self._retry_or_fail(conn, job, reply, "ItemQuery")
            return
        rows = []
        for ret in reply.rets():
            name, part = _text(ret, "FullName") or _text(ret, "Name"), _text(ret, "ManufacturerPartNumber")
            if name and part:
                rows.append((name, part.strip().casefold(), _text(ret, "ListID")))
        self.queue.stage_catalogue(conn, rows)
        self._next_page_or_publish(conn, job, reply, self.queue.publish_catalogue)

    def _apply_inventory(self, conn, job: Job, reply: Reply) -> None:
        if reply.status not in (0, NO_MATCH):
            self._retry_or_fail(conn, job, reply, "ItemInventoryQuery")
            return
        rows = []
        for ret in reply.rets():
            name = _text(ret, "FullName") or _text(ret, "Name")
            if name:
                rows.append((name, _text(ret, "ListID"), _text(ret, "QuantityOnHand") or "0"))
        self.queue.stage_inventory(conn, rows)
        self._next_page_or_publish(conn, job, reply, self.queue.publish_inventory)

    def _next_page_or_publish(self, conn, job: Job, reply: Reply, publish) -> None:
        """An iterator query's page is staged: ask for the next one while QuickBooks says some remain, else
        publish the whole list at once (readers never see half a list)."""
        try:
            remaining = int(reply.element.get("iteratorRemainingCount", "0"))
        except ValueError:
            remaining = 0
        if remaining > 0 and reply.element.get("iteratorID"):
            job.context["iterator_id"] = reply.element.get("iteratorID")
            self.queue.save(conn, job)
            return
        publish(conn)
        job.context.pop("iterator_id", None)
        self._done(conn, job, "posted", None)

    # --- outcomes ----------------------------------------------------------------------------------------
    def _retry_or_fail(
        self, conn, job: Job, reply: Reply, request_name: str, back_to: str | None = None
    ) -> None:
        if reply.status in RETRYABLE and job.attempts + 1 < MAX_ATTEMPTS:
            job.attempts += 1
            if back_to:
                job.stage = back_to
            self.queue.save(conn, job)
            return
        self._fail(conn, job, f"{self._label(job)}: {reply.describe(request_name)}", str(reply.status))

    def _done(self, conn, job: Job, outcome: str, target_id: str | None) -> None:
        job.status, job.outcome, job.target_id, job.error, job.code = "done", outcome, target_id, None, None
        self.queue.save(conn, job)

    def _fail(self, conn, job: Job, error: str, code: str | None) -> None:
        job.status, job.outcome, job.error, job.code = "failed", "failed", error, code
        log.warning("QuickBooks Desktop: %s", error)
        self.queue.save(conn, job)

    @staticmethod
    def _where(job: Job, field: str | None = None) -> DocumentRef:
        source_id = job.key.split(":", 1)[1] if ":" in job.key else job.key
        return DocumentRef(job.doc_kind or job.kind, source_id, field, job.doc_number)

    def _label(self, job: Job, field: str | None = None) -> str:
        if job.kind == "document":
            return str(self._where(job, field))
        return f"{job.kind} {job.key.split(':', 1)[-1]}"

    def settle(self) -> None:
        """Resolve what needs no request: documents whose dependencies have all finished move on (or fail
        with the dependency's error). Run before reporting progress, so the Web Connector hears 100 exactly
        when nothing is left to send, instead of asking once more and getting nothing."""
        with self.queue.transaction() as conn:
            for job in self.queue.pending_in(conn, kind="document", stage="deps", claim=True):
                try:
                    if self._deps_ready(conn, job):
                        job.stage = _after_deps(job)
                        self.queue.save(conn, job)
                except DocumentError as exc:
                    self._fail(conn, job, str(exc), exc.code)

    # --- progress ----------------------------------------------------------------------------------------
    def remaining(self) -> int:
        return self.queue.remaining()
