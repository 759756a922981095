"""Fuzzing ``connex validate`` with generated configuration files (issue 12, "done when").

Three kinds of input: YAML-like text stitched from the tokens that break parsers (anchors, tags, flow brackets,
tabs, control characters, impossible dates, huge numbers), well-formed structures with hostile values dumped to
YAML and placed anywhere in an otherwise valid config, and raw bytes. Whatever comes in: no traceback, an exit
code from the documented set (validate can only say 0 ok or 2 fix the configuration), a message naming the file,
and memory that stays bounded (the in-process runs watch the peak resident size; the subprocess runs have their
address space capped).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import resource
import subprocess
import sys
import textwrap

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from connex.cli import EXIT_CONFIG, EXIT_OK, main
from tests.conftest import REPO, examples

VALID = textwrap.dedent("""\
    source: {plugin: linnworks, application_id: app-1, application_secret: lw-secret-1, token: lw-token-1}
    target: {plugin: quickbooks_online, client_id: c-1, client_secret: qbo-secret-1, refresh_token: r-1,
             realm_id: "1"}
    sync: {orders: processed, schedule: every 15 minutes}
""")
VALIDATE_EXITS = {EXIT_OK, EXIT_CONFIG}
SECRETS = ("lw-secret-1", "lw-token-1", "qbo-secret-1")
# how much the peak resident size of this process may grow over a whole fuzz run
MEMORY_GROWTH_LIMIT_MB = 400

TOKENS = [
    "{", "}", "[", "]", ": ", ":", ", ", "- ", "? ", "\n", "\n  ", "\n    ", "\t", " ", "'", '"', "#", "|", ">",
    "&a ", "*a", "&b ", "*b", "<<: ", "!!python/object:os.system ", "!!binary ", "!foo ", "!!str ", "!!int ",
    "%YAML 1.2\n", "---\n", "...\n", "~", "null", "true", "yes", "1e999999", "-.inf", ".nan", "0x1F", "0o17",
    "9" * 5000, "2020-13-01", "2020-02-30", "2020-01-01 25:61:00", "12:30:45", "\\x00", "\\u0000", "\x1b", "\x7f",
    "\ufeff", "é", "\U0001f600", "\u2028", "source", "target", "sync", "plugin", "linnworks", "quickbooks_online",
    "from_date", "schedule", "rules", "state", "log", "daemon", "client_secret", "lw-secret-1", "every 15 minutes",
]
KEYS = ["source", "target", "sync", "rules", "state", "log", "daemon", "default_rules", "plugin", "schedule",
        "from_date", "orders", "customer_matching", "client_secret", "password", "level", "health", "x", "<<"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30), st.floats(),
    st.text(max_size=40), st.sampled_from(["every 15 minutes", "2020-13-01", "1e999999", "lw-secret-1", ""]),
    st.dates(), st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=10)),
                                            inner, max_size=5)),
    max_leaves=30,
)
texts = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)), max_size=60).map("".join)


def dump(data) -> str:
    yaml = YAML(typ="safe", pure=True)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def check(path, capsys, named=None, secrets=SECRETS) -> tuple[int, str]:
    code = main(["--config", str(path), "validate"])
    out, err = capsys.readouterr()
    output = out + err
    assert "Traceback" not in output, output
    assert code in VALIDATE_EXITS, output
    assert str(named or path) in output, output
    if code == EXIT_CONFIG:
        problems = [line for line in err.splitlines() if line and not line.endswith("found")]
        assert problems, err
        # every problem names a file, the config or a rules file it lists (`error: FILE: ...` for a file
        # that could not be read at all)
        assert all(line.startswith((str(path), "error: " + str(path), "/", str(path.parent))) for line in problems), err
    for secret in secrets:
        assert secret not in err, err
    return code, output


_START_PEAK = peak_mb()


def _memory_bounded():
    assert peak_mb() - _START_PEAK < MEMORY_GROWTH_LIMIT_MB


# CONNEX_FUZZ_EXAMPLES=2000 for a long hunt; shrinking is off because one validate costs tens of milliseconds
# and a shrink takes thousands (the failing example is printed as generated)
FUZZ = settings(max_examples=int(os.environ.get("CONNEX_FUZZ_EXAMPLES", examples(40))), deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(text=texts, prefix=st.booleans())
def test_generated_text(tmp_path, capsys, text, prefix):
    path = tmp_path / "connex.yaml"
    path.write_text((VALID if prefix else "") + text, encoding="utf-8")
    check(path, capsys)
    _memory_bounded()


@FUZZ
@given(value=structures, where=st.sampled_from([(), ("sync",), ("source",), ("target",), ("log",), ("daemon",),
                                                ("sync", "from_date"), ("sync", "schedule"), ("rules",),
                                                ("state",), ("target", "client_secret")]),
       as_root=st.booleans())
def test_generated_structures(tmp_path, capsys, value, where, as_root):
    yaml = YAML(typ="safe", pure=True)
    config = yaml.load(VALID)
    if as_root:
        config = value
    elif not where:
        config["extra"] = value
    else:
        node = config
        for step in where[:-1]:
            node = node[step]
        node[where[-1]] = value
    path = tmp_path / "connex.yaml"
    path.write_text(dump(config), encoding="utf-8")
    # a generated root declares no source or target block, so 'lw-secret-1' there is plain text, not a secret
    # (hypothesis found `{rules: lw-secret-1}` as a root quoting it, correctly)
    check(path, capsys, secrets=() if as_root else SECRETS)
    _memory_bounded()


@FUZZ
@given(data=st.binary(max_size=400), prefix=st.booleans())
def test_generated_bytes(tmp_path, capsys, data, prefix):
    path = tmp_path / "connex.yaml"
    path.write_bytes((VALID.encode() if prefix else b"") + data)
    check(path, capsys)
    _memory_bounded()


@FUZZ
@given(text=texts, header=st.booleans())
def test_generated_rules_file_text(tmp_path, capsys, text, header):
    (tmp_path / "fuzz.yaml").write_text(("kind: rules\n" if header else "") + text, encoding="utf-8")
    path = tmp_path / "connex.yaml"
    path.write_text(VALID + "rules: [fuzz.yaml]\n", encoding="utf-8")
    check(path, capsys, named=tmp_path / "fuzz.yaml")
    _memory_bounded()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, value=structures)
def test_generated_configs_through_the_real_command_line(tmp_path_factory, text, value):
    """A few through a real subprocess with its address space capped at 1 GB and a time limit: a bomb or
    runaway recursion that got past the bounds would end in MemoryError (exit 3) or a timeout here."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "a.yaml").write_text(VALID + text, encoding="utf-8")
    (folder / "b.yaml").write_text(dump({**YAML(typ="safe", pure=True).load(VALID), "sync": value}),
                                   encoding="utf-8")
    limit = 1024 * 1024 * 1024
    for name in ("a.yaml", "b.yaml"):
        result = subprocess.run(
            [sys.executable, "-m", "connex", "--config", name, "validate"], cwd=folder, capture_output=True,
            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)},
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode in VALIDATE_EXITS, result.stderr
        assert name in result.stdout + result.stderr
