"""Declarative overhead: the default rules and mappings against a hand-written function that builds exactly the
same documents (tests/bench/test_handwritten.py proves it), on the same realistic orders, side by side.

    .venv/bin/python bench/mapping_overhead.py [--orders 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from handwritten import map_order  # noqa: E402
from workload import realistic_orders  # noqa: E402

from connex.paths import default_rules_dir  # noqa: E402
from connex.rules.engine import EngineSettings, RulesEngine  # noqa: E402
from connex.rules.loader import load_rules  # noqa: E402


def measure(orders: int, rounds: int) -> dict:
    records = realistic_orders(orders)
    started = time.perf_counter()
    engine = RulesEngine(load_rules([default_rules_dir()]), EngineSettings(customer_matching="store_name_currency"))
    load_seconds = time.perf_counter() - started
    for record in records[:200]:  # warm both paths (country look-ups, caches) before timing
        engine.map("orders", record)
        map_order(record)
    best_engine = best_hand = float("inf")
    for _ in range(rounds):  # interleaved rounds: both paths see the same machine noise
        started = time.perf_counter()
        for record in records:
            engine.map("orders", record)
        best_engine = min(best_engine, time.perf_counter() - started)
        started = time.perf_counter()
        for record in records:
            map_order(record)
        best_hand = min(best_hand, time.perf_counter() - started)
    return {
        "orders": orders, "rounds": rounds, "cores": os.cpu_count(), "rules_load_seconds": round(load_seconds, 3),
        "engine_orders_per_second": round(orders / best_engine),
        "handwritten_orders_per_second": round(orders / best_hand),
        "ratio_engine_to_handwritten": round(best_hand / best_engine, 3),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 orders, 2 rounds")
    args = parser.parse_args(argv)
    result = measure(2000 if args.quick else args.orders, 2 if args.quick else args.rounds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
