"""Orders, purchases and refunds: read a page, map it, group by customer/vendor, post, record, checkpoint.

Exactly once, crash or not:

1. Before anything new is read, documents a previous run left *in flight* (intent recorded, outcome unknown) are
   looked up in the target (``find_posted``: idempotency key, document number, memo); found ones are recorded as
   posted, the others are posted again. Targets are idempotent by ``Document.key`` as a second line of defence.
2. Intent (status ``in_flight`` with the document itself) is committed before a post; the outcome after it.
3. A page's cursor is committed only after every document of the page is recorded, and an empty cursor never
   replaces a stored one: a crash re-reads what was not recorded, and the ledger turns the rest into no-ops.
   Documents of consecutive pages share the target's batches (``BatchPacker``); a page's cursor then waits
   until the last of its documents is posted and recorded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import logging
from collections.abc import Iterator

from connex.connectors import OrderQuery, Page, SourceConnector, TargetConnector, WindowQuery
from connex.documents import Document, PostResult, from_record, to_record
from connex.errors import ConfigError, ConnexError, DocumentError, DocumentRef, TransientError
from connex.rules.engine import FLOW_KIND, MapResult, RulesEngine
from connex.state import history
from connex.state.store import LedgerEntry, StateStore
from connex.sync import classify, corrections, credits, payments
from connex.sync.checks import CheckFailure, check_document, check_record, clean_text
from connex.sync.packing import BatchPacker
from connex.sync.parties import PartyResolver, party_of
from connex.sync.report import FlowReport, RunOptions

log = logging.getLogger(__name__)

FLOW_PREFIX = {"orders": "order", "purchases": "purchase", "refunds": "refund"}


#: errors that stop the run rather than fail a document: the remote is down (retry later), or a credential or
#: setting was refused (a person must fix it); no document is marked failed for them and the cursor stays put
RUN_LEVEL = (TransientError, ConfigError)


def reason(error) -> str:
    """A document error's message with its field, without repeating the document (the report names it)."""
    field = getattr(error.where, "field", None)
    return clean_text(f"field {field}: {error.message}" if field else error.message)


