"""The simulated Linnworks account: orders, purchase orders, suppliers, locations, refunds and stock.

Processed orders are generated on demand from ``(seed, index)``; only a sorted index of (processed time, order
number, id) is kept, so a 20,000-order account costs a few megabytes. Orders, POs and refunds that a test adds
are stored whole next to the generated ones and show up in every call that would list them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from decimal import Decimal

from connex_linnworks.simulator.catalogue import (
    ENCHANTRESS_ID,
    LOCATIONS,
    PRODUCTS,
    SUPPLIER_PRODUCTS,
    SUPPLIERS,
    location_record,
    supplier_record,
)
from connex_linnworks.simulator.orders_gen import (
    build_order,
    iso,
    open_status,
    open_time,
    processed_status,
    processed_time,
    stable_uuid,
)
from connex_linnworks.simulator.purchase_orders import PO_STATUSES, build_purchase_order
from connex_linnworks.simulator.refunds import mark_actioned, post_sale_status, refund_header
from connex_linnworks.simulator.stock_levels import stock_item_level
from connex_linnworks.wire import EMPTY_GUID

PRODUCT_INDEX = {p[0].lower(): p for p in PRODUCTS}

PO_BASE = dt.datetime(2025, 2, 3, 10, 0, tzinfo=dt.UTC)


class Account:
    def __init__(
        self,
        *,
        seed: int = 7,
        processed_orders: int = 120,
        open_orders: int = 30,
        purchase_orders: int = 12,
        refunds: bool = True,
    ):
        self.seed = seed
        self.lock = threading.RLock()
        self.processed_count = processed_orders
        # (processed time, NumOrderId, OrderId) sorted; generated orders are index-addressed via _generated
        self.processed_index: list[tuple[dt.datetime, int, str]] = []
        self._generated: dict[str, int] = {}
        self._stored: dict[str, dict] = {}  # orders added by tests (open or processed), full details
        for i in range(processed_orders):
            order_id = stable_uuid(seed, "processed", i)
            self._generated[order_id] = i
            self.processed_index.append((processed_time(i), 100_000 + i, order_id))
        self.processed_index.sort()
        self.open_orders: dict[str, dict] = {}
        for j in range(open_orders):
            order = build_order(
                seed,
                "open",
                j,
                status=open_status(j),
                received=open_time(j),
                processed=None,
                num_order_id=200_000 + j,
            )
            self.open_orders[order["OrderId"]] = order
        self._next_number = 300_000
        self.suppliers = [supplier_record(s) for s in SUPPLIERS]
        self.locations = [location_record(loc) for loc in LOCATIONS]
        self.purchase_orders: dict[str, dict] = {}
        for k in range(purchase_orders):
            self._seed_po(k)
        self.stock: dict[tuple[str, str], int] = {
            (sku, loc[0]): 10 + 3 * n for n, (sku, *_rest) in enumerate(PRODUCTS) for loc in LOCATIONS
        }
        self.extra_products: dict[str, tuple] = {}  # SKU (lower case) -> product tuple, from add_stock_items
        self.stock_audit = 0  # levels set through the API
        self.refund_headers: dict[int, dict] = {}
        self.refunds_by_order: dict[str, list[int]] = {}  # order id (lower case) -> its refund header ids
        self._next_refund = 1
        if refunds and processed_orders >= 20:
            self._seed_refunds()

    # --- orders --------------------------------------------------------------------------------------------
    def order(self, order_id: str) -> dict | None:
        """Full details of any order, open or processed."""
        key = str(order_id).lower()
        with self.lock:
            if key in self._stored:
                return self._stored[key]
            if key in self.open_orders:
                return self.open_orders[key]
            index = self._generated.get(key)
        if index is None:
            return None
        return build_order(
            self.seed,
            "processed",
            index,
            status=processed_status(index),
            received=processed_time(index) - dt.timedelta(hours=5 + index % 7),
            processed=processed_time(index),
            num_order_id=100_000 + index,
        )

    def edit_order(self, order_id: str) -> dict | None:
        """An order to change as a Linnworks user would (mark it paid, cancel it, edit a line): a generated
        order is kept from now on, so the change sticks for every later read."""
        key = str(order_id).lower()
        with self.lock:
            order = self.order(order_id)
            if order is not None and key not in self.open_orders:
                self._stored[key] = order
            return order

    def delete_order(self, order_id: str) -> None:
        """A Linnworks user deletes the order: no read finds it any more."""
        key = str(order_id).lower()
        with self.lock:
            self._stored.pop(key, None)
            self.open_orders.pop(key, None)
            self._generated.pop(key, None)
            self.processed_index = [row for row in self.processed_index if str(row[2]).lower() != key]

    def order_by_number(self, number: int) -> dict | None:
        with self.lock:
            if 100_000 <= number < 100_000 + self.processed_count:
                return self.order(stable_uuid(self.seed, "processed", number - 100_000))
            for order in [*self.open_orders.values(), *self._stored.values()]:
                if order["NumOrderId"] == number:
                    return order
        return None

    def add_processed_order(
        self,
        *,
        processed_at: dt.datetime,
        status: int = 1,
        received_at: dt.datetime | None = None,
        template: int = 0,
    ) -> dict:
        """Add a processed order (built like generated order ``template``) processed at ``processed_at``."""
        with self.lock:
            number = self._next_number
            self._next_number += 1
            order = build_order(
                self.seed,
                "added",
                number,
                status=status,
                received=received_at or processed_at - dt.timedelta(hours=3),
                processed=processed_at,
                num_order_id=number,
            )
            self._stored[order["OrderId"]] = order
            bisect.insort(self.processed_index, (processed_at, number, order["OrderId"]))
            return order

    def add_open_order(self, *, received_at: dt.datetime, status: int = 1) -> dict:
        with self.lock:
            number = self._next_number
            self._next_number += 1
            order = build_order(
                self.seed,
                "added-open",
                number,
                status=status,
                received=received_at,
                processed=None,
                num_order_id=number,
            )
            self.open_orders[order["OrderId"]] = order
            return order

    def process_order(self, order_id: str, *, processed_at: dt.datetime) -> dict:
        """Move an open order to processed, as despatching it in Linnworks would."""
        with self.lock:
            order = self.open_orders.pop(order_id.lower())
            order["Processed"] = True
            order["ProcessedDateTime"] = iso(processed_at)
            self._stored[order["OrderId"]] = order
            bisect.insort(self.processed_index, (processed_at, order["NumOrderId"], order["OrderId"]))
            return order

    # --- suppliers, locations ------------------------------------------------------------------------------

    def location(self, location_id: str) -> dict | None:
        for loc in self.locations:
            if loc["StockLocationId"].lower() == str(location_id).lower():
                return loc
        return None

    # --- purchase orders -----------------------------------------------------------------------------------
    def _seed_po(self, k: int) -> dict:
        supplier = SUPPLIERS[k % len(SUPPLIERS)]
        location = (EMPTY_GUID, ENCHANTRESS_ID)[k % 2]
        supplier_id = supplier[0]
        if k % 11 == 9:
            supplier_id = EMPTY_GUID  # the default supplier: not in GetSuppliers
        if k % 11 == 10:
            location = stable_uuid("retired-location", k)  # a location since deleted: no name
        return self.add_purchase_order(
            status=PO_STATUSES[k % 4],
            supplier_id=supplier_id,
            location_id=location,
            purchased_at=PO_BASE + dt.timedelta(days=3 * k, hours=k % 5),
            currency=supplier[10],
            lines=[(sku, 12 * (n + 1) + k) for n, sku in enumerate(SUPPLIER_PRODUCTS[supplier[0]])],
            shipping=Decimal("25.00") if k % 3 == 2 else None,
            index=k,
        )

    def add_purchase_order(
        self,
        *,
        status: str,
        supplier_id: str,
        location_id: str,
        purchased_at: dt.datetime,
        currency: str = "GBP",
        lines: list[tuple[str, int]],
        shipping: Decimal | None = None,
        index: int | None = None,
    ) -> dict:
        """Add a PO in ``status`` with ``lines`` of (SKU, quantity); tax-exclusive costs at 20%."""
        with self.lock:
            index = len(self.purchase_orders) if index is None else index
            po_id = stable_uuid(self.seed, "po", index, len(self.purchase_orders))
            po = build_purchase_order(
                po_id,
                index=index,
                record_base=len(self.purchase_orders),
                status=status,
                supplier_id=supplier_id,
                location_id=location_id,
                purchased_at=purchased_at,
                currency=currency,
                lines=lines,
                shipping=shipping,
            )
            self.purchase_orders[po_id] = po
            return po

    # --- refunds -------------------------------------------------------------------------------------------
    def _seed_refunds(self) -> None:
        base = PO_BASE + dt.timedelta(days=60)
        for n, (index, actioned) in enumerate([(3, True), (4, False), (8, True), (9, False), (13, True)]):
            order = self.order(stable_uuid(self.seed, "processed", index))
            header = self.book_refund(
                order["OrderId"],
                lines=[(order["Items"][0]["SKU"], 1)],
                shipping=n == 2,
                reason="DAMAGED",
                booked_at=base + dt.timedelta(hours=n),
            )
            if actioned:
                self.action_refund(header["RefundHeaderId"], at=base + dt.timedelta(days=1, hours=n))
        failed = self.book_refund(
            stable_uuid(self.seed, "processed", 17),
            lines=None,
            shipping=True,
            reason="CHANNEL_ERROR",
            booked_at=base,
        )
        with (
            self.lock
        ):  # refused by the channel, then acknowledged: listed with the processed ones, never actioned
            failed["Status"] = post_sale_status("ERROR_ACKED")
            failed["LastActionDate"] = iso(base + dt.timedelta(days=2))

    def book_refund(
        self,
        order_id: str,
        *,
        lines: list[tuple[str, int]] | None,
        shipping: bool = False,
        reason: str = "OTHER",
        booked_at: dt.datetime | None = None,
    ) -> dict:
        """Book (not action) a refund of ``lines`` (SKU, quantity) and optionally the order's postage."""
        order = self.order(order_id)
        if order is None:
            raise KeyError(f"no order {order_id}")
        booked_at = booked_at or dt.datetime.now(dt.UTC)
        with self.lock:
            header_id = self._next_refund
            self._next_refund += 1
            header = refund_header(
                header_id, order, lines=lines, shipping=shipping, reason=reason, booked_at=booked_at
            )
            self.refund_headers[header_id] = header
            self.refunds_by_order.setdefault(str(order["OrderId"]).lower(), []).append(header_id)
            return header

    def add_refund_history(self, count: int, *, first_action: dt.datetime, every: dt.timedelta) -> None:
        """``count`` actioned refunds, one line each, of the generated processed orders in turn, actioned
        ``every`` apart from ``first_action`` (a long refund history for benchmarks and tests)."""
        for n in range(count):
            order = self.order(stable_uuid(self.seed, "processed", n % self.processed_count))
            at = first_action + n * every
            header = self.book_refund(order["OrderId"], lines=[(order["Items"][0]["SKU"], 1)], reason="DAMAGED",
                                      booked_at=at - dt.timedelta(hours=1))
            self.action_refund(header["RefundHeaderId"], at=at)

    def action_refund(self, header_id: int, *, at: dt.datetime | None = None) -> dict:
        """Action a booked refund: it leaves Actionable Refunds for the history, with its action date."""
        at = at or dt.datetime.now(dt.UTC)
        with self.lock:
            header = self.refund_headers[header_id]
            mark_actioned(header, at)
            return header

    # --- stock ---------------------------------------------------------------------------------------------
    def add_stock_items(self, count: int, *, prefix: str = "ITEM", level: int = 0) -> list[str]:
        """``count`` more stock items (plain, non-composite), at ``level`` in every location: a catalogue of
        thousands of SKUs for benchmarks and tests. Returns their SKUs."""
        skus = []
        with self.lock:
            for n in range(count):
                sku = f"{prefix}-{n:05d}"
                self.extra_products[sku.lower()] = (sku, f"Stock item {n}", Decimal("9.99"), None, Decimal("2.50"))
                for loc in self.locations:
                    self.stock[(sku, loc["StockLocationId"])] = level
                skus.append(sku)
        return skus

    def all_products(self) -> list[tuple]:
        return [*PRODUCTS, *self.extra_products.values()]

    def product(self, sku: str) -> tuple | None:
        return PRODUCT_INDEX.get(sku.lower()) or self.extra_products.get(sku.lower())

    def stock_of(self, sku: str, location_id: str) -> int | None:
        product = self.product(sku)
        location = self.location(location_id)
        if product is None or location is None:
            return None
        with self.lock:
            return self.stock.get((product[0], location["StockLocationId"]), 0)

    def set_stock(self, sku: str, location_id: str, level: int) -> dict | None:
        product = self.product(sku)
        location = self.location(location_id)
        if product is None or location is None:
            return None
        with self.lock:
            self.stock[(product[0], location["StockLocationId"])] = level
            self.stock_audit += 1  # each level set is a row in Linnworks' stock audit trail
        return stock_item_level(product, location, level)
