"""``python -m connex_quickbooks_desktop.simulator URL USERNAME PASSWORD [--sessions N]``: run Web Connector
sessions against a running Connex endpoint with a fresh simulated company and print what happened."""

from __future__ import annotations

import argparse
import json
import sys

from connex_quickbooks_desktop.simulator import make_simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connex_quickbooks_desktop.simulator")
    parser.add_argument("url")
    parser.add_argument("username")
    parser.add_argument("password")
    parser.add_argument("--sessions", type=int, default=1)
    args = parser.parse_args(argv)
    simulator = make_simulator()
    for _ in range(args.sessions):
        log = simulator.run_session(args.url, args.username, args.password)
        print(
            json.dumps(
                {
                    "auth": log.auth_status,
                    "round_trips": log.round_trips,
                    "percents": log.percents,
                    "errors": log.errors,
                    "close": log.close_message,
                    "seconds": round(log.seconds, 3),
                }
            )
        )
    print(json.dumps(simulator.company.fingerprint(), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
