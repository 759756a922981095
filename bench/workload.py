"""Realistic Linnworks orders for benchmarks, built by the simulator's own generator and normalised exactly as
the connector delivers them (JSON parsed with Decimal money, dates, enum names, composite parents)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from connex_linnworks.normalise import normalise_order
from connex_linnworks.simulator.orders_gen import build_order, processed_status, processed_time, public


def realistic_orders(count: int, seed: int = 7) -> list[dict]:
    orders = []
    for index in range(count):
        processed = processed_time(index)
        raw = build_order(seed, "processed", index, status=processed_status(index),
                          received=processed - dt.timedelta(hours=5), processed=processed,
                          num_order_id=200000 + index)
        wire = json.loads(json.dumps(public(raw), default=str), parse_float=Decimal)
        orders.append(normalise_order(wire))
    return orders
