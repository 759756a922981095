"""One run at a time per state file: an exclusive ``flock`` on ``<state>.lock``, held for the whole run.

Two processes posting from one state file would both read the same page and both post it (only QuickBooks'
request-id replay stands between that and a duplicate). The lock is advisory and released by the kernel when the
process dies, so a killed run never leaves it held. The file also says who holds it, for the message the second
process prints.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from connex.errors import ConfigError, ConnexError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking, as before
    fcntl = None

POLL_SECONDS = 0.1


class StateBusy(ConnexError):
    """Another process holds the state file's lock (exit code 3: the run could not complete)."""

    kind = "busy"


def lock_path(state_path: str | Path) -> Path:
    return Path(f"{state_path}.lock")


class StateLock:
    def __init__(self, state_path: str | Path):
        self.state_path = str(state_path)
        self.path = lock_path(state_path)
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> StateLock:
        """Take the lock, waiting up to ``wait`` seconds; ``StateBusy`` naming the holder after that."""
        if fcntl is None or self.state_path == ":memory:":
            return self
        try:
            fd = _open(self.path)
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot create the state file's lock ({exc.strerror or exc}); Connex "
                              "must be able to write in the state file's folder") from None
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise StateBusy(busy_message(self.state_path, holder, wait)) from None
                time.sleep(POLL_SECONDS)
        self._fd = fd
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv[1:])[:200],
                                  "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}).encode(), 0)
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> StateLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def holder(state_path: str | Path) -> dict | None:
    """Who holds the lock now (``{}`` when unknown), or None when nobody does; never creates the lock file."""
    path = lock_path(state_path)
    if fcntl is None or not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(fd)
    except OSError:
        return None
    finally:
        os.close(fd)  # also drops the shared lock if it was taken
    return None


def busy_message(state_path: str, who: dict, wait: float) -> str:
    described = f"pid {who['pid']}" if who.get("pid") else "another process"
    if who.get("command"):
        described += f", `connex {who['command']}`"
    if who.get("since"):
        described += f", since {who['since']}"
    waited = f" (waited {wait:g}s)" if wait else ""
    return (f"{state_path}: another Connex run is using this state file ({described}){waited}; two runs on one "
            f"state file could post the same documents twice. Wait for it to finish, or use --wait SECONDS")


def _open(path: Path) -> int:
    old = os.umask(0o077)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    finally:
        os.umask(old)


def _read_holder(fd: int) -> dict:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
