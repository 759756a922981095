"""Hostile configuration and rule files: each attack is refused with a clear ``file:line:col`` error and exit 2,
never a traceback, a hang or unbounded memory (issue 12 items 5 and 8, issue 15 item 3).

Most cases run ``connex validate`` in-process through ``connex.cli.main`` (the same code the command line runs);
the ones the issues reported from the command line also run as a real subprocess under a memory limit."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import textwrap
import time

import pytest

from connex.cli import EXIT_CONFIG, EXIT_OK, main
from connex.errors import ConfigErrors
from connex.rules.loader import MAX_NESTING
from connex.yamlfile import MAX_DEPTH, MAX_EXPANDED_VALUES, MAX_FILE_BYTES, parse_yaml
from tests.conftest import REPO

BASE = textwrap.dedent("""\
    source: {plugin: linnworks, application_id: app-id-1, application_secret: lw-secret-99, token: lw-token-77}
    target:
      plugin: quickbooks_online
      client_id: qbo-client-1
      client_secret: qbo-secret-55
      refresh_token: qbo-refresh-33
      realm_id: "1234"
""")
POSITIONED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$", re.M)
BILLION_LAUGHS = "".join(
    f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9 if prev else ['"lol"'] * 9) + "]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi")
)


def validate(capsys, path) -> tuple[int, str, str]:
    code = main(["--config", str(path), "validate"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def write(tmp_path, content, name="connex.yaml"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def refused(capsys, path, fragment: str) -> re.Match:
    """Validate ``path``, expect exit 2 and a positioned error in that file whose message contains
    ``fragment``; return the match."""
    code, _, err = validate(capsys, path)
    assert code == EXIT_CONFIG, err
    for match in POSITIONED.finditer(err):
        if fragment in match["msg"] and match["file"] == str(path):
            return match
    raise AssertionError(f"no {path}:line:col error containing {fragment!r} in:\n{err}")


def run_limited(*args: str, cwd, memory_mb: int = 1024, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess whose address space is capped: a bomb that got through would die of
    MemoryError (a traceback, exit 3) instead of taking the machine."""
    def limit():  # runs in the child before exec
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024, memory_mb * 1024 * 1024))

    return subprocess.run([sys.executable, "-m", "connex", *args], cwd=str(cwd), capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, env={**os.environ, "PYTHONPATH": str(REPO)})


# --- item 5: alias bombs --------------------------------------------------------------------------------------

def test_billion_laughs_in_the_config_is_refused_quickly_in_bounded_memory(tmp_path):
    path = write(tmp_path, BASE + BILLION_LAUGHS)
    assert path.stat().st_size < 1024
    started = time.monotonic()
    result = run_limited("--config", "connex.yaml", "validate", cwd=tmp_path, memory_mb=1024, timeout=60)
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"^connex\.yaml:\d+:\d+: \w+\[\d+\]: aliases expand this file to more than "
                     r"100,000 values \(an alias bomb\)", result.stderr, re.M), result.stderr
    assert time.monotonic() - started < 60  # would never finish unbounded; the real figure is about a second


def test_billion_laughs_in_a_rules_file_names_the_rules_file(tmp_path, capsys):
    rules = write(tmp_path, "kind: rules\n" + BILLION_LAUGHS.replace("a: &a", "x_a: &a") + "rules: []\n",
                  "bomb.yaml")
    config = write(tmp_path, BASE + "rules: [bomb.yaml]\n")
    match = refused(capsys, rules.resolve(), "an alias bomb")
    assert int(match["line"]) > 1
    assert str(config) not in match["file"]


def test_alias_bomb_through_merge_keys_is_refused(tmp_path, capsys):
    lines = ["l0: &l0 {k0: v, k1: v, k2: v, k3: v, k4: v, k5: v, k6: v, k7: v, k8: v, k9: v}"]
    for level in range(1, 9):
        fields = ", ".join(f"m{i}: *l{level - 1}" for i in range(10))
        lines.append(f"l{level}: &l{level} {{<<: *l{level - 1}, {fields}}}")
    path = write(tmp_path, BASE + "\n".join(lines) + "\n")
    refused(capsys, path, "an alias bomb")


