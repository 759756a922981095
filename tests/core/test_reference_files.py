"""What a developer sees when the vendors' reference files are not beside the checkout: a skip naming the file,
and in CI (``CI=true``) a failure, so a CI run proves the reference-dependent tests ran."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

NEEDS_A_MISSING_FILE = '''
from tests.conftest import reference

def test_needs_it():
    reference("qbxml-xsd/no-such-file.xsd")
'''


def _pytest(tmp_path, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_needs_reference.py").write_text(NEEDS_A_MISSING_FILE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", "test_needs_reference.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_outside_ci_a_missing_reference_file_is_a_skip_naming_it(tmp_path):
    result = _pytest(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "SKIPPED [1]" in result.stdout and "reference file qbxml-xsd/no-such-file.xsd not found" in result.stdout
    assert "docs/reference-data.md" in result.stdout


def test_in_ci_a_missing_reference_file_fails_the_run(tmp_path):
    result = _pytest(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed" in result.stdout and "skipped" not in result.stdout
    assert "CI=true but reference file qbxml-xsd/no-such-file.xsd not found" in result.stdout
