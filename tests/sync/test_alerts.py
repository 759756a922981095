"""Alerts reach a real local HTTP receiver and a real local SMTP server; one per condition per hour."""

from __future__ import annotations

import datetime as dt
import json
import socketserver
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connex.alerts import Alerts
from connex.state import open_state
from connex.sync.report import FlowReport


class Receiver:
    """A webhook endpoint on 127.0.0.1 recording each JSON body it is POSTed."""

    def __init__(self):
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - name fixed by BaseHTTPRequestHandler
                length = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """Just enough SMTP (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, QUIT) to receive messages on 127.0.0.1."""

    def __init__(self):
        self.messages: list = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str):
                self.wfile.write((line + "\r\n").encode())

            def handle(self):
                self.reply("220 localhost test sink")
                envelope = {"to": []}
                while True:
                    line = self.rfile.readline().decode().rstrip("\r\n")
                    verb = line[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 localhost")
                    elif verb == "MAIL":
                        envelope["from"] = line
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        envelope["to"].append(line)
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with .")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        outer.messages.append((envelope, message_from_bytes(b"".join(data))))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    elif not line:
                        return
                    else:
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def smtp():
    s = SmtpSink()
    yield s
    s.close()


def _report():
    report = FlowReport("orders")
    for n in (100001, 100002, 100003):
        report.fail(f"sales receipt {n}", "item 'MUG-01' is not in QuickBooks (missing_items: fail)")
    report.fail("sales receipt 100004", "see https://quickbooks.example/help?token=abc for why")
    return report


def test_failures_alert_by_webhook_and_email_once_an_hour(tmp_path, receiver, smtp):
    state = open_state(tmp_path / "connex.db")
    settings = {"webhook": receiver.url, "email": {"host": "127.0.0.1", "port": smtp.port, "from": "connex@shop.test",
                                                   "to": ["ops@shop.test", "owner@shop.test"]}}
    alerts = Alerts(settings, state, connection="shop-live", secrets={"abc"})
    assert alerts.after_pass([_report()]) == ["failures:orders"]
    body = receiver.bodies[0]
    assert body["connection"] == "shop-live" and body["flow"] == "orders" and body["condition"] == "failures"
    assert body["summary"] == "orders: 4 documents failed"
    first = body["failures"][0]
    assert first["count"] == 3 and first["subjects"] == {"MUG-01": 3}
    assert first["documents"] == ["sales receipt 100001", "sales receipt 100002", "sales receipt 100003"]
    assert "http" not in json.dumps(body) and "abc" not in json.dumps(body)  # link-free, no secrets
    envelope, message = smtp.messages[0]
    assert message["Subject"] == "[connex] shop-live: orders: 4 documents failed"
    assert len(envelope["to"]) == 2
    assert "MUG-01 (3)" in message.get_payload()

    # within the hour: nothing more, whatever fails
    assert alerts.after_pass([_report()]) == []
    assert len(receiver.bodies) == 1 and len(smtp.messages) == 1
    # an hour later (the time the store remembers), the condition alerts again; a new condition at once
    state.put("alert:failures:orders", (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=61)).isoformat())
    stopped = FlowReport("purchases", incomplete="Linnworks stayed unreachable for 300 s")
    assert sorted(alerts.after_pass([_report(), stopped])) == ["failures:orders", "incomplete:purchases"]
    incomplete = next(b for b in receiver.bodies[1:] if b["condition"] == "incomplete")
    assert incomplete["flow"] == "purchases" and incomplete["failures"] == []
    assert "Linnworks stayed unreachable for 300 s" in incomplete["summary"]
    state.close()


def test_an_unreachable_receiver_is_retried_next_pass(tmp_path, receiver):
    state = open_state(tmp_path / "connex.db")
    dead = Alerts({"webhook": "http://127.0.0.1:9/hook"}, state, connection="c")
    assert dead.after_pass([_report()]) == []  # logged, not remembered: the next pass tries again
    assert state.get("alert:failures:orders") is None
    state.close()


def test_credentials_alert_from_connex_sync(workspace, receiver):
    config = json.loads((workspace.folder / "connex.yaml").read_text())
    config["source"]["token"] = "not-the-token"
    config["sync"]["purchases"] = config["sync"]["refunds"] = False
    config["alerts"] = {"webhook": receiver.url}
    (workspace.folder / "connex.yaml").write_text(json.dumps(config))
    proc = workspace.cli("sync", "--no-progress")
    assert proc.returncode != 0
    assert len(receiver.bodies) == 1, proc.stdout + proc.stderr
    body = receiver.bodies[0]
    assert body["condition"] == "credentials" and body["flow"] == "orders"
    assert body["connection"] == workspace.folder.name
    assert "orders: the credentials (or a remote setting) were rejected: " in body["summary"]
    workspace.cli("sync", "--no-progress")
    assert len(receiver.bodies) == 1  # once an hour


def test_alerts_config_errors_name_file_line_field(workspace):
    path = workspace.folder / "connex.yaml"
    config = json.loads(path.read_text())
    config["alerts"] = {"webhook": "ftp://x", "email": {"host": "h"}}
    path.write_text(json.dumps(config, indent=1))
    proc = workspace.cli("validate")
    assert proc.returncode == 2
    assert "connex.yaml:" in proc.stderr and "alerts.webhook" in proc.stderr, proc.stderr
    assert "alerts.email" in proc.stderr and "from" in proc.stderr
