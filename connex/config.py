"""Loading ``connex.yaml``: schema-checked, every problem reported at once as ``file:line:col``.

The top-level shape is fixed by ``schemas/config.schema.json``; the ``source`` and ``target`` blocks are checked
against the chosen connector's own ``config_schema``, so third-party connectors get the same precise errors.
String values may reference environment variables as ``${NAME}`` or ``${NAME:-default}``; values under a
connector's ``secret_keys`` are collected so logs and output can redact them.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connex import lint
from connex.errors import ConfigError, ConfigErrors, Location
from connex.paths import default_rules_dir, schema_path
from connex.plugin_manager import Plugins
from connex.redaction import Secrets
from connex.schedule_spec import Schedule, parse_schedule
from connex.state.target import StateTarget, is_url, state_target, url_password
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
    #: per_order (one document per order) or summary (one per store + currency + period: connex.sync.summary_flow)
    posting: str = "per_order"
    summary: dict = field(default_factory=dict)  # sync.summary, read by connex.sync.summarise.SummarySettings

    @property
    def order_mode(self) -> str:
        """The seed's switch: an explicitly empty order-status field means open orders."""
        if self.order_status == "":
            return "open"
        return self.orders

    @property
    def statuses(self) -> tuple[str, ...]:
        if not self.order_status or not isinstance(self.order_status, str):  # a wrong type: the schema said so
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
    state_path: StateTarget  # a SQLite file, or a PostgreSQL URL whose str() hides the password
    log_level: str = "info"
    log_format: str = "text"
    health_listen: str = "127.0.0.1:8787"
    secrets: set[str] = field(default_factory=set)
    alerts: dict[str, Any] = field(default_factory=dict)
    console: dict[str, Any] = field(default_factory=dict)  # the web console (connex/console): off when empty
    #: the connection's name: its file's stem in a connections folder, "default" for a single connex.yaml
    name: str = "default"
    #: where ``console`` is written when it is the deployment's (its main file), for messages and TLS paths
    console_file: YamlFile | None = None


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
    yf: YamlFile, side: str, registry: dict[str, type], errors: list[ConfigError], secrets: Secrets
) -> tuple[str, dict]:
    raw = yf.data.get(side) if isinstance(yf.data, dict) else None
    if not isinstance(raw, dict) or not isinstance(raw.get("plugin"), str):
        return "", {}  # the top-level schema already reported it
    plugin = str(raw["plugin"])
    cls = registry.get(plugin)
    if cls is None:
        known = sorted(registry)
        hint = "" if yf.hide((side, "plugin"), plugin) else lint.did_you_mean(plugin, known)
        errors.append(
            yf.error((side, "plugin"), f"no {side} connector {yf.quote((side, 'plugin'), plugin)}{hint}; "
                     f"installed: {', '.join(known) or 'none'} (see `connex plugins`)")
        )
        return plugin, {}
    block = {k: v for k, v in raw.items() if k != "plugin"}
    schema = dict(cls.config_schema)
    errors.extend(lint.validate(yf, schema, data=block, prefix=(side,)))
    resolved = _resolve_block(to_plain(block), yf, (side,), errors)
    secrets.collect(resolved)  # values from ${ENV} references too
    for key in getattr(cls, "secret_keys", ()):
        secrets.add(resolved.get(key))
    return plugin, resolved


def load_config(path: str | os.PathLike | None, plugins: Plugins, *, connection: str | None = None) -> Config:
    """One connection's configuration: ``connection`` names it; without a name the deployment must hold exactly
    one (a single ``connex.yaml`` is the deployment of one connection, ``default``)."""
    from connex.deployment import load_deployment

    return load_deployment(path, plugins).one(connection)


def read_config_file(path: str | os.PathLike | None) -> YamlFile:
    path = str(path or DEFAULT_CONFIG)
    if not Path(path).exists():
        raise ConfigErrors([ConfigError(
            "configuration file not found; pass --config PATH, or run `connex demo` to try Connex against the "
            "built-in simulators", where=Location(path))])
    yf = load_yaml(path)
    if not isinstance(yf.data, dict):
        raise ConfigErrors([yf.error((), "the configuration must be a mapping of settings")])
    return yf


@dataclass
class Shared:
    """What a deployment's main file gives every connection: defaults each connection file may override
    (``sync`` key by key, ``alerts`` as a whole), rules applied before the connection's own, and the settings
    of the process (state, log, daemon)."""

    path: str
    sync: SyncSettings
    sync_keys: frozenset[str]
    default_rules: bool
    rule_paths: list[Path]
    state_path: StateTarget
    log_level: str
    log_format: str
    health_listen: str
    alerts: dict[str, Any]
    alert_secrets: set[str]
    #: the deployment's web console (one for every connection), and the main file it is written in
    console: dict[str, Any] = field(default_factory=dict)
    file: YamlFile | None = None


