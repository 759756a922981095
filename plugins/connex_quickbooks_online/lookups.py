"""Customer, vendor, item and account look-ups, cached for the life of the connector.

Intuit meters reads, so names are looked up many at a time (``WHERE DisplayName IN (...)``) before a batch of
documents is built, absences are cached too (a missing SKU is not asked about again), and whatever has to be
created is created through the batch endpoint. Names compare case-insensitively, as QuickBooks does.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from connex.documents import Party
from connex.errors import ConfigError, DocumentError, DocumentRef
from connex_quickbooks_online.batch import Create, send_creates
from connex_quickbooks_online.client import QboClient, quote
from connex_quickbooks_online.faults import fault_error
from connex_quickbooks_online.payloads import clean_display_name, party_body

log = logging.getLogger(__name__)

MISSING_ITEM_POLICIES = ("fail", "create_non_inventory", "create_inventory")
#: how a source SKU finds its QuickBooks item: the item's Sku field, its Name, or the Sku then the Name
ITEM_MATCHING = ("sku_then_name", "sku", "name")
MATCHED_BY = {"sku": "by Sku", "name": "by Name", "sku_then_name": "by Sku, then by Name"}


@dataclass(frozen=True)
class NamedList:
    """A QuickBooks list a document names an entry of: the entity, the field a name is matched on, the words for
    it, its name length (Finance.xsd), and the ``create_missing`` switch that lets Connex add a missing entry
    (None: never created; a Term needs its due days, which a name alone does not give)."""

    entity: str
    field: str
    label: str
    max_length: int
    switch: str | None


#: document field kind -> its list. Classes and departments (locations) match on the full "Parent:Child" name.
NAMED_LISTS = {
    "class": NamedList("Class", "FullyQualifiedName", "class", 100, "classes"),
    "department": NamedList("Department", "FullyQualifiedName", "location (Department)", 100, "departments"),
    "payment_method": NamedList("PaymentMethod", "Name", "payment method", 15, "payment_methods"),
    "term": NamedList("Term", "Name", "term", 31, None),
}
CREATE_SWITCHES = tuple(sorted(lst.switch for lst in NAMED_LISTS.values() if lst.switch))

log = logging.getLogger("connex.quickbooks_online")


@dataclass(frozen=True)
class ItemPolicy:
    """What to do about a SKU QuickBooks lacks, and the accounts items created for it use (defaults live in
    the connector's config schema)."""

    missing: str
    income_account: str
    expense_account: str
    asset_account: str
    #: Connex's own items (shipping, rounding) are created as Service items when missing; product SKUs never
    #: are unless ``missing`` says so
    create_own_items: bool = True
    matching: str = "sku_then_name"
    #: source SKU (casefolded) -> the QuickBooks item to use instead, matched the same way (the SKU map CSV)
    sku_map: dict[str, str] = field(default_factory=dict)
    #: which lists (``CREATE_SWITCHES``) Connex adds a missing entry to instead of failing the document
    create_missing: frozenset[str] = frozenset()


def _key(name: str) -> str:
    return clean_display_name(name).casefold()


def item_name_for(sku: str) -> str:
    return sku.replace(":", "-")[:100]


class Lookups:
    def __init__(self, client: QboClient, realm: str, policy: ItemPolicy, *, rate_store=None, today=None):
        self.client = client
        self.realm = realm
        self.policy = policy
        # the state database's exchange-rate table (anything with exchange_rates/save_exchange_rates), or None
        self.rate_store = rate_store if hasattr(rate_store, "save_exchange_rates") else None
        self.today = today or (lambda: dt.datetime.now(dt.UTC).date())
        self._range_queries = True  # cleared for the connector's life if QuickBooks refuses the rate query
        # name/sku (casefolded) -> entity row, or None when QuickBooks is known not to have it
        self._rates: dict[tuple[str, str], Decimal | None] = {}  # (currency, date) -> QuickBooks' rate
        self.cache: dict[str, dict[str, dict | None]] = {
            "Customer": {},
            "Vendor": {},
            "ItemSku": {},
            "ItemName": {},
            "Account": {},
            **{lst.entity: {} for lst in NAMED_LISTS.values()},
        }
        # creations QuickBooks refused, by (kind, key): not retried within the run, reported per document
        self.failures: dict[tuple[str, str], DocumentError] = {}
        self._looked_up: set[str] = set()  # source SKUs (casefolded) already searched for

    def forget_misses(self) -> None:
        """Forget every name QuickBooks lacked and every refused creation, keeping what was found: a new run looks
        the missing ones up again (once each), so an item or account added since is used without a restart."""
        for cache in self.cache.values():
            for key in [k for k, row in cache.items() if row is None]:
                del cache[key]
        self.failures.clear()
        self._looked_up.clear()  # found SKUs stay cached, so looking them up again costs no query

    # --- bulk reads ----------------------------------------------------------------------------------------
    def prefetch(self, kind: str, values: Iterable[str]) -> None:
        """Load every value not cached yet, many per query; remember the ones QuickBooks lacks."""
        entity, field = {
            "Customer": ("Customer", "DisplayName"),
            "Vendor": ("Vendor", "DisplayName"),
            "ItemSku": ("Item", "Sku"),
            "ItemName": ("Item", "Name"),
            "Account": ("Account", "Name"),
            **{lst.entity: (lst.entity, lst.field) for lst in NAMED_LISTS.values()},
        }[kind]
        cache = self.cache[kind]
        wanted = {}
        for value in values:
            clean = clean_display_name(value) if kind in ("Customer", "Vendor") else value
            if clean.casefold() not in cache:
                wanted.setdefault(clean.casefold(), clean)
        for row in self.client.query_in(entity, field, list(wanted.values())):
            if row.get(field):
                cache[str(row[field]).casefold()] = row
        for folded in wanted:
            cache.setdefault(folded, None)

    # --- parties -------------------------------------------------------------------------------------------
    def ensure_parties(self, wanted: dict[str, list[tuple[Party, str | None]]]) -> None:
        """Make sure every (party, currency) exists, ``wanted`` by kind ("Customer", "Vendor"): one IN query
        per kind for the names, then one batch creating whatever is missing of either kind."""
        creates: dict[tuple[str, str], Create] = {}
        for kind, parties in wanted.items():
            self.prefetch(kind, (p.display_name for p, _ in parties))
            for party, currency in parties:
                key = _key(party.display_name)
                if self.cache[kind].get(key) is None and (kind, key) not in self.failures:
                    creates.setdefault(
                        (kind, key),
                        Create(f"{kind.lower()}:{key}|{currency or ''}", kind, party_body(party, currency)),
                    )
        self._create_many(creates)

    def _create_many(self, creates: dict[tuple[str, str], Create]) -> None:
        """Create through the batch endpoint; remember what was made, and why QuickBooks refused the rest."""
        if not creates:
            return
        by_key = {c.key: kind_and_key for kind_and_key, c in creates.items()}
        for outcomes in send_creates(self.client, self.realm, list(creates.values())):
            for outcome in outcomes:
                kind, name_key = by_key[outcome.key]
                if outcome.created is not None:
                    self._remember(kind, name_key, outcome.created)
                else:
                    error = fault_error(outcome.fault, endpoint=f"POST batch create {outcome.entity}")
                    self.failures[(kind, name_key)] = DocumentError(
                        f"cannot create {outcome.entity.lower()} {name_key!r}: {error.message}",
                        code=error.code,
                    )

    def _remember(self, kind: str, key: str, row: dict) -> None:
        self.cache[kind][key] = row
        if kind == "ItemSku" and row.get("Name"):
            self.cache["ItemName"][str(row["Name"]).casefold()] = row

    def _party(self, kind: str, party: Party, currency: str | None, where: DocumentRef | None) -> dict:
        key = _key(party.display_name)
        if key not in self.cache[kind] and (kind, key) not in self.failures:
            self.ensure_parties({kind: [(party, currency)]})
        if (kind, key) in self.failures:
            failure = self.failures[(kind, key)]
            raise DocumentError(failure.message, where=where, code=failure.code)
        row = self.cache[kind][key]
        have = (row.get("CurrencyRef") or {}).get("value")
        if currency and have and have != currency:
            label = "customer" if kind == "Customer" else "supplier"
            raise DocumentError(
                f"{label} {row.get('DisplayName')!r} exists in QuickBooks in {have} but this document is in "
                f"{currency}; a QuickBooks {label} has one currency, so map {currency} documents to a "
                f"{label} of their own (e.g. '{row.get('DisplayName')} {currency}')",
                where=where,
                code="currency_mismatch",
            )
        return row

    def customer(self, party: Party, currency: str | None, where: DocumentRef | None = None) -> dict:
        return self._party("Customer", party, currency, where)

    def vendor(self, party: Party, currency: str | None, where: DocumentRef | None = None) -> dict:
        return self._party("Vendor", party, currency, where)

    # --- items ---------------------------------------------------------------------------------------------
    def _item_ref(self, sku: str) -> str:
        """What to look for in QuickBooks for a source SKU: its SKU map entry, else the SKU itself."""
        return self.policy.sku_map.get(sku.casefold(), sku)

    def _matched(self, sku: str) -> dict | None:
        """The item a source SKU resolves to, from the cache: by Sku and/or by Name as configured, or the
        item Connex created for it."""
        ref = self._item_ref(sku).casefold()
        row = None
        if self.policy.matching != "name":
            row = self.cache["ItemSku"].get(ref)
        if row is None and self.policy.matching != "sku":
            row = self.cache["ItemName"].get(ref)
        return row or self.cache["ItemSku"].get(sku.casefold())

    def find_items(self, skus: Iterable[str]) -> None:
        """Look every SKU up, many per query: by Sku first, then by Name for those still missing."""
        skus = [s for s in skus if s.casefold() not in self._looked_up]
        refs = list(dict.fromkeys(self._item_ref(s) for s in skus))
        if self.policy.matching != "name":
            self.prefetch("ItemSku", refs)
        if self.policy.matching != "sku":
            unmatched = [r for r in refs if self.policy.matching == "name" or self.cache["ItemSku"].get(
                r.casefold()) is None]
            self.prefetch("ItemName", unmatched)
        self._looked_up.update(s.casefold() for s in skus)

    def ensure_items(self, skus: dict[str, str | None]) -> None:
        """``skus`` maps SKU -> description; looks them up together and applies the missing-item policy. A SKU
        the SKU map names an item for is never created: the map says the item exists."""
        self.find_items(skus)
        if self.policy.missing == "fail":
            return
        missing = {
            s: d
            for s, d in skus.items()
            if self._matched(s) is None
            and s.casefold() not in self.policy.sku_map
            and ("ItemSku", s.casefold()) not in self.failures
        }
        if not missing:
            return
        accounts = [self.policy.income_account, self.policy.expense_account]
        if self.policy.missing == "create_inventory":
            accounts.append(self.policy.asset_account)
        self.prefetch("Account", accounts)
        try:
            bodies = {s.casefold(): self._item_body(s, d) for s, d in missing.items()}
        except DocumentError as exc:
            for sku in missing:
                self.failures[("ItemSku", sku.casefold())] = exc
            return
        self._create_many({("ItemSku", k): Create(f"item:{k}", "Item", body) for k, body in bodies.items()})

    def _item_body(self, sku: str, description: str | None) -> dict:
        def account(name: str) -> dict:
            row = self.cache["Account"].get(name.casefold())
            if row is None:
                raise DocumentError(
                    f"account {name!r} (for creating items) not in QuickBooks; fix the connector's account "
                    "options",
                    code="account_missing",
                )
            return {"value": str(row["Id"]), "name": row["Name"]}

        body = {
            "Name": item_name_for(sku),
            "Sku": sku[:100],
            "IncomeAccountRef": account(self.policy.income_account),
            "ExpenseAccountRef": account(self.policy.expense_account),
        }
        if description:
            body["Description"] = description[:4000]
        if self.policy.missing == "create_inventory":
            body.update(
                Type="Inventory",
                TrackQtyOnHand=True,
                QtyOnHand=0,
                InvStartDate=dt.date.today().isoformat(),
                AssetAccountRef=account(self.policy.asset_account),
            )
        else:
            body["Type"] = "NonInventory"
        return body

    def item_for_sku(
        self, sku: str, where: DocumentRef | None = None, description: str | None = None
    ) -> dict:
        key = sku.casefold()
        if key not in self._looked_up:
            self.ensure_items({sku: description})
        if ("ItemSku", key) in self.failures:
            failure = self.failures[("ItemSku", key)]
            raise DocumentError(failure.message, where=where, code=failure.code)
        row = self._matched(sku)
        if row is None:
            how = MATCHED_BY[self.policy.matching]
            if key in self.policy.sku_map:
                raise DocumentError(f"item {sku}: the SKU map names item {self._item_ref(sku)!r}, which is not in "
                                    f"QuickBooks (looked up {how})", where=where, code="item_missing")
            raise DocumentError(f"item {sku} not in QuickBooks (looked up {how}; missing_items: "
                                f"{self.policy.missing})", where=where, code="item_missing")
        return row

    def ensure_own_items(self, names: Iterable[str]) -> None:
        """Connex's own items (the shipping and rounding lines'): found by name, or created once as Service
        items on the income account, in one batch, each creation logged once."""
        names = [n for n in dict.fromkeys(names) if n]
        self.prefetch("ItemName", names)
        missing = [n for n in names if self.cache["ItemName"].get(n.casefold()) is None
                   and ("ItemName", n.casefold()) not in self.failures]
        if not missing or not self.policy.create_own_items:
            return
        self.prefetch("Account", [self.policy.income_account])
        income = self.cache["Account"].get(self.policy.income_account.casefold())
        if income is None:
            for name in missing:
                self.failures[("ItemName", name.casefold())] = DocumentError(
                    f"cannot create item {name!r}: income account {self.policy.income_account!r} is not in "
                    "QuickBooks (set income_account, or name an existing item)", code="account_missing")
            return
        creates = {
            ("ItemName", name.casefold()): Create(f"own-item:{name.casefold()}", "Item", {
                "Name": item_name_for(name), "Type": "Service",
                "IncomeAccountRef": {"value": str(income["Id"]), "name": income["Name"]},
            })
            for name in missing
        }
        self._create_many(creates)
        for name in missing:
            if self.cache["ItemName"].get(name.casefold()) is not None:
                log.info("created QuickBooks item %r (Service, income account %r) for Connex's own lines",
                         name, income["Name"])

    def item_named(self, name: str, where: DocumentRef | None = None) -> dict:
        if name.casefold() not in self.cache["ItemName"]:
            self.ensure_own_items([name])
        if ("ItemName", name.casefold()) in self.failures:
            failure = self.failures[("ItemName", name.casefold())]
            raise DocumentError(failure.message, where=where, code=failure.code)
        row = self.cache["ItemName"].get(name.casefold())
        if row is None:
            raise DocumentError(
                f"item {name!r} not in QuickBooks (create_own_items is off: create it, or name an existing "
                "item in shipping_item / rounding_item)",
                where=where,
                code="item_missing",
            )
        return row

    # --- exchange rates ------------------------------------------------------------------------------------
    def _day(self, on) -> str:
        if on is None:
            return self.today().isoformat()
        return (on.date() if isinstance(on, dt.datetime) else on).isoformat()

    def prefetch_rates(self, wanted: Iterable[tuple[str, object]]) -> None:
        """Every rate a set of documents needs, in the fewest reads: the state database's rate table first (rates
        read by earlier runs); then, per currency with two or more days still missing, one query for every day
        from the earliest of them to today, so a backfill over a year costs one read per currency and the days
        after it are stored for later passes. A single missing day is left to ``exchange_rate``'s one GET."""
        by_currency: dict[str, set[str]] = {}
        for currency, on in wanted:
            key = (currency.upper(), self._day(on))
            if key not in self._rates:
                by_currency.setdefault(key[0], set()).add(key[1])
        for currency, days in sorted(by_currency.items()):
            self._from_store(currency, min(days), max(days))
            missing = sorted(day for day in days if (currency, day) not in self._rates)
            if len(missing) >= 2 and self._range_queries:
                self._query_range(currency, missing[0], max(missing[-1], self.today().isoformat()))

    def _from_store(self, currency: str, first: str, last: str) -> None:
        if self.rate_store is None:
            return
        for day, rate in self.rate_store.exchange_rates(self.realm, currency, first, last).items():
            self._rates.setdefault((currency, day), rate)

    def _keep_rates(self, currency: str, rates: dict[str, Decimal], origin: str) -> None:
        usable = {day: rate for day, rate in rates.items() if rate > 0}
        for day, rate in usable.items():
            self._rates[(currency, day)] = rate
        if self.rate_store is not None and usable:
            self.rate_store.save_exchange_rates(self.realm, currency, usable, origin)

    def _query_range(self, currency: str, first: str, last: str) -> None:
        statement = (f"SELECT * FROM ExchangeRate WHERE SourceCurrencyCode = {quote(currency)} "
                     f"AND AsOfDate >= {quote(first)} AND AsOfDate <= {quote(last)}")
        try:
            rows = list(self.client.query(statement))
        except (DocumentError, ConfigError) as exc:
            # a company that refuses the query still answers GET exchangerate: one read per day from here on
            log.warning("QuickBooks refused the exchange-rate query (%s); reading rates one day at a time", exc)
            self._range_queries = False
            return
        found: dict[str, Decimal] = {}
        for row in rows:
            day, rate = str(row.get("AsOfDate") or "")[:10], row.get("Rate")
            if str(row.get("SourceCurrencyCode") or "").upper() == currency and day and rate not in (None, ""):
                found[day] = Decimal(str(rate))
        self._keep_rates(currency, found, "quickbooks ExchangeRate query")

    def exchange_rate(self, currency: str, on, where: DocumentRef | None = None) -> Decimal:
        """QuickBooks' own rate (home-currency units per 1 ``currency``) on the document's date: from this run's
        memory, else the state database's rate table, else one ``GET exchangerate`` whose answer is stored."""
        key = (currency.upper(), self._day(on))
        rates = self._rates
        if key not in rates:
            self._from_store(key[0], key[1], key[1])
        if key not in rates:
            params = {"sourcecurrencycode": key[0], "asofdate": key[1]}
            try:
                body = self.client.call("GET", "exchangerate", endpoint="read:exchangerate", params=params)
            except DocumentError as exc:
                raise DocumentError(f"no QuickBooks exchange rate for {key[0]} on {key[1]}: {exc.message}",
                                    where=where, code="exchange_rate_missing") from None
            rate = (body.get("ExchangeRate") or {}).get("Rate")
            rate = Decimal(str(rate)) if rate not in (None, "") else Decimal(0)
            rates[key] = rate if rate > 0 else None
            if rate > 0:
                self._keep_rates(key[0], {key[1]: rate}, "quickbooks GET exchangerate")
        if rates[key] is None or rates[key] <= 0:
            raise DocumentError(f"QuickBooks has no usable exchange rate for {key[0]} on {key[1]}",
                                where=where, code="exchange_rate_missing")
        return rates[key]

    def account_named(self, name: str, where: DocumentRef | None = None) -> dict:
        if name.casefold() not in self.cache["Account"]:
            self.prefetch("Account", [name])
        row = self.cache["Account"].get(name.casefold())
        if row is None:
            raise DocumentError(
                f"account {name!r} not in QuickBooks (check the connector's account options)",
                where=where,
                code="account_missing",
            )
        return row

    # --- classes, locations, payment methods, terms --------------------------------------------------------
    def ensure_named(self, wanted: dict[str, Iterable[str]]) -> None:
        """Look every name up, one query per list; create the missing ones of lists ``create_missing`` names,
        in one batch. ``wanted``: NAMED_LISTS kind -> names."""
        creates: dict[tuple[str, str], Create] = {}
        for kind, names in wanted.items():
            lst = NAMED_LISTS[kind]
            names = [n for n in dict.fromkeys(names) if n]
            self.prefetch(lst.entity, names)
            if lst.switch not in self.policy.create_missing:
                continue
            for name in names:
                key = name.casefold()
                if self.cache[lst.entity].get(key) is None and (lst.entity, key) not in self.failures:
                    problem = self._uncreatable(lst, name)
                    if problem:
                        self.failures[(lst.entity, key)] = DocumentError(problem, code=f"{kind}_missing")
                        continue
                    body = {"Name": name}
                    if lst.entity == "PaymentMethod":
                        body["Type"] = "NON_CREDIT_CARD"  # Finance.xsd: QBO takes CREDIT_CARD or NON_CREDIT_CARD
                    creates[(lst.entity, key)] = Create(f"{kind}:{key}", lst.entity, body)
        self._create_many(creates)
        for (entity, key), create in creates.items():
            if self.cache[entity].get(key) is not None:
                log.info("created QuickBooks %s %r (create_missing)", entity, create.body["Name"])

    @staticmethod
    def _uncreatable(lst: NamedList, name: str) -> str | None:
        if ":" in name:
            return (f"cannot create {lst.label} {name!r}: a sub-{lst.label} needs its parent; add it in QuickBooks")
        if len(name) > lst.max_length:
            return (f"cannot create {lst.label} {name!r}: QuickBooks Online allows at most {lst.max_length} "
                    "characters")
        return None

    def named(self, kind: str, name: str, where: DocumentRef | None = None) -> dict:
        """The entry of a class, location, payment method or term list, by name; a DocumentError naming the
        field and the value when QuickBooks has none (and Connex may not or could not create it)."""
        lst = NAMED_LISTS[kind]
        key = name.casefold()
        if key not in self.cache[lst.entity]:
            self.ensure_named({kind: [name]})
        if (lst.entity, key) in self.failures:
            failure = self.failures[(lst.entity, key)]
            raise DocumentError(failure.message, where=where, code=failure.code)
        row = self.cache[lst.entity].get(key)
        if row is None:
            how = (f"add it in QuickBooks, or list {lst.switch} in the target's create_missing" if lst.switch
                   else "add it in QuickBooks (Connex does not create terms: a term needs its due days)")
            raise DocumentError(f"{lst.label} {name!r} is not in QuickBooks: {how}", where=where,
                                code=f"{kind}_missing")
        return row
