"""Helpers for the tax tests: Linnworks orders and purchase orders priced at a company's own rates, a sync of
the Linnworks simulator into a QuickBooks Online simulator of a given profile, and a raw HTTP caller."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import requests
from connex_linnworks.simulator.catalogue import PRODUCT_BY_SKU
from hypothesis import strategies as st

from connex.config import load_config
from connex.documents import Line
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions
from connex.transport import RetryPolicy

MILL = Decimal("0.001")
CENT = Decimal("0.01")
#: the standard, reduced and zero rates each profile's codes carry (the simulator's profiles.py)
RATES = {"uk": ("20", "5", "0"), "ca": ("13", "5", "0"), "au": ("10", "0", "0"), "us": ("7.25", "0", "0"),
         "us-manual": ("7.25", "0", "0")}
#: each profile's own country, as Linnworks spells an address's country
COUNTRY = {"uk": "United Kingdom", "ca": "Canada", "au": "Australia", "us": "United States",
           "us-manual": "United States"}


SKUS = ["MUG-BLU-01", "TEA-EARL-250", "CANDLE-SOY-L", "BOOK-CHAI"]
#: the lines an amounts property draws: (sku, quantity, unit price in cents, which of the company's rates, modulo
#: how many it has)
source_lines = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(1, 9), st.integers(1, 30_000), st.integers(0, 3)),
    min_size=1, max_size=5,
)
shipping_cents = st.sampled_from([0, 299, 480, 1250])
discount_cents = st.sampled_from([0, 0, 100, 555])


def source_amounts(specs, *, inclusive: bool, discount: Decimal, discount_rate: Decimal):
    """The lines, the tax and the total of a source order: ``specs`` are (sku, or None for shipping, quantity,
    unit price, rate %), the price gross when ``inclusive``, net otherwise; each line's net and tax keep three
    places at the source, as Linnworks' do, and are rounded to the cent on the line while the order's tax is
    rounded from their exact sum. ``discount`` is net and lowers its rate's base. Returns (lines, tax, total)."""
    lines, exact_tax = [], Decimal(0)
    for sku, qty, price, rate in specs:
        if inclusive:
            gross = price * qty
            net = (gross / (1 + rate / 100)).quantize(MILL, rounding=ROUND_HALF_UP)
            tax = gross - net
        else:
            net = price * qty
            tax = (net * rate / 100).quantize(MILL, rounding=ROUND_HALF_UP)
        exact_tax += tax
        lines.append(Line(kind="item" if sku else "shipping", sku=sku, item_name=None if sku else "Shipping",
                          quantity=Decimal(qty), unit_price=cents(net) / qty, amount=cents(net),
                          tax_amount=cents(tax), tax_rate=rate, description=sku or "Shipping"))
    if discount:
        exact_tax -= (discount * discount_rate / 100).quantize(MILL, rounding=ROUND_HALF_UP)
        lines.append(Line(kind="discount", item_name="Discount", amount=-discount, unit_price=-discount,
                          quantity=Decimal(1), tax_rate=discount_rate, description="Voucher"))
    total_tax = cents(exact_tax)
    return lines, total_tax, cents(sum((ln.amount for ln in lines), Decimal(0)) + total_tax)


def ship_to(order: dict, country: str) -> dict:
    """The order's delivery and billing addresses moved to ``country`` (whose tax the channel then charged)."""
    for key in ("Address", "BillingAddress"):
        order["CustomerInfo"][key]["Country"] = country
    return order


def locate(lw, country: str) -> None:
    """Every stock location of the simulated Linnworks account in ``country`` (where purchase orders arrive)."""
    for location in lw.account.locations:
        location["Country"] = country


def mill(value: Decimal) -> float:
    """Linnworks sends unrounded doubles, three places (linnworks-api.md §13)."""
    return float(Decimal(value).quantize(MILL, rounding=ROUND_HALF_UP))


