"""Start-up: how long a fresh `connex` process takes before it does any work, as a multiple of a bare Python start.

Each command runs in a new process (as cron, the daemon's supervisor or a user would start it), interleaved with a
bare ``python -c pass`` so both see the same machine noise; the best of N runs of each is reported.

    .venv/bin/python bench/startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
source: {plugin: linnworks, application_id: app, application_secret: secret, token: token,
         auth_url: "http://127.0.0.1:9"}
target: {plugin: quickbooks_online, client_id: client, client_secret: secret, refresh_token: refresh,
         realm_id: "1234", api_url: "http://127.0.0.1:9", token_url: "http://127.0.0.1:9/token"}
sync: {orders: processed, customer_matching: store_name_currency}
state: connex.db
"""

LOAD_RULES = ("from connex.paths import default_rules_dir; from connex.rules.loader import load_rules; "
              "load_rules([default_rules_dir()])")


def commands(config: Path) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "python -c pass": [python, "-c", "pass"],
        "connex --version": [python, "-m", "connex", "--version"],
        "import and load the shipped rules": [python, "-c", LOAD_RULES],
        "connex validate": [python, "-m", "connex", "--config", str(config), "validate"],
    }


def best_times(runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "connex.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        todo = commands(config)
        best = dict.fromkeys(todo, float("inf"))
        for _ in range(runs):
            for name, command in todo.items():  # interleaved: every command sees the same noise
                started = time.perf_counter()
                done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
                elapsed = time.perf_counter() - started
                if done.returncode != 0:
                    raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr[-2000:]}")
                best[name] = min(best[name], elapsed)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="3 runs")
    args = parser.parse_args(argv)
    best = best_times(3 if args.quick else args.runs)
    bare = best["python -c pass"]
    print(json.dumps({
        "cores": os.cpu_count(), "runs": 3 if args.quick else args.runs,
        "seconds": {name: round(seconds, 3) for name, seconds in best.items()},
        "times_a_bare_python_start": {name: round(seconds / bare, 1) for name, seconds in best.items()
                                      if name != "python -c pass"},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
