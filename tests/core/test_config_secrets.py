"""Configuration error messages never print a secret (issue 12 item 7, config part).

The rule under test: a message never quotes the value of a key whose name is secret-bearing (a connector's
``secret_keys``, a name that says password/secret/token, or a near miss of one), and never quotes a value that
equals a known secret, wherever it was pasted."""

from __future__ import annotations

import re
import textwrap

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.cli import EXIT_CONFIG, EXIT_OK, main
from tests.conftest import examples, run_connex

LINNWORKS = "source: {plugin: linnworks, application_id: app-id-1, application_secret: LwSecret99, token: lwtok77}\n"
QBO = textwrap.dedent("""\
    target:
      plugin: quickbooks_online
      client_id: qbo-client-1
      client_secret: {secret}
      refresh_token: qbo-refresh-33
      realm_id: "1234"
""")
POSITIONED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<field>[^:]+): (?P<msg>.+)$", re.M)


def validate(tmp_path, capsys, text: str, name="connex.yaml") -> tuple[int, str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    code = main(["--config", str(path), "validate"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out + err


def field_messages(output: str) -> dict[str, str]:
    return {m["field"]: m["msg"] for m in POSITIONED.finditer(output)}


def test_duplicate_client_secret_quotes_neither_value(tmp_path):
    (tmp_path / "connex.yaml").write_text(
        LINNWORKS + QBO.format(secret="first-secret-1") + "  client_secret: second-secret-2\n", encoding="utf-8")
    result = run_connex("--config", "connex.yaml", "validate", cwd=tmp_path)
    assert result.returncode == EXIT_CONFIG
    assert "Traceback" not in result.stderr
    assert "connex.yaml:8:3: duplicate key 'client_secret'" in result.stderr
    assert "first-secret-1" not in result.stderr and "second-secret-2" not in result.stderr


def test_unquoted_numeric_secret_is_named_not_shown(tmp_path, capsys):
    code, output = validate(tmp_path, capsys, LINNWORKS + QBO.format(secret="9876543210"))
    assert code == EXIT_CONFIG
    message = field_messages(output)["target.client_secret"]
    assert message == "expected a string, got an integer (value hidden: a secret); write it in quotes"
    assert "9876543210" not in output


def test_short_numeric_password_is_not_shown_either(tmp_path, capsys):
    code, output = validate(tmp_path, capsys, LINNWORKS + "target: {plugin: quickbooks_desktop, username: bob, "
                                                          "password: 7, batch_size: '7'}\n")
    assert code == EXIT_CONFIG
    messages = field_messages(output)
    assert "value hidden" in messages["target.password"]
    # the same value pasted elsewhere is not quoted there either
    assert messages["target.batch_size"] == "expected an integer, got text (value hidden: a secret)"
    assert "'7'" not in output and " 7 " not in output and "integer 7" not in output


def test_secrets_pasted_into_enum_schedule_status_and_plugin_fields(tmp_path, capsys):
    text = (LINNWORKS.replace("plugin: linnworks", "plugin: qbo-refresh-33")
            + QBO.format(secret="QboSecret55")
            + "sync: {schedule: LwSecret99, customer_matching: lwtok77, order_status: qbosecret55, "
              "orders: qbo-client-1, document: every app-id-1 hours}\n"
            + "log: {level: lwtok77}\n")
    code, output = validate(tmp_path, capsys, text)
    assert code == EXIT_CONFIG
    messages = field_messages(output)
    for field in ("source.plugin", "sync.schedule", "sync.customer_matching", "sync.order_status", "sync.orders",
                  "sync.document", "log.level"):
        assert field in messages, output
    for secret in ("LwSecret99", "lwtok77", "QboSecret55", "qbo-refresh-33", "qbo-client-1", "app-id-1"):
        assert secret.lower() not in output.lower(), (secret, output)
    assert messages["sync.order_status"].startswith("unknown order status a hidden value (secret)")


def test_near_miss_password_key_gets_a_did_you_mean_without_its_value(tmp_path, capsys):
    text = LINNWORKS + "target: {plugin: quickbooks_desktop, username: bob, pasword: hunter2, app_name: hunter2}\n"
    code, output = validate(tmp_path, capsys, text)
    assert code == EXIT_CONFIG
    messages = field_messages(output)
    assert messages["target.pasword"] == "unknown key 'pasword' (did you mean 'password'?)"
    assert "hunter2" not in output


def test_secret_in_a_key_of_another_connector_or_block(tmp_path, capsys):
    """``client_secret`` is QuickBooks Online's; under the Linnworks block it is an unknown key, and its value
    is still a secret wherever it shows up."""
    text = (LINNWORKS.replace("token: lwtok77", "token: lwtok77, client_secret: 55555")
            + "target: {plugin: quickbooks_desktop, username: bob, password: pw-1234, batch_size: '55555'}\n")
    code, output = validate(tmp_path, capsys, text)
    assert code == EXIT_CONFIG
    assert "unknown key 'client_secret'" in field_messages(output)["source.client_secret"]
    assert "55555" not in output


def test_secret_from_an_environment_variable_pasted_elsewhere(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QBO_CLIENT_SECRET", "from-the-env-42")
    text = LINNWORKS + QBO.format(secret="${QBO_CLIENT_SECRET}") + "sync: {customer_matching: from-the-env-42}\n"
    code, output = validate(tmp_path, capsys, text)
    assert code == EXIT_CONFIG
    assert "sync.customer_matching" in field_messages(output)
    assert "from-the-env-42" not in output


def test_empty_password_says_so(tmp_path, capsys):
    code, output = validate(tmp_path, capsys, LINNWORKS + "target: {plugin: quickbooks_desktop, username: bob, "
                                                          "password: ''}\n")
    assert code == EXIT_CONFIG
    assert field_messages(output)["target.password"] == "must not be empty"


def test_non_secret_values_are_still_quoted(tmp_path, capsys):
    """Redaction is targeted: an ordinary typo is still shown, so the user can see what is wrong."""
    code, output = validate(tmp_path, capsys, LINNWORKS + QBO.format(secret="qbo-s3cret")
                            + "sync: {customer_matching: store_nme}\n")
    assert code == EXIT_CONFIG
    assert "'store_nme' is not allowed (did you mean 'store_name'?)" in output


SECRET_FIELDS = [("source", "application_secret"), ("source", "token"), ("target", "client_secret"),
                 ("target", "refresh_token"), ("target", "client_id")]
PASTE_TARGETS = [("sync", "schedule"), ("sync", "customer_matching"), ("sync", "orders"), ("sync", "document"),
                 ("sync", "exchange_rates"), ("sync", "order_status"), ("log", "level"), ("log", "format"),
                 ("daemon", "health"), ("sync", "purchases"), ("sync", "from_date"), ("state", None)]


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=st.text(alphabet="abcdefghijkXYZ0123456789-_.", min_size=4, max_size=24)
       .filter(lambda s: not s.strip("-_.").isdigit() and s[0] not in "-_." and not s.startswith("every")),
       owner=st.sampled_from(SECRET_FIELDS), pasted=st.lists(st.sampled_from(PASTE_TARGETS), min_size=1,
                                                             max_size=4, unique=True),
       quoted=st.booleans(), duplicate=st.booleans())
def test_a_secret_never_appears_in_any_message(tmp_path, capsys, secret, owner, pasted, quoted, duplicate):
    value = f'"{secret}"' if quoted else secret
    blocks = {
        "source": {"plugin": "linnworks", "application_id": "app-1", "application_secret": "lws-1", "token": "t-1"},
        "target": {"plugin": "quickbooks_online", "client_id": "c-1", "client_secret": "s-1",
                   "refresh_token": "r-1", "realm_id": '"1"'},
        "sync": {}, "log": {}, "daemon": {},
    }
    blocks[owner[0]][owner[1]] = value
    lines = []
    for block, key in pasted:
        if key is None:
            lines.append(f"{block}: {value}")
        else:
            blocks[block][key] = value
    for name, block in blocks.items():
        if block:
            lines.append(f"{name}:")
            lines.extend(f"  {k}: {v}" for k, v in block.items())
            if duplicate and name == owner[0]:
                lines.append(f"  {owner[1]}: {value}")
    code, output = validate(tmp_path, capsys, "\n".join(lines) + "\n")
    assert code in (EXIT_OK, EXIT_CONFIG), output  # a secret pasted as the state file's name is valid
    assert secret.lower() not in output.lower(), output