def test_alias_that_contains_itself_is_refused(tmp_path, capsys):
    path = write(tmp_path, BASE + "loop: &me [1, *me]\n")
    match = refused(capsys, path, "alias *me refers to a value that contains it")
    assert (match["line"], match["col"]) == ("8", "15")


def test_modest_aliases_still_work(tmp_path, capsys):
    """Anchors used the way people use them (a shared block, a merge key) stay allowed."""
    write(tmp_path, textwrap.dedent("""\
        kind: rules
        rules:
          - id: first
            type: do_not_import
            flows: &flows [orders]
            when: &cond {field: order.GeneralInfo.Source, comparison: equals, value: AMAZON}
          - id: second
            type: do_not_import
            flows: *flows
            when: {<<: *cond, value: EBAY}
    """), "shared.yaml")
    path = write(tmp_path, BASE + "rules: [shared.yaml]\n")
    code, out, err = validate(capsys, path)
    assert code == EXIT_OK, err
    assert ", 3 rules," in out  # the shipped rule and both of these


def test_expansion_bound_is_counted_not_guessed():
    """Just under the bound loads; one alias more is refused."""
    per = 999  # values in the anchored list, counting the list itself: 1000
    items = ", ".join(["1"] * per)
    count = MAX_EXPANDED_VALUES // 1000 - 2
    body = f"base: &b [{items}]\n" + "".join(f"k{i}: *b\n" for i in range(count))
    parse_yaml(body, "ok.yaml")  # (count + 1) * 1000 + keys + root < bound
    with pytest.raises(ConfigErrors, match="an alias bomb"):
        parse_yaml(body + "".join(f"z{i}: *b\n" for i in range(3)), "bomb.yaml")


# --- item 8: deep nesting ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "line"), [
    ("x: " + "[" * 100_000 + "]" * 100_000 + "\n", 8),
    ("x: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n", 8),
    ("x:\n" + "".join(" " * depth + "k:\n" for depth in range(1, 2000)) + " " * 2000 + "k: 1\n", 8 + MAX_DEPTH),
    ("x:\n  " + "- " * 3000 + "1\n", 9),
], ids=["flow-sequences", "flow-mappings", "block-mappings", "block-sequences"])
def test_very_deep_nesting_is_a_clear_error(tmp_path, capsys, body, line):
    path = write(tmp_path, BASE + body)
    match = refused(capsys, path, f"nested more than {MAX_DEPTH} levels deep")
    assert match["line"] == str(line)


def test_very_deep_nesting_in_a_rules_file(tmp_path, capsys):
    rules = write(tmp_path, "kind: rules\nrules: " + "[" * 100_000 + "]" * 100_000 + "\n", "deep.yaml")
    write(tmp_path, BASE + "rules: [deep.yaml]\n")
    refused(capsys, rules.resolve(), "levels deep")


def test_nesting_just_inside_the_bound_validates_without_recursion_trouble(tmp_path, capsys):
    """A rule whose condition tree is as deep as the bounds allow (the YAML reader's, and the rules loader's
    tighter one for rule files) still goes through schema checks and compilation (each of them recursive)
    without a RecursionError."""
    condition = "{field: order.GeneralInfo.Source, comparison: equals, value: x}"
    depth = 0
    while True:
        wrapped = "{not: " + condition + "}" if depth % 2 else "{all: [" + condition + "]}"
        if 4 + wrapped.count("{") + wrapped.count("[") > min(MAX_DEPTH, MAX_NESTING):
            break
        condition, depth = wrapped, depth + 1
    write(tmp_path, f"kind: rules\nrules:\n  - id: deep\n    type: do_not_import\n    flows: [orders]\n"
                    f"    when: {condition}\n", "deep.yaml")
    path = write(tmp_path, BASE + "rules: [deep.yaml]\n")
    code, _, err = validate(capsys, path)
    assert code == EXIT_OK, err


