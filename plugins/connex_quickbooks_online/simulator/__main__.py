"""Run the QuickBooks Online simulator standalone: ``python -m connex_quickbooks_online.simulator --port 8081``.

Prints the connector config block to paste under ``target:`` (it includes ``plugin: quickbooks_online``), then
serves an empty company until Ctrl-C or SIGTERM. See docs/simulators.md."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading

from connex.simulation.server import SimClock
from connex_quickbooks_online.simulator.server import QuickBooksOnlineSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m connex_quickbooks_online.simulator",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--company", default="us", choices=["us", "uk", "ca", "au", "us-manual"],
                        help="company profile")
    parser.add_argument("--home-currency", default=None, help="override the profile's home currency")
    parser.add_argument("--clock-scale", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--token-seconds", type=float, default=3600.0, help="access token lifetime")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    sim = QuickBooksOnlineSimulator(
        args.host,
        args.port,
        clock=SimClock(args.clock_scale),
        company=args.company,
        home_currency=args.home_currency,
        access_token_seconds=args.token_seconds,
    )
    sim.start()
    print(json.dumps({"plugin": "quickbooks_online", **sim.connector_config()}, indent=2), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
