"""Summary postings (``sync.posting: summary``): orders (and refunds) read as in the per-order flow, then linked
to the summary of their store + currency + period instead of being posted; a summary is posted once its period
has ended and the grace has passed.

When a summary is closed. A period's summary stays *open* (it takes every order of its period that is read)
until the first complete pass after the period's end plus ``sync.summary.close_after_hours`` (2 by default), in
the configured time zone. Only a pass that read the source to its end closes summaries (not ``--order``,
``--from/--to`` or ``--retry-failed`` runs, nor a run stopped early), so a bookkeeper gets one summary per store,
currency and day, never a partial one. Closing freezes its members; it is then posted like any document.

Late orders. An order read after its own period's summary was closed goes into the first later period of its store
and currency whose summary is still open (or not yet made): never into a closed summary, never twice (an order's
link is unique), never lost (the link is written before the page's cursor moves, and a failed summary keeps its
members for ``--retry-failed``). The summary's memo counts its late members.

Crash safety, step by step (each step is one SQLite transaction; ``tests/sync/test_crash_safety_summary.py``):

1. link a page's orders to their summaries (``summary_members``), then mirror them in the ledger (status
   ``summarised``), then save the page's cursor: a crash re-reads the page and the links turn it into no-ops;
2. close the due summaries (status ``closed``): from here no order joins them;
3. for each closed summary without a ledger row: build its document from its members (always the same document:
   members are frozen), record the intent (``in_flight`` with the document), post, record the outcome. A crash
   after the intent is resolved at the next run's start exactly as for one order (``find_posted`` by the
   summary's key and number, else posted again); a crash before it leaves a closed summary with no ledger row,
   which step 3 of the next run posts.
"""

from __future__ import annotations

import datetime as dt
import logging

from connex.documents import Document, from_record, to_record
from connex.state import history
from connex.state.store import LedgerEntry
from connex.state.summaries import CLOSED, OPEN, NewMember, Summary, SummaryGroup, SummaryStore
from connex.sync import classify
from connex.sync.checks import CheckFailure, check_document
from connex.sync.document_flow import DocumentFlow
from connex.sync.summarise import Period, SummarySettings, build_summary, period_of
from connex.sync.summary_corrections import SummaryCorrections
from connex.sync.summary_journal import JOURNAL, as_journal, summary_kind
from connex.sync.summary_payments import SETTLED, is_summary_payment, summary_payment

log = logging.getLogger(__name__)

SUMMARISED = "summarised"  # an order's ledger status once it is linked to a summary


def summarises(flow: str, sync) -> bool:
    """Whether ``flow`` posts summaries under these sync settings."""
    if getattr(sync, "posting", "per_order") != "summary":
        return False
    return flow == "orders" or (flow == "refunds" and SummarySettings.from_sync(sync).refunds)


def numbering(settings: SummarySettings):
    def name(flow: str, kind: str, summary_id: int) -> tuple[str, str]:
        prefix = settings.refund_number_prefix if flow == "refunds" else settings.number_prefix
        return f"{kind}:summary-{summary_id}", f"{prefix}{summary_id}"

    return name


def moment_of(flow: str, record: dict, doc: Document) -> dt.datetime | dt.date | None:
    """When the order (refund) happened, as the mapping dates it: processed, else received (actioned)."""
    candidates = []
    if isinstance(record, dict):
        if flow == "refunds":
            candidates = [record.get("ActionDate")]
        else:
            candidates = [record.get("ProcessedDateTime"), (record.get("GeneralInfo") or {}).get("ReceivedDate")]
    for value in candidates:
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return doc.txn_date


