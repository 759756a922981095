"""Corrections of posted summaries (``sync.posting: summary`` with ``sync.on_change: update | void_and_repost``).

An order changed in Linnworks (or mapped differently by today's rules, ``sync --order X --repost``) after the
summary holding it was posted, or cancelled or deleted since: its summary is rebuilt from its members' current
versions and corrected as one posted order is (``DocumentFlow._correct``): rewritten in place (``update``), or
voided and posted again as ``SUM-3-1`` (``void_and_repost``); a summary left with no member is voided.

Which period the correction lands in. The summary is corrected *in its own period*, dated as it was: each summary
stays equal to its orders to the cent and every order stays in exactly one summary, which is what a bookkeeper
reconciles against Linnworks day by day. Carrying the difference into the next open summary instead would count
one order in two summaries and leave both days wrong against Linnworks. A period the bookkeeper has closed is
guarded where QuickBooks guards it (its closing date): a correction QuickBooks refuses fails with QuickBooks'
reason, is listed in the run report, and is tried again on the next pass; ``sync.on_change: report`` (the default)
never touches a posted summary. docs/accounting.md explains this to the bookkeeper.

Crash safety, in the order the steps are written (each is one transaction):

1. the summary's ledger row is marked ``changed`` (its QuickBooks id and posted version kept);
2. the member is refreshed (or removed, for a cancelled order), and its own ledger row and history say so;
3. after the pass has read its pages, every summary marked ``changed`` is rebuilt from its members and corrected
   through the ledger's ``correcting`` intent (the rebuilt document is in the intent, so an interrupted correction
   is redone from it, never rebuilt differently); a rebuilt summary equal to the posted one is only unmarked.

A crash after 1 and before 2 leaves the member as it was: the order is read again (the page's cursor did not move,
or ``--order`` is run again), 1 is a no-op and 2 happens; the pass in between finds nothing to correct (3 unmarks
the summary), so a ``void_and_repost`` never posts a version that does not differ from the last one.
"""

from __future__ import annotations

import dataclasses
import logging

from connex.documents import Document, PostResult, from_record, to_record
from connex.state import history
from connex.state.store import LedgerEntry
from connex.sync import classify, corrections

log = logging.getLogger(__name__)

SUMMARY_PREFIX = "summary-"
REMOVED = "removed"  # a member's ledger status once its order left the summary (cancelled or deleted)
#: the summary's ledger statuses that mean "in QuickBooks, settled": a correction can start from them
SETTLED = ("posted", "exists", "changed")
MEMBER_KINDS = ("sales_receipt", "invoice", "credit_memo", "refund_receipt")


def is_summary(document: Document) -> bool:
    return str(document.source_id).startswith(SUMMARY_PREFIX)


