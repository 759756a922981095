"""Loading ``connex.yaml``: schema-checked, every problem reported at once as ``file:line:col``.

The top-level shape is fixed by ``schemas/config.schema.json``; the ``source`` and ``target`` blocks are checked
against the chosen connector's own ``config_schema``, so third-party connectors get the same precise errors.
String values may reference environment variables as ``${NAME}`` or ``${NAME:-default}``; values under a
connector's ``secret_keys`` are collected so logs and output can redact them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connex import lint
from connex.errors import ConfigError, ConfigErrors, Location
from connex.paths import default_rules_dir, schema_path
from connex.plugin_manager import Plugins
from connex.schedule_spec import Schedule, parse_schedule
from connex.yamlfile import YamlFile, load_yaml, to_plain

DEFAULT_CONFIG = "connex.yaml"
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
ORDER_STATUSES = ("UNPAID", "PAID", "RETURN", "PENDING", "RESEND")


@dataclass
class SyncSettings:
    orders: str = "processed"
    order_status: str | None = None
    from_date: dt.date | None = None
    document: str = "sales_receipt"
    customer_matching: str = "store_name_currency"
    single_customer_name: str = "Web Store"
    purchases: bool = False
    refunds: bool = False
    inventory: bool = False
    schedule: Schedule | None = None
    on_change: str = "report"
    exchange_rates: str = "quickbooks"
    connection: str | None = None
    stock_reconcile_hours: float = 24.0
    negative_stock: str = "zero"

    @property
    def order_mode(self) -> str:
        """The seed's switch: an explicitly empty order-status field means open orders."""
        if self.order_status == "":
            return "open"
        return self.orders

    @property
    def statuses(self) -> tuple[str, ...]:
        if not self.order_status:
            return ()
        return tuple(s.strip().upper() for s in self.order_status.split(",") if s.strip())


@dataclass
class Config:
    path: str
    file: YamlFile
    source_plugin: str
    source: dict[str, Any]
    target_plugin: str
    target: dict[str, Any]
    sync: SyncSettings
    rule_paths: list[Path]
    state_path: Path
    log_level: str = "info"
    log_format: str = "text"
    health_listen: str = "127.0.0.1:8787"
    secrets: set[str] = field(default_factory=set)


def resolve_env(value: str, yf: YamlFile, path: tuple, errors: list[ConfigError]) -> str:
    def sub(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        errors.append(yf.error(path, f"environment variable {name} is not set"))
        return ""

    return ENV_REF.sub(sub, value)


def _resolve_block(block: dict, yf: YamlFile, prefix: tuple, errors: list[ConfigError]) -> dict:
    out = {}
    for key, value in block.items():
        if isinstance(value, str):
            out[key] = resolve_env(value, yf, prefix + (key,), errors)
        elif isinstance(value, dict):
            out[key] = _resolve_block(value, yf, prefix + (key,), errors)
        else:
            out[key] = value
    return out


def _connector_block(
    yf: YamlFile, side: str, registry: dict[str, type], errors: list[ConfigError], secrets: set[str]
) -> tuple[str, dict]:
    raw = yf.data.get(side) if isinstance(yf.data, dict) else None
    if not isinstance(raw, dict) or not isinstance(raw.get("plugin"), str):
        return "", {}  # the top-level schema already reported it
    plugin = str(raw["plugin"])
    cls = registry.get(plugin)
    if cls is None:
        known = sorted(registry)
        errors.append(
            yf.error((side, "plugin"), f"no {side} connector '{plugin}'{lint.did_you_mean(plugin, known)}; "
                     f"installed: {', '.join(known) or 'none'} (see `connex plugins`)")
        )
        return plugin, {}
    block = {k: v for k, v in raw.items() if k != "plugin"}
    schema = dict(cls.config_schema)
    errors.extend(lint.validate(yf, schema, data=block, prefix=(side,)))
    resolved = _resolve_block(to_plain(block), yf, (side,), errors)
    for key in getattr(cls, "secret_keys", ()):
        if resolved.get(key):
            secrets.add(str(resolved[key]))
    return plugin, resolved


def load_config(path: str | os.PathLike | None, plugins: Plugins) -> Config:
    path = str(path or DEFAULT_CONFIG)
    if not Path(path).exists():
        raise ConfigErrors([ConfigError(
            "configuration file not found; pass --config PATH, or run `connex demo` to try Connex against the "
            "built-in simulators", where=Location(path))])
    yf = load_yaml(path)
    errors: list[ConfigError] = []
    if not isinstance(yf.data, dict):
        raise ConfigErrors([yf.error((), "the configuration must be a mapping of settings")])
    errors.extend(lint.validate(yf, lint.load_schema(str(schema_path("config.schema.json")))))
    secrets: set[str] = set()
    source_plugin, source = _connector_block(yf, "source", plugins.sources(), errors, secrets)
    target_plugin, target = _connector_block(yf, "target", plugins.targets(), errors, secrets)

    data = to_plain(yf.data)
    sync_raw = data.get("sync") or {}
    sync = SyncSettings()
    for key, value in sync_raw.items() if isinstance(sync_raw, dict) else ():
        if key == "schedule" and isinstance(value, str):
            try:
                sync.schedule = parse_schedule(value)
            except ValueError as exc:
                errors.append(yf.error(("sync", "schedule"), str(exc)))
        elif key == "from_date" and isinstance(value, str):
            with contextlib.suppress(ValueError):  # a bad date is reported by the schema's date format
                sync.from_date = dt.date.fromisoformat(value)
        elif hasattr(sync, key):
            setattr(sync, key, value)
    for status in sync.statuses:
        if status not in ORDER_STATUSES:
            errors.append(yf.error(("sync", "order_status"),
                                   f"unknown order status '{status}'{lint.did_you_mean(status, ORDER_STATUSES)}; "
                                   f"one of: {', '.join(ORDER_STATUSES)}"))

    base = Path(path).resolve().parent
    rule_paths: list[Path] = []
    if data.get("default_rules", True):
        rule_paths.append(default_rules_dir())
    for i, entry in enumerate(data.get("rules") or []):
        if not isinstance(entry, str):
            continue
        candidate = (base / resolve_env(entry, yf, ("rules", i), errors)).resolve()
        if not candidate.exists():
            errors.append(yf.error(("rules", i), f"no such file or folder: {candidate}"))
        elif candidate not in rule_paths:
            rule_paths.append(candidate)

    if errors:
        failure = ConfigErrors(errors)
        failure.rule_paths = rule_paths  # so `connex validate` can still check the rule files the config names
        raise failure
    log = data.get("log") or {}
    return Config(
        path=path,
        file=yf,
        source_plugin=source_plugin,
        source=source,
        target_plugin=target_plugin,
        target=target,
        sync=sync,
        rule_paths=rule_paths,
        state_path=base / str(data.get("state") or "connex.db"),
        log_level=log.get("level", "info"),
        log_format=log.get("format", "text"),
        health_listen=(data.get("daemon") or {}).get("health", "127.0.0.1:8787"),
        secrets=secrets,
    )
