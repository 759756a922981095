"""The connector against the simulator over HTTP: everything read exactly once, faults along the way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import requests
from connex_linnworks.simulator import LinnworksSimulator
from connex_linnworks.simulator.orders_gen import processed_time

from connex.connectors import OrderQuery, WindowQuery
from connex.documents import StockLevel
from connex.errors import ConfigError, DocumentError, TransientError


def _ids(pages):
    return [record["OrderId"] for page in pages for record in page.records]


def test_reads_every_processed_order_once_with_429_500_drop_and_expiry_injected(make_source):
    with LinnworksSimulator(processed_orders=450, open_orders=5) as sim:
        source = make_source(sim, page_size=50)
        sim.inject("ProcessedOrders/SearchProcessedOrders", "429", times=2, after=1)
        sim.inject("Orders/GetOrdersById", "500", times=2, after=2)
        sim.inject("Orders/GetOrdersById", "drop", times=1, after=5)
        sim.inject("ProcessedOrders/SearchProcessedOrders", "expire", times=1, after=4)
        sim.inject("Orders/GetOrdersById", "expire", times=1, after=7)
        pages = list(source.read_orders(OrderQuery()))
        ids = _ids(pages)
        expected = [oid for _, _, oid in sim.account.processed_index]
        assert ids == expected  # all, once, oldest first
        stats = requests.get(f"{sim.url}/_sim/stats", timeout=5).json()
        assert stats["fault:429"] == 2 and stats["fault:500"] == 2 and stats["fault:drop"] == 1
        assert stats["fault:expire"] == 2 and source.client.authorisations == 3  # re-authorised on each 401
        assert source.client.http.retries >= 5
        assert max(len(p.records) for p in pages) <= 50


def test_processed_records_are_normalised(sim, make_source):
    orders = [o for page in make_source(sim).read_orders(OrderQuery()) for o in page.records]
    first = orders[0]
    assert isinstance(first["TotalsInfo"]["Subtotal"], Decimal)
    assert all(isinstance(i["PricePerUnit"], Decimal) for o in orders for i in o["Items"])
    assert first["ProcessedDateTime"] == processed_time(0)
    assert first["ProcessedDateTime"].tzinfo is not None
    assert {o["GeneralInfo"]["Status"] for o in orders} <= {"UNPAID", "PAID", "RETURN", "PENDING", "RESEND"}
    assert {"UNPAID", "PAID"} <= {o["GeneralInfo"]["Status"] for o in orders}
    assert any(o["PaidDateTime"] is None for o in orders)  # the 0001-01-01 sentinel of unpaid orders
    assert any(o["GeneralInfo"]["DespatchByDate"] is None for o in orders)
    # money kept exact, with more places than the currency has
    assert any(o["TotalsInfo"]["Subtotal"].as_tuple().exponent < -2 for o in orders)
    assert {o["TotalsInfo"]["Currency"] for o in orders} == {"USD", "GBP", "EUR"}
    names = {o["CustomerInfo"]["Address"]["FullName"] for o in orders}
    assert "山田 太郎" in names and "ATTN: Accounts Payable" in names and max(map(len, names)) > 41
    bundles = [i for o in orders for i in o["Items"] if i["SKU"] == "GIFT-SET-TEA"]
    assert bundles and all(len(b["CompositeSubItems"]) == 2 for b in bundles)
    # children live under the parent only, never as separate lines
    for order in orders:
        rows = [i["RowId"] for i in order["Items"]]
        children = [c["RowId"] for i in order["Items"] for c in i["CompositeSubItems"]]
        assert not set(rows) & set(children)


def test_resume_from_every_checkpoint_neither_skips_nor_repeats(make_source):
    """Orders come three to a timestamp, so with page size 20 ties straddle page boundaries."""
    with LinnworksSimulator(processed_orders=100, open_orders=0, refunds=False) as sim:
        source = make_source(sim, page_size=20)
        pages = list(source.read_orders(OrderQuery()))
        everything = _ids(pages)
        assert len(everything) == 100 == len(set(everything))
        for n, page in enumerate(pages):
            resumed = _ids(source.read_orders(OrderQuery(cursor=page.checkpoint)))
            assert _ids(pages[: n + 1]) + resumed == everything, n


def test_orders_processed_later_at_an_already_seen_timestamp_are_picked_up(make_source):
    with LinnworksSimulator(processed_orders=30, open_orders=0, refunds=False) as sim:
        source = make_source(sim, page_size=20)
        pages = list(source.read_orders(OrderQuery()))
        last_time = processed_time(29)
        late = sim.add_processed_order(processed_at=last_time)  # same timestamp as the cursor's
        newer = sim.add_processed_order(processed_at=last_time + dt.timedelta(minutes=1))
        assert _ids(source.read_orders(OrderQuery(cursor=pages[-1].checkpoint))) == [
            late["OrderId"],
            newer["OrderId"],
        ]


def test_status_filter_and_window(sim, make_source):
    source = make_source(sim)
    unpaid = [o for p in source.read_orders(OrderQuery(statuses=("UNPAID",))) for o in p.records]
    assert unpaid and {o["GeneralInfo"]["Status"] for o in unpaid} == {"UNPAID"}
    assert len(unpaid) == sum(1 for i in range(120) if i % 23 == 0)
    window = OrderQuery(from_date=processed_time(30), to_date=processed_time(59))
    inside = [o["NumOrderId"] for p in source.read_orders(window) for o in p.records]
    assert inside == list(range(100_030, 100_060))
    with pytest.raises(ConfigError, match="BOGUS"):
        list(source.read_orders(OrderQuery(statuses=("BOGUS",))))


def test_open_orders_every_one_once_and_by_status(sim, make_source):
    source = make_source(sim, page_size=20)
    sim.inject("OpenOrders/GetOpenOrdersDetails", "500", times=1)
    sim.inject("Orders/GetOpenOrders", "429", times=1, after=1)
    ids = _ids(source.read_orders(OrderQuery(mode="open")))
    assert sorted(ids) == sorted(sim.account.open_orders) and len(ids) == len(set(ids)) == 30
    pending = [
        o for p in source.read_orders(OrderQuery(mode="open", statuses=("PENDING",))) for o in p.records
    ]
    assert pending and {o["GeneralInfo"]["Status"] for o in pending} == {"PENDING"}
    assert all(o["Processed"] is False and o["ProcessedDateTime"] is None for o in pending)


def test_an_open_order_processed_mid_read_is_not_skipped_by_the_others(make_source):
    with LinnworksSimulator(processed_orders=0, open_orders=45, refunds=False) as sim:
        source = make_source(sim, page_size=20)
        reader = source.read_orders(OrderQuery(mode="open"))
        first = next(reader)
        sim.process_order(first.records[0]["OrderId"], processed_at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
        rest = _ids(reader)
        assert sorted(_ids([first]) + rest) == sorted([*sim.account.open_orders, first.records[0]["OrderId"]])


def test_explicit_order_ids_by_guid_and_number(sim, make_source):
    source = make_source(sim)
    guid = sim.account.processed_index[7][2]
    open_id = next(iter(sim.account.open_orders))
    [page] = list(source.read_orders(OrderQuery(order_ids=(guid, "100011", open_id))))
    assert [o["NumOrderId"] for o in page.records] == [
        100_007,
        100_011,
        sim.account.open_orders[open_id]["NumOrderId"],
    ]
    with pytest.raises(DocumentError, match="999999"):
        list(source.read_orders(OrderQuery(order_ids=("999999",))))


def test_purchase_orders_with_supplier_and_location(sim, make_source):
    source = make_source(sim, page_size=20)
    sim.inject("PurchaseOrder/Get_PurchaseOrder", "500", times=1, after=3)
    sim.inject("PurchaseOrder/Get_PurchaseOrder", "expire", times=1, after=6)
    pos = [r for p in source.read_purchase_orders(WindowQuery()) for r in p.records]
    assert len(pos) == len({p["PurchaseOrderHeader"]["pkPurchaseID"] for p in pos}) == 12
    assert {p["PurchaseOrderHeader"]["Status"] for p in pos} == {"PENDING", "OPEN", "PARTIAL", "DELIVERED"}
    assert {p["LocationName"] for p in pos} == {"Default", "Enchantress", None}
    assert any(p["Supplier"] is None for p in pos)
    assert any((p["Supplier"] or {}).get("SupplierName") == "深圳纺织品有限公司" for p in pos)
    header = pos[0]["PurchaseOrderHeader"]
    assert isinstance(header["taxPaid"], Decimal) and isinstance(header["DateOfPurchase"], dt.datetime)
    delivered = [p for p in pos if p["PurchaseOrderHeader"]["Status"] == "DELIVERED"]
    assert all(p["DeliveredRecords"] for p in delivered)
    # Status arriving as an int is normalised as well
    from connex_linnworks.normalise import normalise_purchase_order

    assert (
        normalise_purchase_order({"PurchaseOrderHeader": {"Status": 2}})["PurchaseOrderHeader"]["Status"]
        == "PARTIAL"
    )
    # a window on purchase date, resumable by checkpoint
    pages = list(source.read_purchase_orders(WindowQuery()))
    assert [
        r for p in source.read_purchase_orders(WindowQuery(cursor=pages[0].checkpoint)) for r in p.records
    ] == []


def test_suppliers_and_locations(sim, make_source):
    source = make_source(sim)
    sim.inject("Inventory/GetSuppliers", "429", times=1)
    suppliers = source.read_suppliers()
    assert len(suppliers) == 5 and any(s["ContactName"].startswith("ATTN") for s in suppliers)
    assert [loc["LocationName"] for loc in source.read_stock_locations()] == ["Default", "Enchantress"]


def test_only_actioned_refunds_are_read(sim, make_source):
    source = make_source(sim)
    refunds = [r for p in source.read_refunds(WindowQuery()) for r in p.records]
    actioned = {h["RefundHeaderId"] for h in sim.account.refund_headers.values() if h["Actioned"]}
    assert {r["RefundHeaderId"] for r in refunds} == actioned and len(refunds) == len(actioned) == 3
    for refund in refunds:
        assert refund["Order"]["OrderId"] == refund["OrderId"]
        assert refund["Amount"] == sum(line["Amount"] for line in refund["Lines"])
        assert isinstance(refund["ActionDate"], dt.datetime)
    assert any(line["IsShipping"] for r in refunds for line in r["Lines"])

    # booking a refund syncs nothing; actioning it does, exactly once after the checkpoint
    pages = list(source.read_refunds(WindowQuery()))
    checkpoint = pages[-1].checkpoint
    order_id = sim.account.processed_index[40][2]
    booked = sim.book_refund(order_id, lines=[(sim.order(order_id)["Items"][0]["SKU"], 1)])
    assert [r for p in source.read_refunds(WindowQuery(cursor=checkpoint)) for r in p.records] == []
    sim.action_refund(booked["RefundHeaderId"], at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    new = [r for p in source.read_refunds(WindowQuery(cursor=checkpoint)) for r in p.records]
    assert [r["RefundHeaderId"] for r in new] == [booked["RefundHeaderId"]]
    assert new[0]["Order"]["NumOrderId"] == 100_040


def test_refunds_across_several_pages(make_source):
    with LinnworksSimulator(processed_orders=60, open_orders=0, refunds=False) as sim:
        headers = []
        for i in range(45):
            order_id = sim.account.processed_index[i][2]
            h = sim.book_refund(order_id, lines=None, shipping=True)
            if i % 3:
                sim.action_refund(
                    h["RefundHeaderId"],
                    at=dt.datetime(2025, 5, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i // 4),
                )
            headers.append(h)
        refunds = [r for p in make_source(sim).read_refunds(WindowQuery()) for r in p.records]
        assert sorted(r["RefundHeaderId"] for r in refunds) == sorted(
            h["RefundHeaderId"] for h in headers if h["Actioned"]
        )


def test_stock_levels_are_set_absolutely_by_location_name(sim, make_source):
    source = make_source(sim)
    sim.inject("Stock/SetStockLevel", "500", times=1)
    results = source.write_stock_levels(
        [
            StockLevel("MUG-BLU-01", 42),
            StockLevel("TEA-EARL-250", 7, "enchantress"),
            StockLevel("NO-SUCH-SKU", 3),
            StockLevel("SOCKS-3PK", 1, "Atlantis"),
        ]
    )
    assert [r.key for r in results] == [
        "stock:MUG-BLU-01@Default",
        "stock:TEA-EARL-250@enchantress",
        "stock:NO-SUCH-SKU@Default",
        "stock:SOCKS-3PK@Atlantis",
    ]
    assert [r.status for r in results] == ["posted", "posted", "failed", "failed"]
    assert "NO-SUCH-SKU" in results[2].error and "Atlantis" in results[3].error
    assert (
        sim.stock_level("MUG-BLU-01", "Default") == 42 and sim.stock_level("TEA-EARL-250", "Enchantress") == 7
    )
    source.write_stock_levels([StockLevel("MUG-BLU-01", 42)])
    assert sim.stock_level("MUG-BLU-01", "Default") == 42  # absolute: writing twice does not add
    assert source.calls["Inventory/GetStockLocations"] == 1  # resolved once per run


def test_bad_credentials_are_a_config_error_naming_the_endpoint(sim, retry):
    from connex_linnworks.connector import LinnworksSource

    config = {**sim.connector_config(), "application_secret": "wrong"}
    with pytest.raises(ConfigError, match="AuthorizeByApplication") as err:
        LinnworksSource(config, retry=retry).read_suppliers()
    assert "401" in str(err.value)


def test_a_400_names_the_endpoint_and_the_message(sim, make_source):
    source = make_source(sim)
    with pytest.raises(ConfigError, match=r"PurchaseOrder/Get_PurchaseOrder.*HTTP 400.*not found"):
        source.client.call("PurchaseOrder/Get_PurchaseOrder", form={"pkPurchaseId": "nope"})


def test_quota_message_on_a_non_429_status_is_a_transient_error(sim, make_source):
    """Linnworks has sent its quota message with other statuses; it must never read as a bad request."""
    source = make_source(sim)
    response = requests.Response()
    response.status_code = 400
    response._content = b'{"Message":"API calls quota exceeded! Maximum admitted 150 per Minute."}'
    with pytest.raises(TransientError, match="Orders/GetOrdersById.*rate limited") as err:
        source.client._result("Orders/GetOrdersById", response)
    assert err.value.retry_after == 60


def test_persistent_5xx_gives_up_with_a_transient_error(sim, make_source):
    source = make_source(sim)
    sim.inject("Inventory/GetSuppliers", "503", times=50)
    with pytest.raises(TransientError, match="Inventory/GetSuppliers"):
        source.read_suppliers()


def test_session_is_reused_from_state_and_renewed_when_stale(sim, retry, memory_state):
    from connex_linnworks.connector import LinnworksSource

    state = memory_state
    LinnworksSource(sim.connector_config(), state=state, retry=retry).read_suppliers()
    second = LinnworksSource(sim.connector_config(), state=state, retry=retry)
    second.read_suppliers()
    assert second.client.authorisations == 0 and sim.sessions_issued == 1
    sim.clock.advance(21 * 60)  # idle past the 20-minute expiry
    second.read_stock_locations()
    assert second.client.authorisations == 1 and sim.sessions_issued == 2
    # another installation never picks up this one's saved session
    other = LinnworksSource({**sim.connector_config(), "token": "another-install"}, state=state, retry=retry)
    assert other.client.session_token is None


def test_client_throttles_below_the_simulated_limits(retry):
    """On a 60x simulator clock (a minute per real second) with the client's limiter on the same clock, 200
    calls to a 150/min endpoint finish without a single 429: the client waits instead."""
    import time

    from connex_linnworks.connector import LinnworksSource

    from connex.simulation.server import SimClock
    from connex.transport import RateLimiter

    scale = 60.0
    with LinnworksSimulator(processed_orders=0, open_orders=0, refunds=False, clock=SimClock(scale)) as sim:
        limiter = RateLimiter(clock=lambda: time.monotonic() * scale, sleep=lambda s: time.sleep(s / scale))
        source = LinnworksSource(sim.connector_config(), retry=retry, limiter=limiter)
        started = time.monotonic()
        for _ in range(200):
            source.read_suppliers()
        elapsed = time.monotonic() - started
        stats = requests.get(f"{sim.url}/_sim/stats", timeout=5).json()
        assert stats.get("rate_limited", 0) == 0 and stats["Inventory/GetSuppliers"] == 200
        assert elapsed > 0.4  # 135 calls per simulated minute, so the last 65 had to wait for the window
        source.close()


def test_simulator_enforces_the_limit_with_the_real_429_body(sim):
    server = sim.url
    token = requests.post(
        f"{server}/api/Auth/AuthorizeByApplication",
        json=sim.connector_config()
        and {
            "ApplicationId": sim.application_id,
            "ApplicationSecret": sim.application_secret,
            "Token": sim.install_token,
        },
        timeout=5,
    ).json()["Token"]
    with requests.Session() as http:
        codes = [
            http.get(f"{server}/api/Inventory/GetStockLocations", headers={"Authorization": token}, timeout=5)
            for _ in range(152)
        ]
    assert [r.status_code for r in codes[:150]] == [200] * 150
    assert codes[150].status_code == 429 and int(codes[150].headers["Retry-After"]) >= 1
    assert codes[150].json() == {"Message": "API calls quota exceeded! Maximum admitted 150 per Minute."}


def test_everything_exactly_once_with_faults_on_every_endpoint(make_source):
    """The issue's "done when": every kind of record read once, stock set, with 429, 500, dropped connections
    and expired sessions landing on whichever calls happen to come next."""
    with LinnworksSimulator(processed_orders=260, open_orders=45, purchase_orders=15) as sim:
        source = make_source(sim, page_size=40)
        # one expiry at a time: a fresh session expiring again at once is not something Linnworks does, and
        # the connector deliberately re-authorises only once per call
        schedule = [
            ("429", 4, 2),
            ("500", 3, 6),
            ("expire", 1, 9),
            ("drop", 2, 13),
            ("expire", 1, 17),
            ("503", 2, 21),
            ("expire", 1, 30),
            ("expire", 1, 45),
        ]
        for fault, times, after in schedule:
            sim.inject("*", fault, times=times, after=after)
        processed = _ids(source.read_orders(OrderQuery()))
        opened = _ids(source.read_orders(OrderQuery(mode="open")))
        pos = [
            r["PurchaseOrderHeader"]["pkPurchaseID"]
            for p in source.read_purchase_orders(WindowQuery())
            for r in p.records
        ]
        refunds = [r["RefundHeaderId"] for p in source.read_refunds(WindowQuery()) for r in p.records]
        suppliers = source.read_suppliers()
        locations = source.read_stock_locations()
        results = source.write_stock_levels(
            [StockLevel("SOCKS-3PK", 11), StockLevel("BOOK-CHAI", 12, "Enchantress")]
        )

        assert processed == [oid for _, _, oid in sim.account.processed_index]
        assert sorted(opened) == sorted(sim.account.open_orders) and len(opened) == len(set(opened))
        assert sorted(pos) == sorted(sim.account.purchase_orders) and len(pos) == len(set(pos))
        assert sorted(refunds) == sorted(
            h["RefundHeaderId"] for h in sim.account.refund_headers.values() if h["Actioned"]
        )
        assert len(suppliers) == 5 and len(locations) == 2
        assert [r.status for r in results] == ["posted", "posted"]
        assert (
            sim.stock_level("SOCKS-3PK", "Default") == 11
            and sim.stock_level("BOOK-CHAI", "Enchantress") == 12
        )
        stats = requests.get(f"{sim.url}/_sim/stats", timeout=5).json()
        assert stats["fault:429"] == 4 and stats["fault:500"] == 3 and stats["fault:drop"] == 2
        assert stats["fault:expire"] == 4 and stats["fault:503"] == 2
        assert source.client.authorisations == 5  # the first session, then one per expiry


def test_a_wrong_auth_url_is_a_config_error(sim, retry):
    from connex_linnworks.connector import LinnworksSource

    config = {**sim.connector_config(), "auth_url": f"{sim.url}/not-linnworks"}
    with pytest.raises(ConfigError, match=r"AuthorizeByApplication.*HTTP 404.*auth_url"):
        LinnworksSource(config, retry=retry).read_suppliers()


def test_a_refund_actioned_mid_read_causes_no_duplicate(make_source):
    with LinnworksSimulator(processed_orders=60, open_orders=0, refunds=False) as sim:
        when = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
        for i in range(45):
            header = sim.book_refund(sim.account.processed_index[i][2], lines=None, shipping=True)
            sim.action_refund(header["RefundHeaderId"], at=when + dt.timedelta(minutes=i))
        source = make_source(sim, page_size=20)
        pages = source.read_refunds(WindowQuery())
        first = next(pages)
        late = sim.book_refund(sim.account.processed_index[50][2], lines=None, shipping=True)
        sim.action_refund(late["RefundHeaderId"], at=when + dt.timedelta(days=1))  # lists first, shifts pages
        rest = list(pages)
        ids = [r["RefundHeaderId"] for p in [first, *rest] for r in p.records]
        assert sorted(ids) == list(range(1, 46))
        # the next run picks the late one up from the checkpoint
        again = [
            r["RefundHeaderId"]
            for p in source.read_refunds(WindowQuery(cursor=rest[-1].checkpoint))
            for r in p.records
        ]
        assert again == [late["RefundHeaderId"]]


def test_calls_go_to_the_session_server_not_the_auth_url(sim, make_source):
    """Auth at one host name, data calls at the ``Server`` the session names (here the same socket under
    another name), with the raw token and no Bearer prefix."""
    port = sim.url.rsplit(":", 1)[1]
    source = make_source(sim, auth_url=f"http://localhost:{port}")
    sent = []
    source.client.http.session.hooks["response"].append(
        lambda r, *a, **k: sent.append((r.request.url, r.request.headers.get("Authorization")))
    )
    source.read_stock_locations()
    assert sent[0][0] == f"http://localhost:{port}/api/Auth/AuthorizeByApplication" and sent[0][1] is None
    assert sent[1][0] == f"{sim.url}/api/Inventory/GetStockLocations"
    assert sent[1][1] == source.client.session_token and not sent[1][1].startswith("Bearer")