def cents(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def price_order(order: dict, lines, *, postage_gross="0", postage_rate="0", inclusive=True, currency="GBP",
                discount="0", discount_rate="0", country: str | None = None) -> dict:
    """Rewrite an order's items and totals as Linnworks keeps them: ``lines`` are (sku, qty, unit price, rate %);
    the unit price is gross when ``inclusive`` (TaxCostInclusive), net otherwise. ``discount`` is net and lowers
    its rate's base. TotalCharge is what the buyer paid (cents); Tax and the nets keep three places."""
    template = order["Items"][0]
    items, subtotal, tax = [], Decimal(0), Decimal(0)
    for n, (sku, qty, unit, rate) in enumerate(lines):
        unit, rate = Decimal(unit), Decimal(rate)
        if inclusive:
            gross = unit * qty
            net = (gross / (1 + rate / 100)).quantize(MILL, rounding=ROUND_HALF_UP)
            line_tax = gross - net
        else:
            net = unit * qty
            line_tax = (net * rate / 100).quantize(MILL, rounding=ROUND_HALF_UP)
            gross = net + line_tax
        items.append({**template, "SKU": sku, "Title": PRODUCT_BY_SKU[sku][1], "ChannelSKU": sku,
                      "Quantity": qty, "PricePerUnit": float(unit), "Cost": mill(net), "CostIncTax": mill(gross),
                      "Tax": mill(line_tax), "TaxRate": float(rate), "TaxCostInclusive": inclusive,
                      "RowId": f"{order['OrderId'][:30]}-{n:05d}", "CompositeSubItems": []})
        subtotal += net
        tax += line_tax
    postage_gross, postage_rate = Decimal(postage_gross), Decimal(postage_rate)
    postage_net = (postage_gross / (1 + postage_rate / 100)).quantize(MILL, rounding=ROUND_HALF_UP)
    tax += postage_gross - postage_net
    discount, discount_rate = Decimal(discount), Decimal(discount_rate)
    tax -= (discount * discount_rate / 100).quantize(MILL, rounding=ROUND_HALF_UP)
    total = cents(subtotal + postage_net + tax - discount)
    order["Items"] = items
    if country:
        ship_to(order, country)
    order["ShippingInfo"].update(PostageCost=mill(postage_gross), PostageCostExTax=mill(postage_net))
    order["TotalsInfo"].update(Subtotal=mill(subtotal), PostageCost=mill(postage_gross),
                               PostageCostExTax=mill(postage_net), Tax=mill(tax), TotalCharge=float(total),
                               TotalDiscount=mill(discount), Currency=currency,
                               CountryTaxRate=float(postage_rate or discount_rate or Decimal(lines[0][3])))
    return order


def retax_purchase_order(po: dict, rate) -> dict:
    """A Linnworks PO (tax-exclusive costs) re-priced at ``rate`` %, header totals recomputed as Linnworks does."""
    rate = Decimal(rate)
    tax_paid = net = Decimal(0)
    for item in po["PurchaseOrderItem"]:
        cost = Decimal(str(item["Cost"]))
        item.update(TaxRate=float(rate), Tax=mill(cost * rate / 100))
        tax_paid += Decimal(str(item["Tax"]))
        net += cost
    extra = Decimal(0)
    for cost in po.get("AdditionalCosts") or []:
        sub = Decimal(str(cost["SubTotalLineCost"]))
        cost.update(TaxRate=float(rate), Tax=mill(sub * rate / 100), TotalLineCost=mill(sub + sub * rate / 100))
        extra += Decimal(str(cost["TotalLineCost"]))
    po["PurchaseOrderHeader"].update(taxPaid=mill(tax_paid), TotalCost=mill(net + tax_paid + extra))
    return po


def sync(folder: Path, lw, qbo, *, document="sales_receipt", flows=("orders", "purchases", "refunds"), rules=(),
         **target):
    """One sync of ``lw`` into ``qbo`` through the real engine and a real SQLite file; the reports by flow."""
    config = {
        "source": {"plugin": "linnworks", **lw.connector_config()},
        "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                   **qbo.connector_config(), **target},
        "sync": {"from_date": "2020-01-01", "purchases": True, "refunds": True, "document": document,
                 "customer_matching": "store_name_currency", "inventory": "inventory" in flows},
        "state": "connex.db",
        "rules": [str(r) for r in rules],
    }
    (folder / "connex.yaml").write_text(json.dumps(config), encoding="utf-8")
    plugins = get_plugins()
    engine = SyncEngine(load_config(folder / "connex.yaml", plugins), plugins, open_state(folder / "connex.db"))
    engine.source.client.http.retry = RetryPolicy(base_delay=0.001, max_delay=0.01, time_budget=5)
    try:
        return {r.flow: r for r in engine.run(list(flows), RunOptions())}
    finally:
        engine.close()
        engine.state.close()


def when(day: int) -> dt.datetime:
    return dt.datetime(2026, 1, day, 12, tzinfo=dt.UTC)


class Raw:
    """A bare HTTP caller holding a valid access token for a QuickBooks Online simulator."""

    def __init__(self, sim):
        config = sim.connector_config()
        answer = requests.post(
            config["token_url"],
            auth=(config["client_id"], config["client_secret"]),
            data={"grant_type": "refresh_token", "refresh_token": config["refresh_token"]},
            timeout=10,
        )
        self.token = answer.json()["access_token"]
        self.base = f"{sim.url}/v3/company/{sim.company.realm_id}"
        self.headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def post(self, path, body):
        return requests.post(f"{self.base}/{path}", json=body, params={"minorversion": "75"},
                             headers=self.headers, timeout=10)

    def get(self, path):
        return requests.get(f"{self.base}/{path}", params={"minorversion": "75"}, headers=self.headers, timeout=10)

    def query(self, statement) -> dict:
        answer = requests.post(f"{self.base}/query", data=statement.encode(), params={"minorversion": "75"},
                               headers={**self.headers, "Content-Type": "application/text"}, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()["QueryResponse"]

    def fault(self, path, body) -> dict:
        answer = self.post(path, body)
        assert answer.status_code == 400, answer.text
        return answer.json()["Fault"]["Error"][0]
