"""The ``console:`` block of connex.yaml: where the console listens, who may sign in, TLS, sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from connex.config import Config
from connex.daemon.health import parse_listen
from connex.errors import ConfigError

DEFAULT_LISTEN = "127.0.0.1:8790"
ROLES = ("viewer", "operator")


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    role: str

    @property
    def can_act(self) -> bool:
        return self.role == "operator"


@dataclass
class ConsoleSettings:
    host: str
    port: int
    users: dict[str, User] = field(default_factory=dict)
    tls_cert: str | None = None
    tls_key: str | None = None
    session_seconds: int = 8 * 3600
    secret_key: str | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @classmethod
    def from_config(cls, config: Config, listen: str | None = None) -> ConsoleSettings:
        block = config.console or {}
        file = config.console_file or config.file  # a deployment's console is in its main file
        where = ("console", "listen")
        try:
            host, port = parse_listen(listen or block.get("listen") or DEFAULT_LISTEN)
        except ValueError as exc:
            if listen:
                raise ConfigError(f"--listen: {exc}") from None
            raise file.error(where, str(exc)) from None
        users = {}
        for name, entry in (block.get("users") or {}).items():
            if not isinstance(entry, dict) or entry.get("role") not in ROLES:  # the schema reported it
                continue
            users[str(name)] = User(str(name), str(entry.get("password_hash") or ""), entry["role"])
        base = Path(file.path).resolve().parent
        cert, key = block.get("tls_cert"), block.get("tls_key")
        if bool(cert) != bool(key):
            raise file.error(("console", "tls_cert" if cert else "tls_key"),
                                    "tls_cert and tls_key go together (https needs both)")
        paths = []
        for name in ("tls_cert", "tls_key"):
            value = block.get(name)
            if value:
                path = (base / str(value)).resolve()
                if not path.is_file():
                    raise file.error(("console", name), f"cannot read {path}: no such file")
                value = str(path)
            paths.append(value)
        secret_key = block.get("secret_key")
        if secret_key is not None and len(str(secret_key)) < 32:
            raise file.error(("console", "secret_key"), "must be 32 characters or more (it signs the "
                                    "session cookies); or leave it out for a random key kept in the state file")
        return cls(host=host, port=port, users=users, tls_cert=paths[0], tls_key=paths[1],
                   session_seconds=int(float(block.get("session_hours", 8)) * 3600),
                   secret_key=block.get("secret_key"))
