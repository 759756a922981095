"""The console served by uvicorn in a thread of the daemon (or in the foreground for ``connex console``)."""

from __future__ import annotations

import logging
import ssl
import threading
import time

import uvicorn

from connex.console.app import create_app
from connex.console.settings import ConsoleSettings
from connex.errors import ConfigError, Location

log = logging.getLogger(__name__)


class ConsoleServer:
    def __init__(self, configs, plugins, runners, settings: ConsoleSettings | None = None):
        """``configs``: one ``Config`` with its runner, or a deployment's list with ``{name: runner}``."""
        first = configs[0] if isinstance(configs, (list, tuple)) else configs
        self.settings = settings or ConsoleSettings.from_config(first)
        self.app = create_app(configs, plugins, runners, self.settings)
        s = self.settings
        if s.tls_cert:  # a bad pair is a config error now, not a thread that dies later
            try:
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(s.tls_cert, s.tls_key)
            except (ssl.SSLError, OSError) as exc:
                raise ConfigError(f"tls_cert/tls_key: {getattr(exc, 'reason', None) or exc}",
                                  where=Location("console", field="tls_cert")) from None
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, host=s.host, port=s.port, ssl_certfile=s.tls_cert, ssl_keyfile=s.tls_key, lifespan="off",
            log_level="warning", access_log=False, server_header=False, timeout_keep_alive=5,
            limit_concurrency=64, proxy_headers=False))
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.settings.host
        port = self.port
        host = f"[{host}]" if ":" in host else host
        return f"{self.settings.scheme}://{host}:{port}"

    @property
    def port(self) -> int:
        servers = getattr(self.server, "servers", None) or []
        for server in servers:
            for sock in server.sockets:
                return sock.getsockname()[1]
        return self.settings.port

    def start(self, timeout: float = 15.0) -> ConsoleServer:
        self.thread = threading.Thread(target=self.server.run, name="console", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the console cannot listen on {self.settings.host}:{self.settings.port} (is the "
                                  "port in use?)", where=Location("console", field="listen"))
            time.sleep(0.05)
        log.info("console on %s", self.url)
        return self

    def serve_forever(self) -> None:
        """In the foreground until SIGINT or SIGTERM (uvicorn's own handlers)."""
        self.server.run()

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.app.state.console.close()