# --- issue 15 item 3 and the hostile-file list ------------------------------------------------------------------

def test_impossible_unquoted_date_is_reported_not_a_traceback(tmp_path):
    write(tmp_path, BASE + "sync: {from_date: 2020-13-01}\n")
    result = run_limited("--config", "connex.yaml", "validate", cwd=tmp_path)
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert "Traceback" not in result.stderr
    assert "connex.yaml:8:19: sync.from_date: '2020-13-01' is not a valid date" in result.stderr


@pytest.mark.parametrize("value", ["2020-02-30", "2021-02-29", "2020-01-01 25:00:00", "2020-12-31T23:61:00",
                                   "9999-12-31 23:59:59.999999999 +99:00"])
def test_other_impossible_timestamps(tmp_path, capsys, value):
    path = write(tmp_path, BASE + f"sync: {{from_date: {value}}}\n")
    refused(capsys, path, "sync.from_date:")


@pytest.mark.parametrize(("name", "content", "fragment", "line"), [
    ("binary-garbage", bytes(range(256)) * 4, "not UTF-8 text: byte 0x80", "2"),  # byte 10 is a newline
    ("non-utf8", BASE.encode() + b"sync: {connection: caf\xe9}\n", "not UTF-8 text: byte 0xe9", "8"),
    ("utf16", "\ufeffsource: {}\n".encode("utf-16"), "not UTF-8 text", "1"),
    ("nul-byte", BASE + "sync: {connection: a\x00b}\n", "character #x0000 is not allowed", "8"),
    ("escape-char", BASE + "sync: {connection: a\x1bb}\n", "character #x001b is not allowed", "8"),
    ("tab-indent", BASE + "sync:\n\torders: open\n", "YAML syntax error", "9"),
    ("huge-float", BASE + "sync: {schedule: 1e999999}\n", "sync.schedule: '1e999999' is not", "8"),
    ("huge-float-number-field", BASE.replace("realm_id", "timeout: 1e999999\n  realm_id"),
     "target.timeout: expected a number, got '1e999999'", "7"),
    ("huge-int", BASE + "sync: {purchases: " + "9" * 5000 + "}\n", "sync.purchases: expected true or false", "8"),
    ("nan", BASE.replace("realm_id", "rounding_tolerance: .nan\n  realm_id"),
     "target.rounding_tolerance: expected a number, got '.nan'", "7"),
    ("duplicate-key", BASE + "sync: {orders: open, orders: off}\n", "duplicate key 'orders'", "8"),
    ("duplicate-top-key", BASE + "source: {plugin: linnworks}\n", "duplicate key 'source'", "8"),
    ("int-key", BASE + "1: x\n", "1: unknown key '1'", "8"),
    ("bool-key", BASE + "sync: {true: x}\n", "sync.True: unknown key 'True'", "8"),
    ("null-key", BASE + "~: x\n", "a key must be a name, not empty or null", "8"),
    ("complex-key", BASE + "? [a, b]\n: x\n", "a key must be a name, not a list or mapping", "8"),
    ("mapping-key", BASE + "sync: {{a: 1}: x}\n", "sync: a key must be a name", "8"),
    ("python-object-tag", BASE + "state: !!python/object/apply:os.system [echo hi]\n",
     "state: tag !!python/object/apply:os.system is not allowed", "8"),
    ("python-name-tag", BASE + "state: !!python/name:os.system ''\n", "tag !!python/name:os.system", "8"),
    ("binary-tag", BASE + "state: !!binary aGk=\n", "tag !!binary is not allowed", "8"),
    ("set-tag", BASE + "sync: !!set {a, b}\n", "tag !!set is not allowed", "8"),
    ("local-tag", BASE + "sync: {orders: !open x}\n", "sync.orders: tag !open is not allowed", "8"),
    ("tag-on-key", BASE + "sync: {!!python/object:x orders: open}\n", "sync: tag !!python/object:x", "8"),
    ("merge-of-scalar", BASE + "sync: {<<: 1}\n", "expected a mapping or list of mappings for merging", "8"),
    ("undefined-alias", BASE + "sync: {orders: *nothing}\n", "nothing", "8"),
    ("two-documents", BASE + "---\nsync: {}\n", "YAML syntax error", "8"),
    ("empty", "", "the configuration must be a mapping of settings", "1"),
    ("only-comments", "# nothing here\n", "the configuration must be a mapping of settings", "1"),
    ("a-list", "- source\n- target\n", "the configuration must be a mapping of settings", "1"),
    ("a-scalar", "hello\n", "the configuration must be a mapping of settings", "1"),
    ("rules-not-a-list", BASE + "rules: 1045\n", "rules: expected a list, got integer 1045", "8"),  # fuzz
    ("status-a-number", BASE + "sync: {order_status: 01e0}\n", "sync.order_status: expected a string", "8"),
    ("log-not-a-mapping", BASE + "log: [debug]\n", "log: expected a mapping, got a list", "8"),
    ("bom", "\ufeff" + BASE + "sync: {orders: opne}\n", "sync.orders: 'opne' is not allowed", "8"),
])
def test_hostile_config(tmp_path, capsys, name, content, fragment, line):
    path = write(tmp_path, content)
    match = refused(capsys, path, fragment)
    assert match["line"] == line, match.group(0)