def unexpected(exc: BaseException) -> str:
    """A reason for an error no code path expected (a bug, or a value nothing was written for), in one line."""
    if isinstance(exc, decimal.DecimalException):
        return f"a calculation gave no usable number ({type(exc).__name__})"
    text = clean_text(str(exc))[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def record_id(record) -> str:
    for key in ("OrderId", "pkOrderID", "pkPurchaseID", "RefundHeaderId", "sku"):
        if isinstance(record, dict) and record.get(key):
            return clean_text(str(record[key]))[:100]
    return "?"


def map_safely(rules: RulesEngine, flow: str, record: dict) -> MapResult:
    """Map, rule and build one record, then check its documents: whatever goes wrong fails this record alone (a
    template dividing by zero, a rule recursing, a field of the wrong type, an amount out of range)."""
    try:
        check_record(record)
    except CheckFailure as exc:
        number = record.get("NumOrderId") if isinstance(record, dict) else None
        result = MapResult(flow, record_id(record), clean_text(str(number))[:50] if number is not None else None)
        result.error = DocumentError(exc.message, where=DocumentRef(FLOW_KIND[flow], result.source_id, exc.field,
                                                                    result.number))
        return result
    try:
        result = rules.map(flow, record)
    except Exception as exc:  # the rules are user code at one remove: nothing they raise ends the run
        log.debug("mapping %s raised", record_id(record), exc_info=True)
        result = MapResult(flow, record_id(record), None)
        result.error = DocumentError(f"mapping failed: {unexpected(exc)}",
                                     where=DocumentRef(FLOW_KIND[flow], result.source_id))
        return result
    if result.error is None and result.skipped is None:
        try:
            for document in result.documents:
                check_document(document)
        except CheckFailure as exc:
            result.error = DocumentError(exc.message,
                                         where=DocumentRef(FLOW_KIND[flow], result.source_id, exc.field, result.number))
            result.documents = []
    return result


def label(document: Document) -> str:
    return f"{document.kind.replace('_', ' ')} {document.doc_number}"


class DocumentFlow:
    def __init__(self, flow: str, *, source: SourceConnector, target: TargetConnector, rules: RulesEngine,
                 state: StateStore, settings, report: FlowReport, options: RunOptions, progress=None):
        self.flow = flow
        self.source = source
        self.target = target
        self.rules = rules
        self.state = state
        self.settings = settings
        self.report = report
        self.options = options
        self.progress = progress
        self.parties = PartyResolver(target)
        self.packer = BatchPacker(target.post_batch_size, self._post_batch,
                                  lambda cursor: self.state.save_cursor(self.flow, cursor))
        self._seen: set[str] = set()  # source ids read in this run (the payment look-back skips them)
        self._not_invoiced: set[str] = set()  # source ids mapped to a document other than an invoice
        #: update or void_and_repost when posted documents are corrected; None: changes are only reported
        self.correction = options.repost or (settings.on_change if settings.on_change != corrections.REPORT
                                             else None)
        if self.correction and not target.supports_corrections:
            raise ConfigError(f"sync.on_change: {self.correction} needs a target that can update and void posted "
                              f"documents; the {target.name} target cannot (use sync.on_change: report)")
        #: keep each posted document in the ledger, so a later correction can say what changed
        self.keep_posted = self.correction is not None
        self._repay: set[str] = set()  # orders whose payment a correction voided: posted again after the invoice

    # --- reading -------------------------------------------------------------------------------------------
    def _from_date(self) -> dt.datetime | None:
        day = self.settings.from_date
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else None

    def pages(self, cursor, window: tuple | None = None) -> Iterator[Page]:
        start, end = window or (self._from_date(), None)
        if self.flow == "orders":
            query = OrderQuery(mode=self.settings.order_mode, statuses=self.settings.statuses,
                               from_date=start, to_date=end, cursor=cursor, order_ids=self.options.order_ids)
            return self.source.read_orders(query)
        query = WindowQuery(from_date=start, to_date=end, cursor=cursor)
        if self.flow == "purchases":
            return self.source.read_purchase_orders(query)
        return self.source.read_refunds(query)

    def retry_pages(self) -> Iterator[Page]:
        """Failed documents again: orders are read afresh by id (the user may have fixed them in Linnworks);
        purchase orders and refunds from the source record stored when they failed."""
        failed = self.state.rows(self.flow, "failed")
        if not failed:
            return
        if self.flow == "orders":
            ids = tuple(dict.fromkeys(row.source_id for row in failed))
            for start in range(0, len(ids), 100):
                query = OrderQuery(mode=self.settings.order_mode, order_ids=ids[start:start + 100])
                yield from self.source.read_orders(query)
        else:
            records = {row.source_id: row.record for row in failed if row.record is not None}
            yield Page(list(records.values()), None)

    # --- the flow ------------------------------------------------------------------------------------------
    def run(self) -> None:
        if not self.options.dry_run:
            self.resolve_in_flight()
            self.resolve_corrections()
        if self.options.retry_failed:
            pages, checkpointing = self.retry_pages(), False
        elif self.options.order_ids and self.correction:
            pages, checkpointing = self._named_pages(), False
        elif self.options.order_ids:
            pages, checkpointing = self.pages(None), False
        elif self.options.window:  # a re-read: the ledger skips what is posted; the cursor never moves back
            pages, checkpointing = self.pages(None, self.options.window), False
        else:
            pages, checkpointing = self.pages(self.state.get_cursor(self.flow)), not self.options.dry_run
        for page in pages:
            self.process(page.records)
            if checkpointing and page.checkpoint:
                self.packer.checkpoint(page.checkpoint)
            if self.progress:
                self.progress.update(self.flow, self.report.counts)
            if self.options.stopping():
                self.report.incomplete = "stop requested; resumes from the last checkpoint"
                break
        else:
            if checkpointing and self.flow == "orders":
                self.process_awaiting_payments()
            if self.correction and self.flow == "orders" and self.options.order_ids and not self.options.dry_run:
                gone = [i for i in self.options.order_ids if i not in self._seen]
                if gone:  # named, but Linnworks no longer has them: deleted after they were posted
                    self._void_posted({i: "the order was deleted in the source" for i in gone})
        self.packer.flush()

    def _named_pages(self) -> Iterator[Page]:
        """``--order`` with corrections on: each order read alone, so one the source no longer has (deleted)
        is told apart from the others; its posted documents are voided."""
        for order_id in self.options.order_ids:
            query = OrderQuery(mode=self.settings.order_mode, order_ids=(order_id,))
            try:
                yield from self.source.read_orders(query)
            except DocumentError as exc:
                if exc.code != "not_found":
                    raise
                log.warning("order %s: %s", order_id, exc.message)

    def process_awaiting_payments(self) -> None:
        """Orders whose invoice is posted and whose payment is not: read again by id (only those, a hundred per
        request), so an order Linnworks marked paid since gets its payment in this pass."""
        ids = [row.source_id for row in self.state.rows(self.flow, payments.AWAITING)
               if row.source_id not in self._seen]
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), payments.READ_CHUNK):
            query = OrderQuery(mode=self.settings.order_mode, order_ids=tuple(ids[start:start + payments.READ_CHUNK]))
            for page in self.source.read_orders(query):
                self.process(page.records, payments_only=True)
            if self.options.stopping():
                return
        # an order whose document is no longer an invoice (a rule or sync.document changed) awaits nothing
        stale = [r for r in self.state.lookup(payments.payment_key(i) for i in ids if i in self._not_invoiced).values()
                 if r.status == payments.AWAITING]
        if stale:
            self.state.record([LedgerEntry(r.key, r.flow, r.kind, r.source_id, r.number, None, "superseded",
                                           error="the order is no longer posted as an invoice") for r in stale],
                              self.report.run_id)

    def process(self, records: list[dict], *, payments_only: bool = False) -> None:
        """``payments_only``: a re-read for payments: only invoices and their payments go on (an order a changed
        rule now maps to another kind of document is not posted again from here)."""
        results = [map_safely(self.rules, self.flow, record) for record in records]
        self.report.counts["read"] += len(records)
        documents: list[tuple[Document, dict]] = []
        unmapped: list[LedgerEntry] = []
        mapped_ok: list[str] = []
        for record, result in zip(records, results):
            key = f"{FLOW_PREFIX[self.flow]}:{result.source_id}"
            if result.error is not None:
                self.report.fail(f"{FLOW_KIND[self.flow]} {result.number or result.source_id}", reason(result.error),
                                 key)
                unmapped.append(self._entry(key, result, "failed", error=clean_text(str(result.error)),
                                            record=record))
            elif result.skipped is not None:
                self.report.counts["skipped"] += 1
                unmapped.append(self._entry(key, result, "skipped", error=result.skipped))
            else:
                mapped_ok.append(key)
                documents.extend((doc, record) for doc in result.documents)
            self._seen.add(result.source_id)
        documents, awaiting = self._with_payments(documents)
        if payments_only:
            documents = [(doc, record) for doc, record in documents if doc.kind in ("invoice", "payment")]
        if self.options.dry_run:
            self._plan(documents)
            return
        if self.correction:
            unmapped = self._void_skipped(unmapped)
        self.state.record(unmapped, self.report.run_id)
        if awaiting:
            known = self.state.lookup(entry.key for entry in awaiting)
            self.state.record([e for e in awaiting if e.key not in known], self.report.run_id)
        # a record that failed to map before and maps now: its failure is history
        stale = [row for row in self.state.lookup(mapped_ok).values() if row.status in ("failed", "skipped")]
        if stale:
            self.state.record([LedgerEntry(r.key, r.flow, r.kind, r.source_id, r.number, None, "superseded")
                               for r in stale], self.report.run_id)
        self.post(documents)

    def _with_payments(self, documents: list[tuple[Document, dict]]):
        """Each paid order's invoice followed by its payment (posted after it: the target links the two); the
        awaiting rows of unpaid orders' invoices."""
        out, awaiting = [], []
        settles = self.target.applies_credit_memos
        for doc, record in documents:
            out.append((doc, record))
            application = credits.application_for(doc) if settles else None
            if application is not None:  # a credit memo, then its settlement (the target posts it after)
                out.append((application, record))
            if doc.kind != "invoice":
                self._not_invoiced.add(doc.source_id)
                continue
            payment = payments.payment_for(doc)
            if payment is not None:
                out.append((payment, record))
            else:
                awaiting.append(payments.awaiting_entry(doc))
        return out, awaiting

    def _entry(self, key: str, result: MapResult, status: str, **extra) -> LedgerEntry:
        return LedgerEntry(key, self.flow, FLOW_KIND[self.flow], result.source_id, result.number, status=status,
                           **extra)

    def _classify(self, documents: list[tuple[Document, dict]]):
        """Each document with its source record, ledger row, content hash and what the ledger says to do."""
        existing = self.state.lookup(doc.key for doc, _ in documents)
        for doc, record in documents:
            row, digest = existing.get(doc.key), classify.content_hash(doc)
            verdict = classify.decide(row, digest, retry_failed=self.options.retry_failed,
                                      forced=bool(self.options.order_ids))
            yield doc, record, row, digest, verdict

    def _plan(self, documents: list[tuple[Document, dict]]) -> None:
        for doc, _, _, _, verdict in self._classify(documents):
            if verdict == classify.POST:
                party = party_of(doc)
                who = f" for {party.display_name}" if party else ""
                self.report.planned.append(f"{label(doc)}{who}: {doc.total} {doc.currency}, {len(doc.lines)} lines")
                self.report.counts["would_post"] += 1
            else:
                self.report.counts[verdict] += 1

    def post(self, documents: list[tuple[Document, dict]]) -> None:
        to_post: list[Document] = []
        records: dict[str, dict] = {}
        digests: dict[str, str] = {}
        changed: list[LedgerEntry] = []
        invoices = self._invoice_rows(documents)
        for doc, record, row, digest, verdict in self._classify(documents):
            if doc.kind == "payment":
                if doc.source_id in self._repay:
                    verdict = classify.POST  # its invoice was voided and reposted: the payment follows it
                    invoices = self.state.lookup([f"invoice:{doc.source_id}"])
                doc = self._renumbered(doc, invoices)
            if verdict == classify.POST:
                to_post.append(doc)
                records[doc.key], digests[doc.key] = record, digest
            elif verdict == classify.CHANGED and self.correction:
                self._correct(doc, row, digest, record)
            elif verdict == classify.CHANGED:
                self._changed(doc, row, digest, changed)
            else:
                self.report.counts[verdict] += 1
        self.state.record(changed, self.report.run_id)
        ready = self.parties.resolve(to_post, lambda doc, reason: self._failed(doc, reason, records, digests))
        if ready:
            self.packer.add(ready, records, digests)

    def _changed(self, doc: Document, row, digest: str, out: list[LedgerEntry]) -> None:
        """The source changed after the document was posted: reported (``on_change``), never posted twice."""
        self.report.counts["changed"] += 1
        note = f"source changed after it was posted as {row.target_id}; not posted again (sync.on_change: report)"
        self.report.changes.append((label(doc), note))
        log.warning("%s: %s", label(doc), note,
                    extra={"run_id": self.report.run_id, "flow": self.flow, "document": doc.key, "status": "changed"})
        out.append(LedgerEntry(doc.key, self.flow, doc.kind, doc.source_id, doc.doc_number, digest, "changed",
                               target_id=row.target_id, error=note))

    # --- corrections -------------------------------------------------------------------------------------
    def _invoice_rows(self, documents: list[tuple[Document, dict]]) -> dict:
        keys = [f"invoice:{doc.source_id}" for doc, _ in documents if doc.kind == "payment"]
        return self.state.lookup(keys) if keys else {}

    @staticmethod
    def _renumbered(payment: Document, invoices: dict) -> Document:
        """A payment applies to its invoice under the number QuickBooks holds it by now (a reposted invoice
        carries a suffix)."""
        row = invoices.get(f"invoice:{payment.source_id}")
        if row is not None and row.number and row.number != payment.invoice_number:
            payment = dataclasses.replace(payment, invoice_number=row.number, doc_number=row.number)
        return payment

    def _correct(self, doc: Document, row, digest: str, record: dict | None) -> None:
        """Correct a posted document whose source (or whose rules) changed: intent first, then the target."""
        mode = self.correction
        if doc.kind == "payment":
            mode = corrections.VOID_AND_REPOST  # a payment is never rewritten in place: voided and recorded anew
        events = history.events(self.state, doc.key)
        new = doc if mode == corrections.UPDATE else corrections.suffixed(doc, corrections.reposts_so_far(events) + 1)
        intent = {"mode": mode, "new": to_record(new), "old": row.document, "digest": digest}
        self.state.record([LedgerEntry(doc.key, self.flow, doc.kind, doc.source_id, row.number, row.content_hash,
                                       corrections.CORRECTING, target_id=row.target_id,
                                       error=f"{mode} in progress", document=intent)],
                          self.report.run_id, attempt=True)
        self._finish_correction(row.key, row.target_id, intent, record)

    def _finish_correction(self, key: str, old_target: str | None, intent: dict, record: dict | None) -> None:
        mode, new = intent["mode"], from_record(intent["new"])
        old = from_record(intent["old"]) if intent.get("old") else None
        changes = corrections.differences(old, new)
        try:
            result = self._apply_correction(mode, new, old_target)
        except RUN_LEVEL:
            raise  # left correcting: the next run redoes it
        except Exception as exc:  # noqa: BLE001 - a target that broke on this document fails it alone
            result = None
            error = f"the target could not {mode.replace('_', ' ')} it: {unexpected(exc)}"
        else:
            error = result.error if result.status == "failed" else None
        if result is None or result.status == "failed":
            reason = f"correction ({mode}) failed: {error or 'the target refused it'}"
            self.report.fail(label(new), reason, key)
            # back to "changed": the next pass tries the correction again (a void already done is not redone)
            self.state.record([LedgerEntry(key, self.flow, new.kind, new.source_id, None, None, "changed",
                                           target_id=old_target, error=reason, document=intent.get("old"))],
                              self.report.run_id)
            return
        status = "queued" if result.status == "queued" else "posted"
        self.report.counts["corrected"] += 1
        self.report.changes.append((label(new), f"{mode.replace('_', ' ')}: " + "; ".join(changes)))
        log.info("%s corrected (%s): %s", label(new), mode, "; ".join(changes),
                 extra={"run_id": self.report.run_id, "flow": self.flow, "document": key, "status": "corrected"})
        self.state.record([LedgerEntry(key, self.flow, new.kind, new.source_id, new.doc_number, intent["digest"],
                                       status, target_id=result.target_id or old_target,
                                       document=to_record(new))], self.report.run_id)
        history.correction(self.state, key, mode=mode, who=corrections.who(self._command()), changes=changes,
                           old_target=old_target, new_target=result.target_id, number=new.doc_number)
        if mode == corrections.VOID_AND_REPOST and new.kind == "invoice":
            self._repay.add(new.source_id)

    def _command(self) -> str:
        return "connex sync --repost" if self.options.repost else f"connex sync, on_change {self.correction}"

    def _apply_correction(self, mode: str, new: Document, old_target: str | None):
        if mode == corrections.UPDATE:
            return self.target.update_document(new, old_target)
        if mode == "void":
            result = self.target.void_document(new, old_target)
        else:
            ready = self.parties.resolve([new], lambda doc, reason: None)
            if not ready:
                return PostResult(new.key, "failed", error="its customer could not be found or created")
            result = self.target.repost_document(new, old_target)
        if new.kind == "invoice" and result.status != "failed":
            # its payments were voided with it; a reposted invoice gets its payment again (this pass, or the
            # next one's look at awaiting payments when this run is a resumed correction)
            status, note = ((corrections.VOIDED, f"voided with invoice {old_target}") if mode == "void" else
                            (payments.AWAITING, f"voided with invoice {old_target}; paid again once reposted"))
            self.state.record([LedgerEntry(payments.payment_key(new.source_id), self.flow, "payment",
                                           new.source_id, None, None, status, error=note)], self.report.run_id)
        return result

    def _void_skipped(self, unmapped: list[LedgerEntry]) -> list[LedgerEntry]:
        """Orders the rules now skip (cancelled in Linnworks: the shipped skip-cancelled-orders rule) whose
        documents were posted: voided, so the books no longer count them. Returns the entries still to record."""
        skipped = {e.source_id: e.error for e in unmapped if e.status == "skipped"}
        if skipped:
            self._void_posted(skipped)
        return unmapped

    def _void_posted(self, why: dict[str, str | None]) -> None:
        """Void the posted documents of these source records (source id -> the reason)."""
        skipped = why
        keys = [f"{kind}:{sid}" for sid in skipped for kind in ("sales_receipt", "invoice", "credit_memo",
                                                                   "refund_receipt", "purchase_order", "bill")]
        posted = [r for r in self.state.lookup(keys).values() if r.status in ("posted", "exists", "changed")]
        for row in posted:
            doc = Document(kind=row.kind, source_id=row.source_id, doc_number=row.number or "", txn_date=None,
                           currency="")
            intent = {"mode": "void", "new": to_record(doc), "old": row.document, "digest": row.content_hash}
            self.state.record([LedgerEntry(row.key, self.flow, row.kind, row.source_id, row.number,
                                           row.content_hash, corrections.CORRECTING, target_id=row.target_id,
                                           error="void in progress", document=intent)],
                              self.report.run_id, attempt=True)
            self._finish_void(row.key, row.target_id, intent, skipped[row.source_id])

    def _finish_void(self, key: str, target_id: str | None, intent: dict, why: str | None) -> None:
        doc = from_record(intent["new"])
        try:
            result = self._apply_correction("void", doc, target_id)
        except RUN_LEVEL:
            raise
        except Exception as exc:  # noqa: BLE001
            result = PostResult(key, "failed", error=unexpected(exc))
        if result.status == "failed":
            reason = f"voiding it failed: {result.error}"
            self.report.fail(label(doc), reason, key)
            self.state.record([LedgerEntry(key, self.flow, doc.kind, doc.source_id, doc.doc_number, None, "changed",
                                           target_id=target_id, error=reason, document=intent.get("old"))],
                              self.report.run_id)
            return
        note = f"voided: the order is no longer imported ({why or 'skipped by a rule'})"
        self.report.counts["voided"] += 1
        self.report.changes.append((label(doc), note))
        self.state.record([LedgerEntry(key, self.flow, doc.kind, doc.source_id, doc.doc_number, None,
                                       corrections.VOIDED, target_id=target_id, error=note)], self.report.run_id)
        history.correction(self.state, key, mode="void", who=corrections.who(self._command()),
                           changes=[why or "skipped by a rule"], old_target=target_id, number=doc.doc_number)

    def resolve_corrections(self) -> None:
        """Corrections an interrupted run started: redone (an update or a void is idempotent, a repost is looked
        up before it is posted again)."""
        for row in self.state.rows(self.flow, corrections.CORRECTING):
            intent = row.document or {}
            if not isinstance(intent, dict) or "new" not in intent:
                continue
            if intent.get("mode") == "void":
                self._finish_void(row.key, row.target_id, intent, "resumed after an interrupted run")
            else:
                self._finish_correction(row.key, row.target_id, intent, None)

    def _failed(self, doc: Document, reason: str, records: dict, digests: dict) -> None:
        self.report.fail(label(doc), reason, doc.key)
        self.state.record([LedgerEntry(doc.key, self.flow, doc.kind, doc.source_id, doc.doc_number,
                                       digests.get(doc.key), "failed", error=reason,
                                       record=records.get(doc.key))], self.report.run_id)

    def _post_batch(self, documents: list[Document], records: dict, digests: dict) -> None:
        intents = [LedgerEntry(doc.key, self.flow, doc.kind, doc.source_id, doc.doc_number, digests.get(doc.key),
                               "in_flight", document=to_record(doc)) for doc in documents]
        self.state.record(intents, self.report.run_id, attempt=True)
        try:
            results = self.target.post_documents(documents)
        except RUN_LEVEL:
            raise  # left in flight: the next run resolves them before posting anything again
        except ConnexError as exc:
            for doc in documents:
                self._failed(doc, clean_text(str(exc)), records, digests)
            return
        except Exception as exc:  # noqa: BLE001 - a target that broke on something in this batch
            if len(documents) == 1:
                log.debug("posting %s raised", label(documents[0]), exc_info=True)
                self._failed(documents[0], f"the target could not post it: {unexpected(exc)}", records, digests)
                return
            # posting is idempotent by Document.key: one at a time finds the document that breaks it, and
            # whatever the batch did post before it broke comes back "exists"
            log.warning("posting a batch of %d raised %s; posting them one at a time", len(documents),
                        unexpected(exc))
            for doc in documents:
                self._post_batch([doc], records, digests)
            return
        outcomes = []
        for doc, result in zip(documents, results):
            party = party_of(doc)
            if party is not None and result.status != "failed":
                self.report.customers[f"{party.display_name} ({party.currency})"] += 1
            if result.status in ("posted", "exists"):
                self.report.counts[result.status] += 1
                self.report.documents[doc.kind] += 1 if result.status == "posted" else 0
                log.debug("%s %s as %s", label(doc), result.status, result.target_id,
                          extra={"run_id": self.report.run_id, "flow": self.flow, "document": doc.key,
                                 "status": result.status})
                outcomes.append(LedgerEntry(doc.key, self.flow, doc.kind, doc.source_id, doc.doc_number,
                                            digests.get(doc.key), result.status, target_id=result.target_id,
                                            document=to_record(doc) if self.keep_posted else None))
            elif result.status == "queued":
                self.report.counts["queued"] += 1
                outcomes.append(LedgerEntry(doc.key, self.flow, doc.kind, doc.source_id, doc.doc_number,
                                            digests.get(doc.key), "queued", document=to_record(doc)))
            else:
                reason = result.error or "the target rejected it"
                self.report.fail(label(doc), reason, doc.key)
                outcomes.append(LedgerEntry(doc.key, self.flow, doc.kind, doc.source_id, doc.doc_number,
                                            digests.get(doc.key), "failed", error=reason,
                                            record=records.get(doc.key)))
        self.state.record(outcomes, self.report.run_id)

    # --- recovery ------------------------------------------------------------------------------------------
    def resolve_in_flight(self) -> None:
        rows = self.state.rows(self.flow, "in_flight")
        if not rows:
            return
        log.warning("%s: resolving %d documents left in flight by an interrupted run", self.flow, len(rows))
        repost: list[Document] = []
        digests: dict[str, str] = {}
        resolved = []
        for row in rows:
            try:
                doc = from_record(row.document)
                found = self.target.find_posted(doc)
            except ConnexError:
                raise
            except Exception as exc:  # noqa: BLE001 - one stored document the target cannot look up fails alone
                self.report.fail(f"{row.kind.replace('_', ' ')} {row.number}", f"could not be looked up: "
                                 f"{unexpected(exc)}", row.key)
                resolved.append(LedgerEntry(row.key, row.flow, row.kind, row.source_id, row.number,
                                            row.content_hash, "failed", error=unexpected(exc)))
                continue
            if found is not None and found.status in ("posted", "exists"):
                self.report.counts["resolved"] += 1
                resolved.append(LedgerEntry(row.key, row.flow, row.kind, row.source_id, row.number,
                                            row.content_hash, "posted", target_id=found.target_id,
                                            document=row.document if self.keep_posted else None))
            elif found is not None and found.status == "queued":  # an asynchronous target has it waiting
                resolved.append(LedgerEntry(row.key, row.flow, row.kind, row.source_id, row.number,
                                            row.content_hash, "queued", document=row.document))
            else:
                repost.append(doc)
                digests[doc.key] = row.content_hash
        self.state.record(resolved, self.report.run_id)
        if repost:
            ready = self.parties.resolve(repost, lambda doc, reason: self._failed(doc, reason, {}, digests))
            if ready:
                self._post_batch(ready, {}, digests)