def load_single(yf: YamlFile, plugins: Plugins, *, name: str = "default",
                shared: Shared | None = None, schema: dict | None = None) -> Config:
    """A connection from ``yf``: the whole of a single ``connex.yaml``, or one file of a connections folder on
    top of ``shared``. Every problem at once (``ConfigErrors``, with ``rule_paths`` for ``connex validate``)."""
    path = yf.path
    errors: list[ConfigError] = []
    secrets = Secrets(_secret_key_names(plugins))
    secrets.collect(yf.data)
    _hide_state_password(yf, secrets)
    if shared is not None:
        for value in shared.alert_secrets:
            secrets.add(value)
    yf.hide = secrets.hides
    errors.extend(lint.validate(yf, schema or lint.load_schema(str(schema_path("config.schema.json")))))
    source_plugin, source = _connector_block(yf, "source", plugins.sources(), errors, secrets)
    target_plugin, target = _connector_block(yf, "target", plugins.targets(), errors, secrets)

    data = to_plain(yf.data)
    sync = copy.copy(shared.sync) if shared is not None else SyncSettings()
    _apply_sync(sync, yf, data.get("sync"), errors)
    if shared is not None and sync.connection is None:
        sync.connection = name  # rules scoped to connections match a folder's connection by its name

    base = Path(path).resolve().parent
    rule_paths: list[Path] = []
    default_rules = data.get("default_rules", shared.default_rules if shared is not None else True)
    if default_rules:
        rule_paths.append(default_rules_dir())
    for inherited in shared.rule_paths if shared is not None else ():
        if inherited not in rule_paths:
            rule_paths.append(inherited)
    rule_paths.extend(p for p in _rule_entries(yf, data, base, errors) if p not in rule_paths)
    state = shared.state_path if shared is not None else _state(yf, data.get("state"), base, errors, secrets)

    if errors:
        # the last net: whatever a message says, no known secret gets through it
        failure = ConfigErrors(secrets.scrub_errors(errors))
        failure.rule_paths = rule_paths  # so `connex validate` can still check the rule files the config names
        raise failure
    if shared is not None and "alerts" not in data:
        alerts = dict(shared.alerts)
    else:
        alerts = _alerts(yf, data.get("alerts"), errors, secrets)
    if shared is not None:
        console = shared.console
    else:
        console = _resolve_block(data["console"], yf, ("console",), errors) \
            if isinstance(data.get("console"), dict) else {}
    secrets.add(console.get("secret_key"))  # signs the console's session cookies: never shown
    if errors:
        failure = ConfigErrors(errors)
        failure.rule_paths = rule_paths
        raise failure
    if shared is not None:
        log_level, log_format = shared.log_level, shared.log_format
        health = shared.health_listen
    else:
        log = data.get("log") or {}
        log_level, log_format = log.get("level", "info"), log.get("format", "text")
        health = (data.get("daemon") or {}).get("health", "127.0.0.1:8787")
    return Config(
        path=path,
        file=yf,
        source_plugin=source_plugin,
        source=source,
        target_plugin=target_plugin,
        target=target,
        sync=sync,
        rule_paths=rule_paths,
        state_path=state,
        log_level=log_level,
        log_format=log_format,
        health_listen=health,
        secrets=secrets.values,
        alerts=alerts,
        console=console,
        name=name,
        console_file=shared.file if shared is not None else None,
    )


def _apply_sync(sync: SyncSettings, yf: YamlFile, sync_raw: Any, errors: list[ConfigError]) -> set[str]:
    """``sync:`` of ``yf`` over ``sync`` (the defaults, or a deployment's shared settings); returns the keys set."""
    given: set[str] = set()
    for key, value in sync_raw.items() if isinstance(sync_raw, dict) else ():
        given.add(key)
        if key == "schedule" and isinstance(value, str):
            try:
                sync.schedule = parse_schedule(value)
            except ValueError as exc:
                if not any(e.where == yf.locate(("sync", "schedule")) for e in errors):  # the schema said it
                    errors.append(yf.error(("sync", "schedule"), str(exc)))
        elif key == "from_date" and isinstance(value, str):
            with contextlib.suppress(ValueError):  # a bad date is reported by the schema's date format
                sync.from_date = dt.date.fromisoformat(value)
        elif hasattr(sync, key):
            setattr(sync, key, value)
    if "order_status" in given:
        for status in sync.statuses:
            if status not in ORDER_STATUSES:
                where = ("sync", "order_status")
                hint = "" if yf.hide(where, status) else lint.did_you_mean(status, ORDER_STATUSES)
                errors.append(yf.error(where, f"unknown order status {yf.quote(where, status)}{hint}; "
                                              f"one of: {', '.join(ORDER_STATUSES)}"))
    zone_name = sync.summary.get("time_zone") if "summary" in given and isinstance(sync.summary, dict) else None
    if isinstance(zone_name, str):
        try:
            ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(yf.error(("sync", "summary", "time_zone"), f"unknown time zone {zone_name!r}; use an IANA "
                                   "name such as Europe/London or America/New_York"))
    return given


