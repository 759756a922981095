"""`/healthz` (the loop's heartbeat) and `/status` (JSON) on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HealthServer:
    def __init__(self, listen: str, healthz: Callable[[], tuple[bool, dict]], status: Callable[[], dict]):
        host, port = listen.rsplit(":", 1)
        handler = self._handler(healthz, status)
        self.httpd = ThreadingHTTPServer((host, int(port)), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="health", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HealthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def _handler(healthz, status):
        class Handler(BaseHTTPRequestHandler):
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
