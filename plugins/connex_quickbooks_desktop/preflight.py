"""``connex check`` on QuickBooks Desktop: what can be known without the Web Connector, and what cannot.

QuickBooks Desktop answers only inside a Web Connector session, which the Web Connector starts on its own
schedule; a check cannot ask it anything and wait. So the check answers from what earlier sessions left in the
queue: items looked up or created before (their jobs' outcomes), the stock snapshot's items, and whether the
company has multicurrency. Accounts, classes, payment methods, ship methods, terms and tax codes are listed as
unchecked: the first session checks them, and a missing one fails its documents with QuickBooks' 3140 naming it.
"""

from __future__ import annotations

import json

from connex.connectors import Finding, Preflight, Wanted
from connex_quickbooks_desktop import qbxml
from connex_quickbooks_desktop.workflow import item_key, sku_key

UNREACHABLE = ("not checked: QuickBooks Desktop is reached only when the Web Connector connects; the first "
               "session checks it (3140 names a missing one)")


def run_preflight(target, wanted: list[Wanted]) -> Preflight:
    settings = target.settings
    queue = target.queue
    multicurrency = queue.meta("multicurrency")
    out = Preflight(company=[
        ("QuickBooks Desktop company file", settings.company_file or "the one open in QuickBooks"),
        ("multicurrency", {"true": "on", "false": "off"}.get(multicurrency or "", "not known yet (no session)")),
        ("home currency", "not read: QuickBooks Desktop answers only through the Web Connector"),
        ("tax model", f"{target.config.get('tax_model', 'rules_only')} (as configured)"),
        ("item matching", target.config.get("item_matching", "name")
         + (f", SKU map of {len(settings.sku_map)} rows" if settings.sku_map else "")),
    ])
    out.notes.append("QuickBooks Desktop: items are checked from what earlier Web Connector sessions found; "
                     "accounts, classes, payment methods, ship methods, terms and tax codes cannot be checked "
                     "before a session (docs/quickbooks-desktop.md, connex check)")
    stocked = {name.casefold() for name, _id, _qty in queue.inventory()}
    for w in wanted:
        if w.kind not in ("item", "own_item"):
            out.findings[w] = Finding("unchecked", UNREACHABLE)
            continue
        own = w.kind == "own_item"
        name = qbxml.item_ref_name(w.name if own else (target.builder.mapped_item(w.name) or w.name))
        names = [name]
        # item_matching sku / sku_then_name: the SKU's part-number job says first
        jobs = ([] if own else [queue.get(sku_key(w.name))]) + [queue.get(item_key(n)) for n in names]
        done = next((j for j in jobs if j is not None and j.status == "done"), None)
        if done is not None or any(n.casefold() in stocked for n in names):
            made = done is not None and (json.loads(done.payload or "{}").get("created") or done.outcome == "posted")
            out.findings[w] = Finding("ok", f"item {names[0]!r}" + (" (created by Connex)" if made else ""))
        elif any(j is not None and j.status == "failed" for j in jobs):
            failed = next(j for j in jobs if j is not None and j.status == "failed")
            out.findings[w] = Finding("missing", failed.error or "failed in an earlier session")
        elif own and settings.create_own_items:
            out.findings[w] = Finding("create", "an Other Charge item, if the first session does not find it")
        elif not own and settings.missing_items != "fail" and w.name.casefold() not in settings.sku_map:
            out.findings[w] = Finding("create", "a non-inventory item, if the first session does not find it")
        else:
            out.findings[w] = Finding("unchecked", "not seen by a session yet: " + UNREACHABLE.split(": ", 1)[1])
    return out
