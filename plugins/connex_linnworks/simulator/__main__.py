"""Run the Linnworks simulator standalone: ``python -m connex_linnworks.simulator --port 8765 --orders 1000``.

Prints one JSON line with the url and the connector config block to paste under ``source:`` (plus
``plugin: linnworks``), then serves until interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from connex.simulation.server import SimClock
from connex_linnworks.simulator.server import LinnworksSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connex_linnworks.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--orders", type=int, default=120, help="processed orders in the account")
    parser.add_argument("--open-orders", type=int, default=30)
    parser.add_argument("--purchase-orders", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--clock-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second (rate windows, session expiry)",
    )
    args = parser.parse_args(argv)
    sim = LinnworksSimulator(
        args.host,
        args.port,
        seed=args.seed,
        processed_orders=args.orders,
        open_orders=args.open_orders,
        purchase_orders=args.purchase_orders,
        clock=SimClock(args.clock_scale),
    ).start()
    print(
        json.dumps({"url": sim.url, "source": {"plugin": "linnworks", **sim.connector_config()}}), flush=True
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
