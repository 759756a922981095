"""`/healthz` (the loop's heartbeat) and `/status` (JSON) on 127.0.0.1 unless another host is named."""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer

from connex.errors import ConfigError, Location
from connex.http_server import BoundedHandlerMixIn, BoundedServerMixIn

DEFAULT_HOST = "127.0.0.1"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` (which means 127.0.0.1, never every interface: ``/status`` is for this
    machine unless the user names an address). HOST is an IP address or ``localhost``; ``[::1]:PORT`` for
    IPv6. Raises ValueError with a sentence saying what is wrong."""
    host, sep, port_text = str(text).strip().rpartition(":")
    if not sep:
        raise ValueError(f"expected HOST:PORT or :PORT, got {text!r}")
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5 or int(port_text) > 65535:
        raise ValueError(f"the port must be a number from 0 to 65535, got {port_text!r}")
    if not host:
        host = DEFAULT_HOST
    elif host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"the host must be an IP address or localhost, got {host!r}") from None
    return host, int(port_text)


def listen_argument(text: str) -> str:
    """``--health``'s argparse type: a bad value is a usage error (exit 2), never a traceback."""
    try:
        host, port = parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _BoundedHTTPServer(BoundedServerMixIn, HTTPServer):
    workers = 4  # monitoring polls one request at a time
    max_waiting = 64
    request_timeout = 10.0
    max_body_bytes = 0  # only GET is answered


class _IPv6BoundedHTTPServer(_BoundedHTTPServer):
    address_family = socket.AF_INET6


class HealthServer:
    def __init__(self, listen: str, healthz: Callable[[], tuple[bool, dict]], status: Callable[[], dict]):
        where = Location("daemon", field="health")
        try:
            host, port = parse_listen(listen)
        except ValueError as exc:
            raise ConfigError(f"daemon health address: {exc}", where=where) from None
        handler = self._handler(healthz, status)
        server_class = _IPv6BoundedHTTPServer if ":" in host else _BoundedHTTPServer
        try:
            self.httpd = server_class((host, port), handler)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {listen}: {exc.strerror or exc}", where=where) from None
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="health", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> HealthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def _handler(healthz, status):
        class Handler(BoundedHandlerMixIn, BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - name fixed by BaseHTTPRequestHandler
                if self.path == "/healthz":
                    ok, body = healthz()
                    self._send(200 if ok else 503, body)
                elif self.path == "/status":
                    self._send(200, status())
                else:
                    self._send(404, {"error": "try /healthz or /status"})

            def _send(self, code: int, body: dict) -> None:
                payload = json.dumps(body, default=str).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):  # noqa: A002 - quiet: health checks poll often
                pass

        return Handler
