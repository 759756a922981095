"""The tests' throwaway PostgreSQL (tests/postgres.py) does not outlive a test run that was killed: pg_ctl detaches
the server, so a run stopped by SIGKILL or a timeout used to leave it running, and the next start stops it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.postgres import OWNER_FILE, stop_orphans

REPO = Path(__file__).resolve().parents[2]

# a process that starts a server and dies at once, as a killed test run does
STARTS_AND_DIES = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from tests.postgres import PostgresServer
server = PostgresServer().start()
print(server.root, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _postmaster(root: Path) -> int | None:
    try:
        return int((root / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def test_a_server_whose_starter_was_killed_is_stopped_by_the_next_start(postgres):
    done = subprocess.run([sys.executable, "-c", STARTS_AND_DIES, str(REPO)], capture_output=True, text=True,
                          timeout=180)
    orphan = Path(done.stdout.strip())
    assert orphan.name.startswith("connex-pg-"), done.stderr[-2000:]
    pid = _postmaster(orphan)
    assert pid is not None and (orphan / OWNER_FILE).exists()
    os.kill(pid, 0)  # the orphan runs

    stopped = stop_orphans(postgres)

    assert orphan in stopped and not orphan.exists()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the orphaned server (pid {pid}) still runs")
    # the session's own server, whose starter is this process, is left alone
    assert postgres.root.exists() and _postmaster(postgres.root) is not None
