"""What an operator can do from the console; each action goes into the ledger's history with who did it.

* retry failed documents (one, a group, all): orders are read afresh by id, as ``connex sync --order`` does
  (the cause may have been fixed in Linnworks or in QuickBooks); purchase orders and refunds, whose source records
  the ledger keeps, are retried with their flow's other failures (``sync --retry-failed``);
* run flows now; pause and resume the connection's schedule (kept in the state file, honoured by the daemon);
* forget a document (``connex forget``): it is posted again the next time it is read.

Repost of a changed document belongs to the corrections work: ``REPOST`` is where it plugs in (see
``repost_available``); until then the document page names the command line instead of offering a button.
"""

from __future__ import annotations

from collections.abc import Callable

from connex.console.queries import Document
from connex.daemon.pause import set_paused
from connex.state import history
from connex.state.store import StateStore
from connex.sync.report import RunOptions

#: the corrections issue sets this to ``fn(state, runner, document, who) -> message``; None: no repost yet
REPOST: Callable | None = None
CONNECTION_KEY = "connection:"


def repost_available() -> bool:
    return REPOST is not None


def retry(state: StateStore, runner, documents: list[Document], who: str) -> str:
    failed = [d for d in documents if d.status == "failed"]
    if not failed:
        return "nothing to retry: none of these documents is failed now"
    if all(d.flow == "orders" for d in failed):
        ids = tuple(dict.fromkeys(d.source_id for d in failed))
        flows, options = ["orders"], RunOptions(order_ids=ids)
        how = f"{len(ids)} order{'s' if len(ids) != 1 else ''} read afresh from the source"
    else:
        flows = sorted({d.flow for d in failed}, key=lambda f: runner.flows.index(f) if f in runner.flows else 99)
        options = RunOptions(retry_failed=True)
        how = f"every failed document of {', '.join(flows)}"
    refused = runner.request(flows, options)
    if refused:
        return f"not retried: {refused}"
    for document in failed:
        history.add(state, document.key, "retry requested", by=who, was=document.error)
    return f"retrying {len(failed)} document{'s' if len(failed) != 1 else ''} ({how}); this page shows the outcome " \
           "when the pass has finished"


def run_now(state: StateStore, runner, connection: str, flows: list[str], who: str) -> str:
    unknown = [f for f in flows if f not in runner.flows]
    if unknown or not flows:
        return f"not run: {', '.join(unknown) or 'no flow'} is not an enabled flow ({', '.join(runner.flows)})"
    refused = runner.request(flows, RunOptions())
    if refused:
        return f"not run: {refused}"
    history.add(state, CONNECTION_KEY + connection, "run requested", by=who, flows=", ".join(flows))
    return f"running {', '.join(flows)} now"


def pause(state: StateStore, connection: str, on: bool, who: str) -> str:
    set_paused(state, connection, on, who)
    history.add(state, CONNECTION_KEY + connection, "schedule paused" if on else "schedule resumed", by=who)
    return ("the schedule is paused: no scheduled pass runs until it is resumed (run now still works)" if on
            else "the schedule is resumed: the next scheduled pass runs")


def forget(state: StateStore, document: Document, who: str) -> str:
    history.add(state, document.key, "forgotten", by=who, reason="forgotten from the console", was=document.status,
                target_id=document.target_id, number=document.number)
    state.forget([document.key])
    return f"{document.label} forgotten: it is posted again the next time it is read (make sure it is no longer " \
           "in QuickBooks)"
