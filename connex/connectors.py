"""The connector protocol: what a source and a target must be able to do.

Plugins register subclasses of these through the ``connex_sources`` / ``connex_targets`` hooks
(see ``connex.hookspecs``). The engine only ever talks to these methods, so a new back office or accounting
system is one plugin away.

Reads are generators of ``Page`` objects: the engine processes a page, records the results, and only then
persists ``page.checkpoint``, so a crash never skips a record and memory stays flat however large the account.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from connex.documents import Document, Party, PostResult, StockLevel


class KeyValueStore(Protocol):
    """Durable storage a connector may use for its own state (rotated OAuth tokens, sessions)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class OrderQuery:
    """Which orders to read. ``mode`` is "processed" (the default) or "open" (an empty status filter).
    ``statuses`` narrows by status name (e.g. "PAID"); empty means every status."""

    mode: str = "processed"
    statuses: tuple[str, ...] = ()
    from_date: dt.datetime | None = None
    to_date: dt.datetime | None = None
    cursor: Mapping[str, Any] | None = None
    order_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class WindowQuery:
    """A date window plus the cursor persisted after the last completed page."""

    from_date: dt.datetime | None = None
    to_date: dt.datetime | None = None
    cursor: Mapping[str, Any] | None = None


@dataclass
class Page:
    """One page of source records and the cursor to persist once they are all recorded."""

    records: list[dict]
    checkpoint: dict | None = None


@dataclass
class InventoryLevel:
    sku: str
    quantity_on_hand: int
    name: str | None = None


@dataclass
class ConnectorInfo:
    name: str
    version: str
    description: str = ""
    extra: dict = field(default_factory=dict)


