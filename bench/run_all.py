"""Every benchmark, one command: ``.venv/bin/python bench/run_all.py [--quick]``. Figures go to BENCHMARKS.md.

Runs, each in a process of its own and side by side in one go (ratios, not absolute times, are what these
shared machines can report): declarative overhead (mapping_overhead.py), API-call economy, wall time against
QuickBooks' limits and flat memory (sync_economy.py), Linnworks reads (linnworks_reads.py), QuickBooks Online
posting (qbo_posting.py), QuickBooks Desktop round trips (qbd_roundtrips.py), the start-up of a fresh process
against a bare Python start (startup.py), summary postings against one document per order (summary_posting.py)
and the web console's pages with 100,000 documents (console_pages.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SUITE = ["mapping_overhead.py", "sync_economy.py", "economy_passes.py", "linnworks_reads.py", "qbo_posting.py",
         "qbd_roundtrips.py", "startup.py", "summary_posting.py", "console_pages.py"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a check that every benchmark runs")
    parser.add_argument("--only", nargs="*", choices=SUITE, help="run only these")
    args = parser.parse_args(argv)
    print(f"# cores: {os.cpu_count()}, python {sys.version.split()[0]}, quick: {args.quick}", flush=True)
    failed = 0
    for script in args.only or SUITE:
        command = [sys.executable, str(BENCH / script), *(["--quick"] if args.quick else [])]
        print(f"## {script}", flush=True)
        started = time.perf_counter()
        result = subprocess.run(command, cwd=BENCH.parent)
        print(f"## {script}: exit {result.returncode} in {time.perf_counter() - started:.1f} s", flush=True)
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
