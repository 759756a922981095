"""Linnworks read benchmark: calls per 1,000 processed orders and the connector's peak memory, 1k vs 20k.

The simulator runs in its own process (``python -m connex_linnworks.simulator``) and the connector in another,
so the peak RSS measured is the connector's alone. Each size gets fresh processes: ``ru_maxrss`` is a
lifetime peak, and a shared process would report the larger run for both.

    .venv/bin/python bench/linnworks_reads.py            # 1,000 vs 20,000 processed orders
    .venv/bin/python bench/linnworks_reads.py --quick    # 1,000 vs 5,000, well under a minute
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def measure(config: dict, page_size: int) -> dict:
    """Read every processed order once, page by page, as the engine would (records dropped after use)."""
    from connex_linnworks.connector import LinnworksSource

    from connex.connectors import OrderQuery

    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    orders = 0
    largest_page = 0
    with LinnworksSource({**config, "page_size": page_size}) as source:
        for page in source.read_orders(OrderQuery()):
            orders += len(page.records)
            largest_page = max(largest_page, len(page.records))
        calls = source.calls
    return {
        "orders": orders,
        "calls": calls,
        "seconds": round(time.perf_counter() - started, 2),
        "baseline_rss_mb": round(baseline_kb / 1024, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "largest_page": largest_page,
    }


def run_size(orders: int, page_size: int) -> dict:
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connex_linnworks.simulator",
            "--port",
            "0",
            "--orders",
            str(orders),
            "--open-orders",
            "0",
            "--purchase-orders",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(sim.stdout.readline())
        config = {k: v for k, v in info["source"].items() if k != "plugin"}
        worker = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--measure",
                json.dumps(config),
                "--page-size",
                str(page_size),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        return json.loads(worker.stdout.strip().splitlines()[-1])
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 vs 5,000 orders")
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: run the connector side only
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(json.loads(args.measure), args.page_size)))
        return 0
    sizes = (1_000, 5_000) if args.quick else (1_000, 20_000)
    results = {n: run_size(n, args.page_size) for n in sizes}
    print(f"Linnworks processed-order reads, page size {args.page_size} (simulator in its own process)")
    print(
        f"{'orders':>8} {'read':>8} {'calls':>6} {'per 1k':>7} {'seconds':>8} {'base MB':>8} {'peak MB':>8}"
    )
    for n, r in results.items():
        total = sum(r["calls"].values())
        print(
            f"{n:>8} {r['orders']:>8} {total:>6} {total * 1000 / n:>7.1f} {r['seconds']:>8} "
            f"{r['baseline_rss_mb']:>8} {r['peak_rss_mb']:>8}"
        )
        for endpoint, count in sorted(r["calls"].items()):
            print(f"{'':>10}{endpoint}: {count} ({count * 1000 / n:.1f} per 1k)")
    small, large = (results[n] for n in sizes)
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    print(f"peak RSS ratio {sizes[1]:,} / {sizes[0]:,} orders: {ratio:.2f}")
    for n, r in results.items():
        if r["orders"] != n:
            print(f"ERROR: read {r['orders']} of {n} orders", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
