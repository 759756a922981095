"""A deployment: the connections one Connex installation serves, each a Linnworks account and a QuickBooks company.

A single ``connex.yaml`` with ``source`` and ``target`` is a deployment of one connection, named ``default``.
With ``connections: FOLDER`` the main file holds only what every connection shares (rules folders, sync
defaults such as the schedule, log, state, daemon, alerts) and each ``FOLDER/NAME.yaml`` is one client: its
source, target, sync settings, rules and alerts, secrets as ``${ENV}`` references. The file's stem is the
connection's name.

A broken connection file does not stop the others from being used one by one (``--connection``); commands that
take every connection (``validate``, the daemon) report every problem of every file at once.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from connex import lint
from connex.config import Config, load_shared, load_single, read_config_file
from connex.errors import ConfigError, ConfigErrors, Location
from connex.paths import schema_path
from connex.plugin_manager import Plugins
from connex.yamlfile import load_yaml

DEFAULT_CONNECTION = "default"
DEFAULT_MAX_PARALLEL = 4
# a name becomes part of file names (the interim per-connection state file), URLs and log lines: keep it plain;
# compared without case so two names never clash on a case-insensitive disk
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
NAME_RULE = "letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters"
CONNECTION_KEYS = ("source", "target", "sync", "rules", "default_rules", "alerts")
SHARED_ONLY = ("state", "log", "daemon", "connections", "workers")
FILE_SUFFIXES = (".yaml", ".yml")


@dataclass
class Deployment:
    path: str
    connections: dict[str, Config]
    #: connection name -> its problems; a broken file is listed here, not in ``connections``
    problems: dict[str, ConfigErrors] = field(default_factory=dict)
    #: problems of the main file: every connection inherits them
    shared_problems: list[ConfigError] = field(default_factory=list)
    folder: Path | None = None
    max_parallel: int = DEFAULT_MAX_PARALLEL
    health_listen: str = "127.0.0.1:8787"
    log_level: str = "info"
    log_format: str = "text"
    state_path: Path | None = None
    rule_paths: list[Path] = field(default_factory=list)  # every rules path any connection names, for validate
    #: the ``workers:`` block (``connex worker``/``connex scheduler``), as validated by the schema
    workers: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return sorted({*self.connections, *self.problems}, key=str.lower)

    @property
    def secrets(self) -> set[str]:
        return set().union(*(c.secrets for c in self.connections.values())) if self.connections else set()

    def all_problems(self) -> list[ConfigError]:
        found = list(self.shared_problems)
        for name in self.names:
            if name in self.problems:
                found.extend(self.problems[name].errors)
        return found

    def select(self, names: list[str] | None = None) -> list[Config]:
        """The named connections (every one by default), in name order; ``ConfigErrors`` with every problem of
        the main file and of the chosen connections' files."""
        chosen = self.names if not names else [self._known(n) for n in dict.fromkeys(names)]
        problems = list(self.shared_problems)
        for name in chosen:
            if name in self.problems:
                problems.extend(self.problems[name].errors)
        if problems:
            failure = ConfigErrors(problems)
            failure.rule_paths = self.rule_paths
            raise failure
        return [self.connections[name] for name in chosen]

    def one(self, name: str | None = None) -> Config:
        """One connection: ``name``, or the only one there is."""
        if name is None:
            if len(self.names) != 1:
                raise ConfigError(f"{self.path}: this deployment has {len(self.names)} connections "
                                  f"({_listing(self.names)}); name one with --connection NAME")
            name = self.names[0]
        return self.select([name])[0]

    def _known(self, name: str) -> str:
        by_lower = {n.lower(): n for n in self.names}
        if name.lower() in by_lower:
            return by_lower[name.lower()]
        hint = lint.did_you_mean(name, self.names)
        raise ConfigError(f"{self.path}: no connection {name!r}{hint}; connections: {_listing(self.names)}")


def _listing(names: list[str], shown: int = 10) -> str:
    if len(names) <= shown:
        return ", ".join(names) or "none"
    return ", ".join(names[:shown]) + f" and {len(names) - shown} more"


def connection_schema() -> dict:
    """A connection file: the configuration's per-client blocks; the rest is the deployment's."""
    schema = copy.deepcopy(lint.load_schema(str(schema_path("config.schema.json"))))
    schema["title"] = "Connex connection (connections/NAME.yaml)"
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k in CONNECTION_KEYS}
    return schema


def shared_schema() -> dict:
    """The main file of a deployment with a connections folder: no source or target of its own."""
    schema = copy.deepcopy(lint.load_schema(str(schema_path("config.schema.json"))))
    schema["required"] = ["connections"]
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in ("source", "target")}
    return schema


