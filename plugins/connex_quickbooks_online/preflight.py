"""``connex check`` on QuickBooks Online: the company's facts and every wanted name, by queries only.

Nothing is created: names are looked up with the same cached IN queries a sync uses (``Lookups.prefetch``), and
what a sync would create (Connex's own items, SKUs under a creating ``missing_items``, lists under
``create_missing``) is reported as such.
"""

from __future__ import annotations

from connex.connectors import Finding, Preflight, Wanted
from connex_quickbooks_online.lookups import MATCHED_BY, NAMED_LISTS, Lookups
from connex_quickbooks_online.tax import US_LINE_CODES


def run_preflight(target, wanted: list[Wanted]) -> Preflight:
    lookups: Lookups = target.lookups
    policy = lookups.policy
    out = Preflight()
    info = next(iter(target.client.query("SELECT * FROM CompanyInfo")), {})
    builder = target.builder  # Preferences and the tax model, as a sync reads them
    prefs = next(iter(target.client.query("SELECT * FROM Preferences")), {})
    multi = (prefs.get("CurrencyPrefs") or {}).get("MultiCurrencyEnabled")
    tax = builder.tax
    if tax.us:
        model = f"US sales tax (lines TAX/NON), {'automated' if tax.automated else 'manual'}"
    else:
        model = f"{tax.country or 'non-US'}: a tax code on every line"
    out.company = [
        ("QuickBooks Online company", f"{info.get('CompanyName') or '?'} (realm {target.realm})"),
        ("home currency", builder.options.home_currency),
        ("multicurrency", "on" if multi else "off"),
        ("tax model", model + ("" if tax.using_sales_tax else "; sales tax is OFF in QuickBooks")),
        ("item matching", f"{policy.matching} ({MATCHED_BY[policy.matching]})"
                          + (f", SKU map of {len(policy.sku_map)} rows" if policy.sku_map else "")),
    ]
    if not tax.using_sales_tax and not tax.us:
        out.notes.append("QuickBooks has sales tax switched off: documents with tax would fail (switch VAT/GST on)")
    by_kind: dict[str, list[str]] = {}
    for w in wanted:
        by_kind.setdefault(w.kind, []).append(w.name)
    found = out.findings

    skus = by_kind.get("item", [])
    if skus:
        lookups.find_items(skus)
    for sku in skus:
        row = lookups._matched(sku)
        mapped = sku.casefold() in policy.sku_map
        if row is not None:
            via = f" via the SKU map ({policy.sku_map[sku.casefold()]})" if mapped else ""
            found[Wanted("item", sku)] = Finding("ok", f"item {row.get('Name')!r}{via}")
        elif mapped:
            found[Wanted("item", sku)] = Finding("missing", f"the SKU map names {policy.sku_map[sku.casefold()]!r}, "
                                                            "which is not in QuickBooks")
        elif policy.missing != "fail":
            kind = "Inventory" if policy.missing == "create_inventory" else "NonInventory"
            found[Wanted("item", sku)] = Finding("create", f"a {kind} item (missing_items: {policy.missing})")
        else:
            found[Wanted("item", sku)] = Finding("missing", f"no item {MATCHED_BY[policy.matching]}; "
                                                            "missing_items: fail")

    own = by_kind.get("own_item", [])
    lookups.prefetch("ItemName", own)
    for name in own:
        row = lookups.cache["ItemName"].get(name.casefold())
        if row is not None:
            found[Wanted("own_item", name)] = Finding("ok", f"{row.get('Type', '')} item".strip())
        elif policy.create_own_items:
            found[Wanted("own_item", name)] = Finding(
                "create", f"a Service item on {policy.income_account!r} (create_own_items)")
        else:
            found[Wanted("own_item", name)] = Finding("missing", "create_own_items is off")

    accounts = by_kind.get("account", [])
    lookups.prefetch("Account", accounts)
    for name in accounts:
        row = lookups.cache["Account"].get(name.casefold())
        found[Wanted("account", name)] = (Finding("ok", row.get("AccountType", "")) if row is not None
                                          else Finding("missing"))

    for kind, lst in NAMED_LISTS.items():
        names = by_kind.get(kind, [])
        lookups.prefetch(lst.entity, names)
        for name in names:
            if lookups.cache[lst.entity].get(name.casefold()) is not None:
                found[Wanted(kind, name)] = Finding("ok")
            elif lst.switch in policy.create_missing and not lookups._uncreatable(lst, name):
                found[Wanted(kind, name)] = Finding("create", f"create_missing: {lst.switch}")
            else:
                problem = lookups._uncreatable(lst, name) if lst.switch in policy.create_missing else None
                found[Wanted(kind, name)] = Finding("missing", problem or (
                    f"list {lst.switch} in create_missing to have it created" if lst.switch else
                    "add it in QuickBooks"))

    for name in by_kind.get("tax_code", []):
        known = (tax.by_name_or_none(name) is not None
                 or (tax.us and name.strip().casefold() in US_LINE_CODES))
        found[Wanted("tax_code", name)] = Finding("ok") if known else Finding("missing", f"codes: {tax.names('sales')}")

    for name in by_kind.get("ship_method", []):
        found[Wanted("ship_method", name)] = Finding("ok", "text: QuickBooks Online keeps no list of them")
    return out
