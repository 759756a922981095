"""`connex demo --serve` as a user runs it: the simulators keep running, the printed commands work as typed,
SIGTERM stops it cleanly, and the checkout is left as it was. And after a plain `connex demo`, a command
against its stopped simulators says so in one line instead of retrying."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time

from ruamel.yaml import YAML

from tests.conftest import REPO, run_connex


def _git(cwd, *args) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _checkout_like(tmp_path):
    """A git folder with the repository's .gitignore, as a user's clone has: whatever the demo leaves untracked
    shows in `git status`."""
    folder = tmp_path / "clone"
    folder.mkdir()
    (folder / ".gitignore").write_bytes((REPO / ".gitignore").read_bytes())
    _git(folder, "init", "-q")
    _git(folder, "add", ".gitignore")
    _git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    return folder


def test_demo_serve_keeps_the_simulators_for_the_printed_commands_and_stops_on_sigterm(tmp_path):
    clone = _checkout_like(tmp_path)
    demo = subprocess.Popen([sys.executable, "-m", "connex", "demo", "--serve"], cwd=clone, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        seen = []
        for line in demo.stdout:
            seen.append(line)
            if "Try, in another terminal:" in line:
                break
        assert "Failures: 0\n" in seen, "".join(seen) + (demo.stderr.read() if demo.poll() is not None else "")
        assert "Configuration: connex-demo/connex.yaml (commented YAML)\n" in seen
        commands = {}
        for _ in range(12):  # five commands, each under a "# what it shows" line
            line = demo.stdout.readline().strip()
            if line and not line.startswith("#"):
                words = shlex.split(line)
                commands[words[words.index("-c") + 2]] = words
            if len(commands) == 5:
                break
        assert set(commands) == {"explain", "validate", "status", "sync", "daemon"}, commands

        # the commented config is real YAML that Connex accepts
        text = (clone / "connex-demo" / "connex.yaml").read_text()
        assert text.startswith("# connex.yaml written by `connex demo`.")
        assert "  # the simulator; https://api.linnworks.net for a real account" in text
        config = YAML(typ="safe").load(text)
        assert config["source"]["plugin"] == "linnworks" and config["target"]["plugin"] == "quickbooks_online"
        assert config["source"]["auth_url"].startswith("http://127.0.0.1:") and config["state"] == "connex.db"

        # the printed command lines, exactly as printed, against the still-running simulators
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        explain = subprocess.run(commands["explain"], cwd=clone, capture_output=True, text=True, env=env, timeout=120)
        number = commands["explain"][-1]
        assert explain.returncode == 0, explain.stderr
        assert explain.stdout.startswith(f"orders: {number} (") and "document (sales_receipt):" in explain.stdout
        validate = subprocess.run(commands["validate"], cwd=clone, capture_output=True, text=True, env=env,
                                  timeout=120)
        assert validate.returncode == 0 and "connex-demo/connex.yaml: OK" in validate.stdout, validate.stderr
        status = subprocess.run(commands["status"], cwd=clone, capture_output=True, text=True, env=env, timeout=120)
        assert status.returncode == 0 and "orders: 118 posted" in status.stdout, status.stdout + status.stderr
        again = subprocess.run(commands["sync"], cwd=clone, capture_output=True, text=True, env=env, timeout=120)
        assert again.returncode == 0 and "orders: ok: nothing to do" in again.stdout, again.stdout + again.stderr

        demo.send_signal(signal.SIGTERM)
        out, err = demo.communicate(timeout=30)
        assert demo.returncode == 0, err
        assert out.strip().endswith("connex demo: simulators stopped") and "Traceback" not in err
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert _git(clone, "status", "--porcelain", "--untracked-files=all") == ""


def test_after_a_plain_demo_its_stopped_simulators_are_reported_in_one_line(tmp_path):
    demo = run_connex("demo", cwd=tmp_path, timeout=300)
    assert demo.returncode == 0, demo.stderr
    assert "`connex demo --serve` keeps them running" in demo.stdout
    assert "they stopped when `connex demo` ended" in (tmp_path / "connex-demo" / "connex.yaml").read_text()
    started = time.monotonic()
    explain = run_connex("-c", "connex-demo/connex.yaml", "explain", "100000", cwd=tmp_path)
    assert time.monotonic() - started < 10  # no backoff: nothing listens there, and waiting will not change it
    assert explain.returncode == 3
    lines = explain.stderr.strip().splitlines()
    assert len(lines) == 1, explain.stderr
    assert lines[0].startswith("error: the run could not complete: the source (linnworks): http://127.0.0.1:")
    assert lines[0].endswith(" is unreachable: connection refused (Auth/AuthorizeByApplication)")