def load_deployment(path: str | os.PathLike | None, plugins: Plugins) -> Deployment:
    yf = read_config_file(path)
    if "connections" not in yf.data:
        return _single(yf, plugins)
    errors: list[ConfigError] = []
    shared = load_shared(yf, plugins, shared_schema(), errors)
    daemon = yf.data.get("daemon") if isinstance(yf.data.get("daemon"), dict) else {}
    max_parallel = daemon.get("max_parallel", DEFAULT_MAX_PARALLEL)
    deployment = Deployment(
        path=yf.path, connections={}, shared_problems=errors, log_level=shared.log_level,
        log_format=shared.log_format, state_path=shared.state_path, health_listen=shared.health_listen,
        max_parallel=max_parallel if isinstance(max_parallel, int) and not isinstance(max_parallel, bool)
        else DEFAULT_MAX_PARALLEL,
        rule_paths=list(shared.rule_paths), workers=_workers_block(yf.data),
    )
    folder_text = yf.data.get("connections")
    if not isinstance(folder_text, str) or not folder_text.strip():
        return deployment  # the schema reported it
    folder = (Path(yf.path).resolve().parent / folder_text).resolve()
    deployment.folder = folder
    if not folder.is_dir():
        errors.append(yf.error(("connections",), f"no such folder: {folder}"))
        return deployment
    files = sorted((f for f in folder.iterdir() if f.suffix in FILE_SUFFIXES and f.is_file()),
                   key=lambda f: f.name.lower())
    if not files:
        errors.append(yf.error(("connections",), f"no connection files ({', '.join('*' + s for s in FILE_SUFFIXES)}) "
                                                 f"in {folder}"))
        return deployment
    schema = connection_schema()
    seen: dict[str, Path] = {}
    for found in files:
        # named as the user wrote it (connections/acme.yaml beside a relative connex.yaml), for messages
        file = Path(os.path.normpath(Path(yf.path).parent / folder_text / found.name))
        name = file.stem
        if not NAME_PATTERN.match(name):
            deployment.problems[name] = ConfigErrors([ConfigError(
                f"connection name {name!r} (the file's name) must be {NAME_RULE}; rename the file",
                where=Location(str(file)))])
            continue
        if name.lower() in seen:
            deployment.problems[name] = ConfigErrors([ConfigError(
                f"connection {name!r} is also defined by {seen[name.lower()].name}; connection names must be "
                "unique (letter case aside)", where=Location(str(file)))])
            continue
        seen[name.lower()] = file
        try:
            connection_file = load_yaml(str(file))
            if not isinstance(connection_file.data, dict):
                raise ConfigErrors([connection_file.error((), "a connection file must be a mapping of settings")])
            misplaced = [k for k in SHARED_ONLY if k in connection_file.data]
            if misplaced:
                raise ConfigErrors([connection_file.error(
                    (k,), f"{k} is shared by every connection: set it in {Path(yf.path).name}", key=True)
                    for k in misplaced])
            config = load_single(connection_file, plugins, name=name, shared=shared, schema=schema)
        except ConfigErrors as exc:
            deployment.problems[name] = exc
            deployment.rule_paths.extend(p for p in getattr(exc, "rule_paths", None) or []
                                         if p not in deployment.rule_paths)
            continue
        except ConfigError as exc:
            deployment.problems[name] = ConfigErrors([exc])
            continue
        deployment.connections[name] = config
        deployment.rule_paths.extend(p for p in config.rule_paths if p not in deployment.rule_paths)
    _cross_connection_problems(deployment, plugins)
    return deployment


def _cross_connection_problems(deployment: Deployment, plugins: Plugins) -> None:
    """What each target plugin finds wrong across its connections (``TargetConnector.deployment_problems``): the
    connection named is then broken, as if its own file had the problem."""
    by_plugin: dict[str, list[Config]] = {}
    for config in deployment.connections.values():
        by_plugin.setdefault(config.target_plugin, []).append(config)
    targets = plugins.targets()
    for plugin, configs in by_plugin.items():
        if len(configs) < 2 or plugin not in targets:
            continue
        for name, error in targets[plugin].deployment_problems(configs):
            deployment.connections.pop(name, None)
            deployment.problems.setdefault(name, ConfigErrors([])).errors.append(error)


def _single(yf, plugins: Plugins) -> Deployment:
    # a single file: its problems are every command's problems, as before
    config = load_single(yf, plugins, name=DEFAULT_CONNECTION)
    daemon = yf.data.get("daemon") if isinstance(yf.data.get("daemon"), dict) else {}
    max_parallel = daemon.get("max_parallel", DEFAULT_MAX_PARALLEL)
    return Deployment(
        path=yf.path, connections={DEFAULT_CONNECTION: config}, health_listen=config.health_listen,
        log_level=config.log_level, log_format=config.log_format, state_path=config.state_path,
        max_parallel=max_parallel if isinstance(max_parallel, int) else DEFAULT_MAX_PARALLEL,
        rule_paths=list(config.rule_paths), workers=_workers_block(yf.data),
    )


def _workers_block(data: dict) -> dict:
    workers = data.get("workers")
    return dict(workers) if isinstance(workers, dict) else {}