class Connector(abc.ABC):
    """Common life cycle: built from its validated config block, closed when the run ends."""

    #: the name used as ``plugin:`` in the config
    name: ClassVar[str]
    #: JSON Schema (a dict) for the connector's config block, ``plugin`` excluded; ``additionalProperties: false``
    config_schema: ClassVar[dict] = {"type": "object"}
    #: keys of the config block holding secrets: never printed, never logged
    secret_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Mapping[str, Any], *, state: KeyValueStore | None = None):
        self.config = dict(config)
        self.state = state

    def close(self) -> None:  # noqa: B027 - optional hook: most connectors have nothing to release
        """Release sessions and sockets."""

    def begin_run(self) -> None:  # noqa: B027 - optional hook: most connectors keep nothing between runs
        """A run starts. A daemon keeps its connectors for its whole life, so anything remembered as missing in
        the service (an item, an account) must be looked for again: the user may have added it since."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SourceConnector(Connector):
    """A back office the orders come from (Linnworks, ...)."""

    @abc.abstractmethod
    def read_orders(self, query: OrderQuery) -> Iterator[Page]:
        """Yield pages of full order records (header, customer, totals and lines), oldest first."""

    @abc.abstractmethod
    def read_purchase_orders(self, query: WindowQuery) -> Iterator[Page]:
        """Yield pages of purchase orders, each with its header, items, supplier and location name."""

    @abc.abstractmethod
    def read_suppliers(self) -> list[dict]:
        """Return every supplier record."""

    @abc.abstractmethod
    def read_refunds(self, query: WindowQuery) -> Iterator[Page]:
        """Yield pages of *actioned* refunds only; a booked refund is not yet a refund."""

    @abc.abstractmethod
    def read_stock_locations(self) -> list[dict]:
        """Return every stock location (id and name at least)."""

    @classmethod
    def record_schema(cls, flow: str) -> Mapping[str, Any] | None:
        """The shape of the records this source yields for ``flow`` ("orders", "purchases" or "refunds"), in the
        form ``connex.rules.recordschema`` describes (``{"root": TYPE, "types": {...}}``), or None when the
        source does not say. ``connex validate`` checks every field path of every template and condition
        against it and reports the unknown ones with a did-you-mean. A class method: validate builds no
        connector (and needs no credentials)."""
        return None

    def find_purchase_order(self, number: str) -> dict | None:
        """One purchase order by its number (or id), as ``read_purchase_orders`` yields it; None when there is
        none. Used by ``connex explain``; a source that cannot look one up says so."""
        raise NotImplementedError(f"the {self.name} source cannot look up one purchase order")

    def find_refunds(self, number: str) -> list[dict]:
        """The actioned refunds a number names (a refund's number, or an order's: all of its refunds), as
        ``read_refunds`` yields them. Used by ``connex explain``."""
        raise NotImplementedError(f"the {self.name} source cannot look up refunds by number")
    def read_stock_levels(self) -> dict[tuple[str, str], int] | None:
        """Every current stock level in bulk, by ``(sku, location name)`` in lower case, for the inventory flow's
        full pass to write only what differs; None when the source cannot (the full pass then writes all)."""
        return None

    @abc.abstractmethod
    def write_stock_levels(self, levels: Iterable[StockLevel]) -> list[PostResult]:
        """Set absolute stock levels, each at the location named in it; one result per level. A SKU the source
        does not stock is ``failed`` with ``code=documents.UNKNOWN_SKU`` (the flow skips it rather than failing)."""


@dataclass(frozen=True)
class Used:
    """A contract field a target steers by without posting it as such (e.g. a tax rate choosing a tax code)."""

    how: str


@dataclass(frozen=True)
class Ignored:
    """A contract field a target does not post, and why: ``connex validate`` names every mapping or rule that
    sets one (see ``connex.fieldsupport``)."""

    reason: str


#: the kinds of names ``connex check`` asks a target about
NAME_KINDS = ("account", "item", "own_item", "class", "payment_method", "ship_method", "tax_code", "department",
              "term")


@dataclass(frozen=True)
class Wanted:
    """A name the config, the rules or recent source records need the target to have. ``kind`` is one of
    ``NAME_KINDS``: "item" is a source SKU (found by the target's item matching and SKU map), "own_item" an item
    by its name (shipping, rounding, discount)."""

    kind: str
    name: str


@dataclass
class Finding:
    """What the target says of one wanted name: ``state`` is "ok" (it exists), "create" (a sync would create it),
    "missing" (documents needing it would fail) or "unchecked" (the target cannot tell now); ``detail`` says more."""

    state: str
    detail: str = ""


@dataclass
class Preflight:
    """A target's answer to ``connex check``: facts about the company, and a finding per wanted name."""

    company: list[tuple[str, str]] = field(default_factory=list)
    findings: dict[Wanted, Finding] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class TargetConnector(Connector):
    """An accounting system the documents go to (QuickBooks Online, QuickBooks Desktop, ...)."""

    #: config keys that name something in the target, and its kind (``NAME_KINDS``): ``connex check`` asks
    #: about each, with the config line that names it (or its default)
    config_names: ClassVar[dict[str, str]] = {}

    #: what becomes of each field of the document contract, by ``Class.field`` ("SalesDocument.class_name",
    #: "Line.class_name", "Party.email", "Address.city"): the payload key or element it is posted as (text), a
    #: ``Used`` or an ``Ignored``. tests/core/test_field_support.py holds every field to one of them, and checks
    #: that each posted one does reach the payload.
    field_support: ClassVar[dict[str, str | Used | Ignored]] = {}

    #: documents per request the target posts best in (QuickBooks Online: 30 a batch); the engine then hands it
    #: whole multiples of it across source pages. None: each page's documents as they come.
    post_batch_size: ClassVar[int | None] = None

    @abc.abstractmethod
    def find_or_create_customer(self, customer: Party) -> str:
        """Return the target id of the customer with this display name and currency, creating it if needed."""

    @abc.abstractmethod
    def find_or_create_vendor(self, vendor: Party) -> str:
        """Return the target id of the vendor with this display name, creating it if needed."""

    @abc.abstractmethod
    def find_or_create_item(self, sku: str, description: str | None = None) -> str:
        """Return the target id of the item for ``sku``, applying the connector's missing-item policy
        (fail the document, or create a non-inventory or inventory item)."""

    @abc.abstractmethod
    def post_documents(self, documents: list[Document]) -> list[PostResult]:
        """Post sales receipts, invoices, purchase orders, bills and refunds; one result per document, in order.
        Must be idempotent by ``Document.key``: posting a document twice yields ``exists``, never a duplicate."""

    @abc.abstractmethod
    def find_posted(self, document: Document) -> PostResult | None:
        """Look a document up in the target (by idempotency key, document number or memo) to resolve a post
        whose outcome is unknown after a crash; None when the target does not have it."""

    @abc.abstractmethod
    def read_inventory(self, skus: Iterable[str] | None = None) -> Iterator[InventoryLevel]:
        """Yield quantity on hand per inventory item, optionally restricted to ``skus``."""

    # corrections (sync.on_change: update | void_and_repost); a target without them refuses those settings
    supports_corrections: ClassVar[bool] = False

    #: the target settles credit memos as documents of their own (``CreditApplicationDocument``, posted after the
    #: credit memo): applied to the refunded order's invoice, the rest paid out. A target that settles them inside
    #: its own posting of the credit memo (QuickBooks Desktop's payout) leaves this False.
    applies_credit_memos: ClassVar[bool] = False

    def update_document(self, document: Document, target_id: str) -> PostResult:
        """Rewrite the posted document ``target_id`` in place so it says what ``document`` says (its number and
        identity stay). Idempotent: updating to the same content again changes nothing."""
        raise NotImplementedError(f"the {self.name} target cannot update a posted document")

    def void_document(self, document: Document, target_id: str) -> PostResult:
        """Void the posted ``target_id`` (an earlier version of ``document``; only its kind, key and number are
        used), and whatever the target keeps applied to it (an invoice's payments). Idempotent: voiding a void
        document again is ``exists``."""
        raise NotImplementedError(f"the {self.name} target cannot void a posted document")

    def repost_document(self, document: Document, target_id: str) -> PostResult:
        """Void ``target_id`` and post ``document`` (the new version, its number suffixed) in its place.
        Idempotent: a void already done is not redone, a new version the target already has is ``exists``."""
        voided = self.void_document(document, target_id)
        if voided.status == "failed":
            return voided
        found = self.find_posted(document)
        if found is not None and found.status in ("posted", "exists", "queued"):
            return found
        return self.post_documents([document])[0]

    def collect_results(self) -> list[PostResult]:
        """Outcomes of documents an asynchronous target returned as ``queued``, each reported exactly once;
        synchronous targets have none. The engine calls it at the start and end of every run."""
        return []

    def preflight(self, wanted: Iterable[Wanted]) -> Preflight:
        """Read-only: the company's facts, and whether each wanted name exists, would be created by a sync, or
        is missing. Must not create or change anything. ``connex check`` and the daemon's start call it."""
        raise NotImplementedError(f"the {self.name} target cannot be checked before a sync")

    def services(self) -> list[Service]:
        """Long-running endpoints the target needs served while Connex runs (the QuickBooks Web Connector's SOAP
        endpoint); ``connex daemon`` and ``connex qbwc`` start and stop them."""
        return []

    @classmethod
    def deployment_problems(cls, configs: list) -> list[tuple[str, Exception]]:
        """Problems only the whole deployment shows: ``configs`` are the ``connex.config.Config`` of every
        connection using this target; returns ``(connection name, ConfigError at file:line:col)`` for each (e.g.
        two connections claiming a user name that must be unique). A class method: validate builds no connector."""
        return []


class Service(Protocol):
    """Something a target needs served: ``start()`` returns it running, ``url`` says where, ``stop()`` ends it.

    A service may also offer ``shared_key`` (hashable) and ``absorb(other)``: services of several connections with
    the same key are one service, the first absorbing the others before it starts (``merge_services``), so a
    deployment serves e.g. one Web Connector endpoint for all its QuickBooks Desktop connections."""

    url: str

    def start(self) -> Service: ...

    def stop(self) -> None: ...


def merge_services(services: list) -> list:
    """One service per ``shared_key`` (the first of each key absorbs the rest, in order); services without a key
    stay as they are. Only the returned ones are to be started."""
    merged: list = []
    by_key: dict = {}
    for service in services:
        key = getattr(service, "shared_key", None)
        if key is None:
            merged.append(service)
        elif key in by_key:
            by_key[key].absorb(service)
        else:
            by_key[key] = service
            merged.append(service)
    return merged