def test_merge_key_that_builds_a_valid_block_is_accepted(tmp_path, capsys):
    path = write(tmp_path, BASE.replace("source: {", "source: &src {") + "sync: {<<: {orders: open}}\n")
    code, out, err = validate(capsys, path)
    assert code == EXIT_OK, err


def test_directory_instead_of_a_file(tmp_path, capsys):
    folder = tmp_path / "connex.yaml"
    folder.mkdir()
    code, _, err = validate(capsys, folder)
    assert code == EXIT_CONFIG
    assert f"{folder}: is a folder, not a file" in err


def test_rules_entry_that_is_a_fifo_does_not_hang(tmp_path, capsys):
    os.mkfifo(tmp_path / "rules.yaml")
    path = write(tmp_path, BASE + "rules: [rules.yaml]\n")
    code, _, err = validate(capsys, path)
    assert code == EXIT_CONFIG
    assert "rules.yaml" in err


def test_config_that_is_a_fifo_does_not_hang(tmp_path, capsys):
    fifo = tmp_path / "connex.yaml"
    os.mkfifo(fifo)
    code, _, err = validate(capsys, fifo)
    assert code == EXIT_CONFIG
    assert f"{fifo}: is not a regular file" in err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path, capsys):
    path = write(tmp_path, BASE)
    path.chmod(0)
    code, _, err = validate(capsys, path)
    assert code == EXIT_CONFIG
    assert f"{path}: cannot read file: Permission denied" in err


def test_oversized_file_is_refused_without_reading_it_all(tmp_path, capsys):
    path = tmp_path / "connex.yaml"
    with path.open("w") as handle:
        handle.write(BASE)
        handle.write("# " + "x" * 1000 + "\n" * 1)
        handle.truncate(MAX_FILE_BYTES + 10)
    code, _, err = validate(capsys, path)
    assert code == EXIT_CONFIG
    assert f"{path}: file is larger than" in err


def test_control_characters_in_a_key_cannot_break_the_message_line(tmp_path, capsys):
    """Found by the fuzz test: a key holding a record separator (which ``splitlines`` treats as a line break)
    or a terminal escape was printed raw inside the field name."""
    path = write(tmp_path, BASE + 'sync: {"a\\x1eb\\e[31m": 1}\n')
    match = refused(capsys, path, "unknown key")
    assert match["msg"] == "sync.a\\x1eb\\x1b[31m: unknown key 'a\\x1eb\\x1b[31m'"