class SummaryFlow(SummaryCorrections, DocumentFlow):
    #: the current instant (UTC); tests replace it to run a period's close without waiting for the day to end
    clock = staticmethod(lambda: dt.datetime.now(dt.UTC))

    def __init__(self, flow: str, **kwargs):
        super().__init__(flow, **kwargs)
        self.summary = SummarySettings.from_sync(self.settings)
        self.tz = self.summary.zone
        self.summaries = SummaryStore(self.state, numbering(self.summary))
        self._retry: set[int] = set()  # failed summaries a changed member makes worth posting again

    # --- the flow ------------------------------------------------------------------------------------------
    def run(self) -> None:
        super().run()  # resolves summaries left in flight, then reads and links every page
        if self.options.dry_run:
            self._plan_closing()
            return
        if self._complete_pass():
            due = self.summaries.due(self.flow, self.clock().isoformat(timespec="seconds"))
            if due:
                self.summaries.close(s.id for s in due)
                self.report.counts["summaries_closed"] += len(due)
        self.post_summaries()
        self.correct_summaries()  # posted summaries a changed, cancelled or deleted order marked

    def _complete_pass(self) -> bool:
        o = self.options
        return not (o.order_ids or o.window or o.retry_failed or o.stopping() or self.report.incomplete)

    # --- linking orders to summaries -----------------------------------------------------------------------
    def post(self, documents: list[tuple[Document, dict]]) -> None:
        keys = [doc.key for doc, _ in documents]
        members = self.summaries.members_of(keys)
        rows = self.state.lookup(keys)
        new: list[NewMember] = []
        ledger: list[LedgerEntry] = []
        changed: list[LedgerEntry] = []
        placed: dict[tuple, Summary | None] = {}
        linking: set[str] = set()
        for doc, record in documents:
            digest = classify.content_hash(doc)
            member, row = members.get(doc.key), rows.get(doc.key)
            if member is not None:
                self._known(doc, digest, member, row, ledger, changed)
            elif row is not None and row.status in ("posted", "exists", "changed"):
                # posted on its own (before sync.posting was summary): never into a summary as well
                verdict = classify.decide(row, digest, retry_failed=False, forced=False)
                if verdict == classify.CHANGED:
                    self._changed(doc, row, digest, changed)
                else:
                    self.report.counts["unchanged"] += 1
            elif row is not None and row.status in ("queued", "in_flight"):
                self.report.counts["waiting"] += 1
            elif doc.key in linking:
                continue  # the same order twice in one page
            else:
                linking.add(doc.key)
                new.append(self._new_member(doc, record, digest, placed))
                ledger.append(self._mirror(doc, digest))
        self.summaries.add(new)
        self.state.record(ledger + changed, self.report.run_id)
        self.report.counts[SUMMARISED] += len(new)

    def _mirror(self, doc: Document, digest: str, note: str | None = None) -> LedgerEntry:
        return LedgerEntry(doc.key, self.flow, doc.kind, doc.source_id, doc.doc_number, digest, SUMMARISED,
                           error=note)

    def _known(self, doc, digest, member, row, ledger, changed) -> None:
        """An order already linked: unchanged, or changed while its summary can still take the change."""
        if member.content_hash == digest:
            self.report.counts["unchanged"] += 1
            if row is None or row.status != SUMMARISED:  # the ledger mirror was lost to a crash: write it again
                ledger.append(self._mirror(doc, digest))
            return
        summary = self.summaries.get(member.summary_id)
        never_posted, summary_row = False, None
        if summary.status == CLOSED:
            summary_row = self.state.lookup([summary.doc_key]).get(summary.doc_key)
            never_posted = summary_row is not None and summary_row.status == "failed"
        if summary.status == OPEN or never_posted:
            self.summaries.refresh(doc.key, to_data(doc), digest, also_closed=never_posted)
            self.report.counts["updated"] += 1
            if never_posted:
                self._retry.add(summary.id)
            ledger.append(self._mirror(doc, digest))
            return
        if self.correction and self.correct_member(doc, digest, member, summary, summary_row, ledger):
            return
        self.report.counts["changed"] += 1
        note = (f"source changed after its summary {summary.doc_number} was closed; the summary is not changed "
                f"(sync.on_change: report)")
        self.report.changes.append((f"{doc.kind.replace('_', ' ')} {doc.doc_number}", note))
        log.warning("%s %s: %s", doc.kind, doc.doc_number, note,
                    extra={"run_id": self.report.run_id, "flow": self.flow, "document": doc.key, "status": "changed"})
        changed.append(LedgerEntry(doc.key, self.flow, doc.kind, doc.source_id, doc.doc_number, None, SUMMARISED,
                                   error=note))

    def _new_member(self, doc: Document, record: dict, digest: str, placed: dict) -> NewMember:
        moment = moment_of(self.flow, record, doc)
        if moment is None:
            moment = self.clock()
        store = getattr(doc, "store_name", None) or ""
        period = period_of(moment, self.summary.period, self.tz)
        while True:  # the first period from the order's own whose summary still takes orders
            group = SummaryGroup(self.flow, summary_kind(doc, self.summary), store, doc.currency, period.label)
            if group not in placed:
                placed[group] = self.summaries.find(group)
            summary = placed[group]
            if summary is None or summary.status == OPEN:
                break
            period = period.following()
        closes = period.end(self.tz) + dt.timedelta(hours=float(self.summary.close_after_hours))
        stamp = moment.isoformat() if isinstance(moment, dt.datetime) else moment.isoformat()
        return NewMember(doc.key, group, closes.isoformat(timespec="seconds"), doc.source_id, doc.doc_number,
                         stamp, digest, to_data(doc))

    def _with_payments(self, documents):
        """No payment per order: a paid order's invoice is a summary's member, and the summary invoice gets one
        payment for all of them (``summary_payments``) when it is posted."""
        return documents, []

    # --- posting closed summaries --------------------------------------------------------------------------
    def post_summaries(self) -> None:
        pending = {s.id: s for s in self.summaries.unposted(self.flow, failed=self.options.retry_failed)}
        for summary_id in self._retry - set(pending):
            pending[summary_id] = self.summaries.get(summary_id)
        documents, digests, paying = [], {}, []
        for summary in pending.values():
            doc = self.summary_document(summary)
            if doc is None:
                continue
            documents.append(doc)
            digests[doc.key] = classify.content_hash(doc)
            paying.append(summary)
        if self.options.retry_failed:  # payments that failed after their summary invoice was posted
            for row in self.state.rows(self.flow, "failed"):
                found = self.summaries.by_doc_key(f"invoice:{row.source_id}") if is_summary_payment(row) else None
                if found is not None and found.id not in pending:
                    paying.append(found)
        payments = self._summary_payments(paying)
        if not documents and not payments:
            return
        digests.update({p.key: classify.content_hash(p) for p in payments})
        ready = self.parties.resolve(documents, lambda doc, reason: self._failed(doc, reason, {}, digests))
        size = self.target.post_batch_size or len(ready) or 1
        for start in range(0, len(ready), size):
            self._post_batch(ready[start:start + size], {}, digests)
        self.report.counts["summaries_posted"] += len(ready)
        for start in range(0, len(payments), size):  # after their invoices: the target applies them
            self._post_batch(payments[start:start + size], {}, digests)

    def _summary_payments(self, summaries: list[Summary]) -> list:
        """The payments of these summaries that are paid invoices, unless the ledger has them settled already."""
        out = []
        for summary in summaries:
            if summary.kind != "invoice":
                continue
            members = [from_record(m.document) for m in self.summaries.members(summary.id)]
            doc = self.summary_document(summary, check=False)
            payment = summary_payment(doc, members) if doc is not None else None
            if payment is None:
                continue
            row = self.state.lookup([payment.key]).get(payment.key)
            if row is None or row.status not in SETTLED:
                out.append(payment)
        return out

    def summary_document(self, summary: Summary, *, check: bool = True, on_failure=None) -> Document | None:
        """``on_failure(doc, reason)``: what a document failing its checks does (default: recorded failed);
        ``check=False`` records nothing (a look at the document, as for its payment)."""
        members = self.summaries.members(summary.id)
        if not members:
            return None
        period = Period.parse(summary.period)
        documents = [from_record(m.document) for m in members]
        late = sum(1 for m in members if _moment_period(m.moment, period.kind, self.tz) < period)
        doc = build_summary(documents, source_id=summary.doc_key.split(":", 1)[1], doc_number=summary.doc_number,
                            period=period, store=summary.store, settings=self.summary, late=late,
                            fallback_customer=self.settings.single_customer_name)
        try:
            check_document(doc)
        except CheckFailure as exc:
            self._refused(doc, f"field {exc.field}: {exc.message}", check, on_failure)
            return None
        if summary.kind == JOURNAL:
            doc.kind = JOURNAL  # its ledger key is the summary's (journal_entry:summary-N)
            try:
                doc = as_journal(doc, self.summary)
            except ValueError as exc:
                self._refused(doc, f"journal entry: {exc}", check, on_failure)
                return None
        return doc

    def _refused(self, doc: Document, reason: str, check: bool, on_failure) -> None:
        if on_failure is not None:
            on_failure(doc, reason)
        elif check:
            self._failed(doc, reason, {}, {})

    # --- dry run -------------------------------------------------------------------------------------------
    def _plan(self, documents: list[tuple[Document, dict]]) -> None:
        members = self.summaries.members_of(doc.key for doc, _ in documents)
        for doc, record in documents:
            if doc.key in members:
                self.report.counts["unchanged"] += 1
                continue
            moment = moment_of(self.flow, record, doc) or self.clock()
            period = period_of(moment, self.summary.period, self.tz)
            store = getattr(doc, "store_name", None) or ""
            self.report.planned.append(f"{doc.kind.replace('_', ' ')} {doc.doc_number} into the summary of "
                                       f"{store or 'no store'} {doc.currency} for {period.describe()}")
            self.report.counts["would_summarise"] += 1

    def _plan_closing(self) -> None:
        for summary in self.summaries.due(self.flow, self.clock().isoformat(timespec="seconds")):
            count = len(self.summaries.members(summary.id))
            self.report.planned.append(f"summary {summary.doc_number} ({summary.store or 'no store'} "
                                       f"{summary.currency}, {Period.parse(summary.period).describe()}): "
                                       f"close and post with {count} document{'' if count == 1 else 's'}")
            self.report.counts["would_post"] += 1


def _moment_period(moment: str, kind: str, tz) -> Period:
    value = dt.datetime.fromisoformat(moment) if "T" in moment else dt.date.fromisoformat(moment)
    return period_of(value, kind, tz)


def to_data(doc: Document) -> dict:
    return to_record(doc)


def where_summarised(state, member_key: str) -> dict | None:
    """Which summary holds ``member_key`` and where that summary stands (``connex explain``)."""
    summaries = SummaryStore(state, numbering(SummarySettings()))
    member = summaries.members_of([member_key]).get(member_key)
    if member is None:
        return None
    summary = summaries.get(member.summary_id)
    row = state.lookup([summary.doc_key]).get(summary.doc_key)
    return {"summary": summary.doc_number, "key": summary.doc_key, "store": summary.store,
            "currency": summary.currency, "period": Period.parse(summary.period).describe(),
            "summary_status": summary.status, "posting": row.status if row else None,
            "target_id": row.target_id if row else None, "error": row.error if row else None,
            "closes_at": summary.closes_at, "members": len(summaries.members(summary.id)),
            "number": row.number if row else None, "events": history.events(state, summary.doc_key)}
