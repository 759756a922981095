"""Finding and loading plugins, one at a time, so that one broken plugin never takes the others down.

pluggy's own ``load_setuptools_entrypoints`` loads every entry point in one unguarded loop; here each entry point
is imported, checked (every ``connex_*`` hookimpl must name a known hook) and registered on its own, and each
hook is called plugin by plugin. Whatever goes wrong is recorded against that plugin and shown by
``connex plugins``; the rest keep working.

Environment:
* ``CONNEX_LOAD_PLUGINS=a,b``: load only these entry points (an allowlist, e.g. for CI).
* ``CONNEX_DISABLE_PLUGINS=a,b``: skip these entry points.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from connex import hookspecs

ENTRY_POINT_GROUP = "connex.plugins"
HOOK_NAMES = sorted(name for name in dir(hookspecs) if name.startswith("connex_"))


@dataclass
class PluginRecord:
    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)  # hook -> names it registered
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "error" if self.errors else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": self.hooks,
            "registered": self.registered,
            "status": self.status,
            "errors": self.errors,
        }


def _short_traceback(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return "".join(lines).strip() + where


def _env_list(name: str) -> set[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


class Plugins:
    """The loaded plugins and what they registered."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("connex")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self._registry_cache: dict[str, dict[str, Any]] = {}

    # --- loading -------------------------------------------------------------------------------------------
    def load_entry_points(self) -> None:
        allow = _env_list("CONNEX_LOAD_PLUGINS")
        deny = _env_list("CONNEX_DISABLE_PLUGINS") or set()
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if (allow is not None and ep.name not in allow) or ep.name in deny or ep.name in self.records:
                continue
            record = PluginRecord(name=ep.name, module=ep.value)
            if ep.dist is not None:
                record.distribution, record.version = ep.dist.name, ep.dist.version
            self.records[ep.name] = record
            try:
                module = ep.load()
            except Exception as exc:  # any import-time failure belongs to that plugin alone
                record.errors.append(f"failed to import: {_short_traceback(exc)}")
                continue
            self.register(module, ep.name, record)

    def register(self, module: Any, name: str, record: PluginRecord | None = None) -> PluginRecord:
        """Register one plugin object (module or instance); used for entry points and by tests."""
        if record is None:
            record = self.records.setdefault(name, PluginRecord(name=name, module=getattr(module, "__name__", name)))
        unknown = [
            attr for attr in dir(module)
            if attr.startswith("connex_") and self.pm.parse_hookimpl_opts(module, attr) is not None
            and attr not in HOOK_NAMES
        ]
        if unknown:
            from connex.lint import did_you_mean  # only a broken plugin pays for the YAML linter's import

        for attr in unknown:
            record.errors.append(f"unknown hook '{attr}'{did_you_mean(attr, HOOK_NAMES)}")
        if unknown:
            return record
        try:
            self.pm.register(module, name=name)
        except Exception as exc:  # pluggy validates hookimpl signatures here
            record.errors.append(f"failed to register: {_short_traceback(exc)}")
            return record
        record.hooks = sorted(h.name for h in (self.pm.get_hookcallers(module) or []))
        self._registry_cache.clear()
        return record

    # --- registries ----------------------------------------------------------------------------------------
    def _collect(self, hook_name: str, validate: Callable[[str, Any], str | None] | None = None) -> dict[str, Any]:
        if hook_name in self._registry_cache:
            return self._registry_cache[hook_name]
        merged: dict[str, Any] = {}
        owners: dict[str, str] = {}
        hook = getattr(self.pm.hook, hook_name)
        # get_hookimpls() is in registration order (entry points sorted by name): the first registration wins
        for impl in hook.get_hookimpls():
            record = self.records[impl.plugin_name]
            try:
                result = impl.function()
            except Exception as exc:
                record.errors.append(f"{hook_name} raised: {_short_traceback(exc)}")
                continue
            if result is None:
                continue
            if not isinstance(result, dict):
                record.errors.append(f"{hook_name} must return a dict, got {type(result).__name__}")
                continue
            names = record.registered.setdefault(hook_name, [])
            for key, value in result.items():
                problem = validate(key, value) if validate else None
                if problem:
                    record.errors.append(f"{hook_name}: '{key}' {problem}")
                elif key in merged:
                    record.errors.append(f"{hook_name}: '{key}' is already registered by plugin '{owners[key]}'")
                else:
                    merged[key] = value
                    owners[key] = impl.plugin_name
                    if key not in names:
                        names.append(key)
        self._registry_cache[hook_name] = merged
        return merged

    def sources(self) -> dict[str, type]:
        from connex.connectors import SourceConnector

        return self._collect("connex_sources", _subclass_check(SourceConnector))

    def targets(self) -> dict[str, type]:
        from connex.connectors import TargetConnector

        return self._collect("connex_targets", _subclass_check(TargetConnector))

    def simulators(self) -> dict[str, Callable]:
        return self._collect("connex_simulators", _callable_check)

    def rule_actions(self) -> dict[str, Any]:
        return self._collect("connex_rule_actions")

    def comparisons(self) -> dict[str, Callable]:
        return self._collect("connex_comparisons", _callable_check)

    def jinja_filters(self) -> dict[str, Callable]:
        return self._collect("connex_jinja_filters", _callable_check)

    def commands(self) -> dict[str, tuple[str, str]]:
        """Plugin commands: ``{name: (help, module)}``; the module is not imported here."""
        return self._collect("connex_commands", _command_check)

    def collect_all(self) -> None:
        """Call every registration hook once, so that ``connex plugins`` can show what each plugin offers."""
        for fn in (self.sources, self.targets, self.simulators, self.rule_actions, self.comparisons,
                   self.jinja_filters, self.commands):
            fn()


def _subclass_check(base: type) -> Callable[[str, Any], str | None]:
    def check(name: str, value: Any) -> str | None:
        if not (inspect.isclass(value) and issubclass(value, base)):
            return f"is not a {base.__name__} subclass"
        missing = sorted(getattr(value, "__abstractmethods__", ()))
        if missing:
            return f"does not implement {', '.join(missing)}"
        return None

    return check


def _callable_check(name: str, value: Any) -> str | None:
    return None if callable(value) else "is not callable"


_COMMAND_NAME = re.compile(r"[a-z][a-z0-9-]*\Z")


def _command_check(name: str, value: Any) -> str | None:
    from connex.commands import CORE_COMMANDS

    if not isinstance(name, str) or not _COMMAND_NAME.match(name):
        return "is not a command name (lower-case letters, digits and '-')"
    if name in CORE_COMMANDS:
        return "is a core command"
    if not (isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, str) and v for v in value)):
        return "must map to (help text, module name)"
    return None


_loaded: Plugins | None = None


def get_plugins(*, reload: bool = False) -> Plugins:
    """The process-wide plugin set, loaded from entry points on first use."""
    global _loaded
    if _loaded is None or reload:
        _loaded = Plugins()
        _loaded.load_entry_points()
    return _loaded
