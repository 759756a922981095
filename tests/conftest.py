"""Fixtures shared by every test area: the repository paths and running the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"


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
