"""What `connex explain` adds to a mapping trace: the mapping file, how the customer name came about, and what
the ledger knows about the document (posted as which QuickBooks id and when, changed since, failed and why)."""

from __future__ import annotations

from connex.documents import from_record
from connex.rules.customers import clean_name
from connex.state import history
from connex.state.store import StateStore
from connex.sync import classify, corrections
from connex.sync.document_flow import FLOW_PREFIX
from connex.sync.summary_flow import where_summarised

# matching mode -> the mapped fields it combines, in the order it combines them
MODE_INPUTS = {
    "store_name": ("store_name",),
    "store_name_currency": ("store_name", "currency"),
    "single_customer": (),
    "company_else_full_name": ("customer.company", "customer.first_name", "customer.last_name"),
    "last_first": ("customer.last_name", "customer.first_name"),
    "first_last": ("customer.first_name", "customer.last_name"),
    "billing_email": ("customer.email",),
    "order_number": ("doc_number",),
}


def _get(data: dict, dotted: str):
    value = data
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def customer_origin(result, mode: str, single_name: str) -> dict | None:
    """The customer (sales, refunds) or vendor (purchases) name and where it came from."""
    data = result.mapped or {}
    if result.flow == "purchases":
        vendor = data.get("vendor") if isinstance(data.get("vendor"), dict) else {}
        return {"party": "vendor", "name": vendor.get("display_name"),
                "how": "the mapping's vendor.display_name (purchase orders name their supplier)"}
    if result.flow not in ("orders", "refunds"):
        return None
    name = _get(data, "customer.display_name")
    by_rule = [t.rule_id for t in result.traces if t.fired
               and any(w.field == "customer.display_name" for w in t.writes)]
    if by_rule:
        return {"party": "customer", "name": name, "how": f"set by rule {by_rule[-1]} (map_customer_name "
                                                         "overrides sync.customer_matching)", "mode": mode}
    if mode == "single_customer":
        return {"party": "customer", "name": name, "mode": mode,
                "how": f"sync.customer_matching: single_customer: every order on {single_name!r}",
                "inputs": {"sync.single_customer_name": single_name}}
    inputs = {f: clean_name(_get(data, f)) for f in MODE_INPUTS.get(mode, ())}
    return {"party": "customer", "name": name, "mode": mode, "inputs": inputs,
            "how": f"sync.customer_matching: {mode}: "
                   + " + ".join(f"{f} {v!r}" for f, v in inputs.items())}


def ledger_state(state: StateStore | None, result) -> list[dict]:
    """Every ledger row for this record: its documents by key, or the record itself when it did not map."""
    if state is None:
        return []
    keys = [doc.key for doc in result.documents] + [f"{FLOW_PREFIX.get(result.flow, result.flow)}:{result.source_id}"]
    rows = state.lookup(keys)
    digests = {doc.key: classify.content_hash(doc) for doc in result.documents}
    documents = {doc.key: doc for doc in result.documents}
    out = []
    for key in keys:
        row = rows.get(key)
        events = history.events(state, key)
        if row is None and not events:
            continue
        entry = {"key": key, "events": events}
        if row is not None:
            entry.update(status=row.status, target_id=row.target_id, error=row.error, attempts=row.attempts,
                         first_seen=row.first_seen, updated_at=row.updated_at)
            if key in digests and row.content_hash and row.status in ("posted", "exists", "changed"):
                entry["changed_since"] = row.content_hash != digests[key]
                if entry["changed_since"]:
                    entry["differences"] = _differences(row, documents[key])
            if row.status == "summarised":
                entry["summary"] = where_summarised(state, key)
        out.append(entry)
    return out


def _differences(row, new) -> list[str]:
    """The posted version (kept in the ledger once corrections are on) against what today's rules make."""
    try:
        old = from_record(row.document) if isinstance(row.document, dict) and "type" in row.document else None
    except (KeyError, TypeError, ValueError):
        old = None
    return corrections.differences(old, new)


def ledger_lines(entries: list[dict], synced: bool) -> list[str]:
    if not synced:
        return ["ledger: no state file yet (nothing synced with this configuration)"]
    if not entries:
        return ["ledger: never synced (not in the ledger)"]
    lines = ["ledger:"]
    for e in entries:
        status = e.get("status")
        if status in ("posted", "exists"):
            text = f"posted as QuickBooks id {e['target_id']} at {e['updated_at']}"
            if e.get("changed_since") is not None:
                text += ("; the source has CHANGED since (sync.on_change says what happens: report, update, "
                         "void_and_repost; or `connex sync --order ... --repost`)"
                         if e["changed_since"] else "; unchanged since")
        elif status == "changed":
            text = f"posted as QuickBooks id {e['target_id']}; the source changed after: {e['error']}"
        elif status == "failed":
            text = f"failed at {e['updated_at']} after {e['attempts']} attempt(s): {e['error']}"
        elif status == "skipped":
            text = f"skipped at {e['updated_at']}: {e['error']}"
        elif status == "queued":
            text = f"queued for the QuickBooks Web Connector since {e['updated_at']}"
        elif status == "summarised" and e.get("summary"):
            text = summary_text(e["summary"])
        elif status is None:
            text = "not in the ledger now"
        else:
            text = f"{status} at {e['updated_at']}" + (f": {e['error']}" if e.get("error") else "")
        lines.append(f"  {e['key']}: {text}")
        for ev in (e.get("summary") or {}).get("events") or []:  # the summary's own corrections
            lines.append(f"    summary {e['summary']['summary']}: {_event_text(ev)}")
        for change in e.get("differences") or []:
            lines.append(f"    posted -> new: {change}")
        for ev in e["events"]:
            lines.append(f"    {_event_text(ev)}")
    return lines


def _event_text(ev: dict) -> str:
    extra = "".join(f", {k} {'; '.join(map(str, v)) if isinstance(v, list) else v}"
                    for k, v in ev.items() if k not in ("at", "event"))
    return f"{ev['at']}: {ev['event']}{extra}"


def summary_text(held: dict) -> str:
    """Where a summarised order stands: the summary holding it, and that summary's own state."""
    text = (f"in summary {held['summary']} ({held['store'] or 'no store'} {held['currency']}, {held['period']}, "
            f"{held['members']} document{'' if held['members'] == 1 else 's'})")
    posting = held.get("posting")
    number = held.get("number")
    renumbered = f" (now {number})" if number and number != held["summary"] else ""
    if posting in ("posted", "exists"):
        return text + f", posted as QuickBooks id {held['target_id']}{renumbered}"
    if posting in ("changed", "correcting"):
        return text + f", posted as QuickBooks id {held['target_id']}{renumbered}, being corrected: {held['error']}"
    if posting == "voided":
        return text + f", VOIDED in QuickBooks: {held['error']}"
    if posting == "queued":
        return text + ", queued for the QuickBooks Web Connector"
    if posting == "failed":
        return text + f", which FAILED: {held['error']} (connex sync --retry-failed posts it again)"
    if posting == "in_flight":
        return text + ", being posted (the next run resolves it if this one stopped)"
    if held.get("summary_status") == "closed":
        return text + ", closed, posted by the next run"
    return text + f", open: closed and posted by the first pass after {held['closes_at']} (UTC)"