def _rule_entries(yf: YamlFile, data: dict, base: Path, errors: list[ConfigError]) -> list[Path]:
    """The ``rules:`` entries of one file, resolved against its folder."""
    found: list[Path] = []
    entries = data.get("rules") if isinstance(data.get("rules"), list) else []  # else the schema reported it
    for i, entry in enumerate(entries):
        if not isinstance(entry, str):
            continue
        candidate = (base / resolve_env(entry, yf, ("rules", i), errors)).resolve()
        if not candidate.exists():
            errors.append(yf.error(("rules", i), f"no such file or folder: {candidate}"))
        elif candidate not in found:
            found.append(candidate)
    return found


def load_shared(yf: YamlFile, plugins: Plugins, schema: dict, errors: list[ConfigError]) -> Shared:
    """The main file of a deployment with a connections folder: its shared defaults, problems into ``errors``."""
    secrets = Secrets(_secret_key_names(plugins))
    secrets.collect(yf.data)
    _hide_state_password(yf, secrets)
    yf.hide = secrets.hides
    found: list[ConfigError] = []
    shared = _shared(yf, schema, found, secrets)
    errors.extend(secrets.scrub_errors(found))  # no known secret in any message
    return shared


def _shared(yf: YamlFile, schema: dict, errors: list[ConfigError], secrets: Secrets) -> Shared:
    errors.extend(lint.validate(yf, schema))
    data = to_plain(yf.data)
    sync = SyncSettings()
    given = _apply_sync(sync, yf, data.get("sync"), errors)
    base = Path(yf.path).resolve().parent
    default_rules = data.get("default_rules", True)
    rule_paths = _rule_entries(yf, data, base, errors)
    alerts = _alerts(yf, data.get("alerts"), errors, secrets)
    log = data.get("log") if isinstance(data.get("log"), dict) else {}
    daemon = data.get("daemon") if isinstance(data.get("daemon"), dict) else {}
    console = _resolve_block(data["console"], yf, ("console",), errors) if isinstance(data.get("console"), dict) \
        else {}
    secrets.add(console.get("secret_key"))
    return Shared(
        path=yf.path, sync=sync, sync_keys=frozenset(given), default_rules=bool(default_rules),
        rule_paths=rule_paths, state_path=_state(yf, data.get("state"), base, errors, secrets),
        log_level=log.get("level", "info"), log_format=log.get("format", "text"),
        health_listen=daemon.get("health", "127.0.0.1:8787"), alerts=alerts, alert_secrets=set(secrets.values),
        console=console, file=yf,
    )


def _hide_state_password(yf: YamlFile, secrets: Secrets) -> None:
    if isinstance(yf.data.get("state"), str) and is_url(yf.data["state"]):
        secrets.add(url_password(yf.data["state"]))  # a password written into the URL is never shown


def _state(yf: YamlFile, value, base: Path, errors: list[ConfigError], secrets: Secrets) -> StateTarget:
    """``state:``: a SQLite file relative to the config's folder (default ``connex.db``), or a PostgreSQL URL,
    with ${ENV} references resolved (a password belongs in the environment, not the file)."""
    if not isinstance(value, str) or not value.strip():
        return base / "connex.db"
    resolved = resolve_env(value, yf, ("state",), errors)
    if not is_url(resolved):
        return base / resolved
    secrets.add(url_password(resolved))
    try:
        return state_target(resolved)
    except ConfigError as exc:
        errors.append(yf.error(("state",), secrets.scrub(str(exc))))
        return base / "connex.db"


def _secret_key_names(plugins: Plugins) -> set[str]:
    """Every key any installed connector calls secret: the file may name a connector that is not installed, or
    put a key in the wrong block."""
    names: set[str] = set()
    for registry in (plugins.sources(), plugins.targets()):
        for cls in registry.values():
            names.update(getattr(cls, "secret_keys", ()) or ())
    return names


def _alerts(yf: YamlFile, block, errors: list[ConfigError], secrets: Secrets) -> dict[str, Any]:
    """``alerts:`` with ${ENV} resolved; the webhook URL (it often embeds a token) and the SMTP password are
    secrets, never logged."""
    if not isinstance(block, dict):
        return {}
    alerts = dict(block)
    if isinstance(alerts.get("webhook"), str):
        alerts["webhook"] = resolve_env(alerts["webhook"], yf, ("alerts", "webhook"), errors)
        secrets.add(alerts["webhook"])
    if isinstance(alerts.get("email"), dict):
        email = dict(alerts["email"])
        for key in ("host", "username", "password", "from"):
            if isinstance(email.get(key), str):
                email[key] = resolve_env(email[key], yf, ("alerts", "email", key), errors)
        if email.get("password"):
            secrets.add(email["password"])
        alerts["email"] = email
    return alerts
