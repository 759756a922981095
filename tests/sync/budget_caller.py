"""One process of the shared-budget tests: it counts its calls in the PostgreSQL state database, as every Connex
process with its state there does, and calls one Linnworks account and one QuickBooks company through the real
clients (connex_linnworks.client, connex_quickbooks_online.client).

``python -m tests.sync.budget_caller '<json>'``. The limits are lowered, and the minute shortened (``scale``
simulated seconds per real second, as the simulators' clock), on both sides: the simulators are told so by the
test, this process here. Modes:

* ``calls``: ``linnworks`` calls to the account's endpoint and ``quickbooks`` reads of the company, in two threads;
  prints one JSON line (calls made, seconds taken, round trips to PostgreSQL).
* ``hold``: take every place of ``places`` under ``key``, print ``held``, and sleep until killed.
"""

from __future__ import annotations

import json
import sys
import threading
import time


def main(options: dict) -> None:
    from connex.budgets import process_budget, set_process_budget
    from connex.runtime import share_budget
    from connex.state import open_state
    from connex.state.budget import PostgresBudget

    state = open_state(options["state"], connection=options.get("connection", "default"))
    # the budget the test's clock needs, on the state's database: share_budget (the path every command takes)
    # keeps a budget installed for that same database
    url = state.target.url.render_as_string(hide_password=False)
    set_process_budget(PostgresBudget(state.database.engine, scale=options.get("scale", 1.0),
                                      margin=options.get("margin", 1.0), label=state.label, url=url))
    share_budget(state)
    budget = process_budget()
    assert isinstance(budget, PostgresBudget) and budget.url == url

    if options["mode"] == "hold":
        key, places = options["key"], options["places"]
        contexts = [budget.slot(key, places) for _ in range(places)]
        for context in contexts:
            context.__enter__()
        print("held", flush=True)
        time.sleep(600)
        return

    started, wall_start = time.monotonic(), time.time()
    errors: list[str] = []
    threads = [threading.Thread(target=_guard(errors, _linnworks, options)),
               threading.Thread(target=_guard(errors, _quickbooks, options))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"seconds": time.monotonic() - started, "round_trips": budget.round_trips,
                      "start": wall_start, "end": time.time(), "errors": errors}), flush=True)


def _guard(errors: list[str], fn, options: dict):
    def run():
        try:
            fn(options)
        except Exception as exc:  # reported to the test, which fails naming it
            errors.append(f"{fn.__name__}: {type(exc).__name__}: {exc}")
    return run


def _linnworks(options: dict) -> None:
    from connex_linnworks import limits
    from connex_linnworks.client import LinnworksClient

    from connex.transport import RetryPolicy

    lw = options["linnworks"]
    for endpoint, limit in lw["limits"].items():
        limits.RATE_LIMITS[endpoint] = limit  # the client's own limit (90% of it) goes to the shared budget
    client = LinnworksClient(application_id=lw["application_id"], application_secret=lw["application_secret"],
                             token=lw["token"], auth_url=lw["auth_url"], timeout=10,
                             retry=RetryPolicy(max_attempts=1))
    for _ in range(lw["calls"]):
        client.call(lw["endpoint"])


def _quickbooks(options: dict) -> None:
    from connex_quickbooks_online import client as qbo_client
    from connex_quickbooks_online.oauth import TokenManager

    from connex.transport import HttpClient, RetryPolicy

    qbo = options["quickbooks"]
    qbo_client.REQUESTS_PER_MINUTE = qbo["requests_per_minute"]
    http = HttpClient(timeout=10, retry=RetryPolicy(max_attempts=1),
                      limiter=qbo_client.make_limiter(api_url=qbo["api_url"], realm_id=qbo["realm_id"]))
    tokens = TokenManager(http=http, token_url=qbo["token_url"], client_id=qbo["client_id"],
                          client_secret=qbo["client_secret"], refresh_token=qbo["refresh_token"],
                          realm_id=qbo["realm_id"])
    client = qbo_client.QboClient(api_url=qbo["api_url"], realm_id=qbo["realm_id"], tokens=tokens, http=http)
    for _ in range(qbo["calls"]):
        client.call("GET", f"companyinfo/{qbo['realm_id']}", endpoint="read")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