class SummaryCorrections:
    """Mixed into ``SummaryFlow`` (before ``DocumentFlow``): what a correction does to a posted summary."""

    # --- step 1 and 2: a member changed or left -----------------------------------------------------------
    def correct_member(self, doc: Document, digest: str, member, summary, summary_row, ledger: list) -> bool:
        """A member of a posted summary changed: mark the summary, refresh the member. False when the summary
        cannot be corrected now (still being posted or corrected): the change is then only reported."""
        if summary_row is None or summary_row.status not in SETTLED or not summary_row.target_id:
            return False
        self._mark_changed(summary, summary_row, f"order {doc.doc_number} changed")
        changes = corrections.differences(from_record(member.document) if member.document else None, doc)
        self._member_event(doc.key, summary, changes)
        self.summaries.refresh(doc.key, to_record(doc), digest, also_closed=True)
        ledger.append(self._mirror(doc, digest, f"changed after its summary {summary.doc_number} was posted; "
                                                f"the summary is corrected ({self.correction})"))
        self.report.counts["updated"] += 1
        return True

    def _void_posted(self, why: dict[str, str | None]) -> None:
        """Cancelled or deleted orders: those posted on their own are voided (``DocumentFlow``); those in a
        summary leave it, and a posted summary is corrected without them."""
        super()._void_posted(why)
        keys = [f"{kind}:{sid}" for sid in why for kind in MEMBER_KINDS]
        members = self.summaries.members_of(keys)
        for key, member in members.items():
            summary = self.summaries.get(member.summary_id)
            summary_row = self.state.lookup([summary.doc_key]).get(summary.doc_key)
            reason = why.get(member.source_id) or "skipped by a rule"
            if summary_row is None or summary_row.status == "failed":
                pass  # not in QuickBooks yet: the summary is built without it when it is posted
            elif summary_row.status in SETTLED and summary_row.target_id:
                self._mark_changed(summary, summary_row, f"order {member.number} left it ({reason})")
            else:  # being posted or corrected right now: the next pass that reads the order removes it
                self.report.counts["waiting"] += 1
                continue
            self._member_event(key, summary, [f"removed from summary {summary.doc_number}: {reason}"])
            self.summaries.remove(key)
            kind = key.split(":", 1)[0]
            self.state.record([LedgerEntry(key, self.flow, kind, member.source_id, member.number, None, REMOVED,
                                           error=f"{reason}; removed from summary {summary.doc_number}")],
                              self.report.run_id)
            self.report.counts[REMOVED] += 1
            self.report.changes.append((f"{kind.replace('_', ' ')} {member.number}",
                                        f"removed from summary {summary.doc_number}: {reason}"))

    def _mark_changed(self, summary, row, why: str) -> None:
        if row.status == "changed":
            return
        self.state.record([LedgerEntry(row.key, self.flow, row.kind, row.source_id, row.number, row.content_hash,
                                       "changed", target_id=row.target_id, document=row.document,
                                       error=f"{why}; corrected by this pass ({self.correction})")],
                          self.report.run_id)

    def _member_event(self, key: str, summary, changes: list[str]) -> None:
        """The order's own history: what changed and which summary it changes (``explain ORDER`` shows it). A
        step redone after a crash does not write the same event twice."""
        trail = history.events(self.state, key)
        last = trail[-1] if trail else {}
        if last.get("summary") == summary.doc_number and last.get("changes") == changes:
            return
        history.add(self.state, key, "corrected", mode=self.correction, by=corrections.who(self._command()),
                    changes=changes, summary=summary.doc_number)

    # --- step 3: correcting the marked summaries ----------------------------------------------------------
    def correct_summaries(self) -> None:
        """Every posted summary of this flow marked ``changed``: rebuilt from its members and corrected."""
        if not self.correction or self.options.dry_run:
            return
        for row in self.state.rows(self.flow, "changed"):
            if not row.key.split(":", 1)[-1].startswith(SUMMARY_PREFIX):
                continue
            summary = self.summaries.by_doc_key(row.key)
            if summary is None:
                continue
            if not self.summaries.members(summary.id):
                self._void_summary(row, "every order it held was cancelled or deleted")
                continue
            doc = self.summary_document(summary, on_failure=self._correction_refused)
            if doc is None:
                continue  # stays marked: corrected once its members make a valid document again
            digest = classify.content_hash(doc)  # of the version under its first number, as when first posted
            if digest == row.content_hash:  # marked, but nothing of it differs (a crash between steps 1 and 2)
                self.state.record([LedgerEntry(row.key, self.flow, row.kind, row.source_id, row.number, digest,
                                               "posted", target_id=row.target_id, document=row.document)],
                                  self.report.run_id)
                continue
            number = row.number or _last_number(history.events(self.state, row.key))
            if self.correction == corrections.UPDATE and number:
                doc = dataclasses.replace(doc, doc_number=number)  # rewritten under the number it has now
            # a repost numbers the new version from the first number: SUM-3-1, then SUM-3-2
            self._correct(doc, row, digest, None)

    def _correction_refused(self, doc: Document, reason: str) -> None:
        """The rebuilt summary fails its checks: reported, and the posted one left as it is (still marked)."""
        self.report.fail(f"{doc.kind.replace('_', ' ')} {doc.doc_number}",
                         f"not corrected: the rebuilt summary {reason}", doc.key)

    def _void_summary(self, row, why: str) -> None:
        doc = Document(kind=row.kind, source_id=row.source_id, doc_number=row.number or "", txn_date=None,
                       currency="")
        intent = {"mode": "void", "new": to_record(doc), "old": row.document, "digest": row.content_hash}
        self.state.record([LedgerEntry(row.key, self.flow, row.kind, row.source_id, row.number, row.content_hash,
                                       corrections.CORRECTING, target_id=row.target_id, error="void in progress",
                                       document=intent)], self.report.run_id, attempt=True)
        self._finish_void(row.key, row.target_id, intent, why)

    def _apply_correction(self, mode: str, new: Document, old_target: str | None):
        """A summary invoice has no payment of its own to follow it (``DocumentFlow`` re-awaits an order's)."""
        if not (is_summary(new) and new.kind == "invoice"):
            return super()._apply_correction(mode, new, old_target)
        if mode == corrections.UPDATE:
            return self.target.update_document(new, old_target)
        if mode == "void":
            return self.target.void_document(new, old_target)
        if not self.parties.resolve([new], lambda doc, reason: None):
            return PostResult(new.key, "failed", error="its customer could not be found or created")
        return self.target.repost_document(new, old_target)



def _last_number(events: list[dict]) -> str | None:
    """The number the last correction gave the summary (a failed correction's ledger row does not keep it)."""
    numbers = [e["number"] for e in events if e.get("event") == "corrected" and e.get("number")]
    return numbers[-1] if numbers else None
