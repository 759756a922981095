"""The units and compose file docs/scale.md ships (deploy/scale/) parse, and the commands they run are commands
and options `connex` accepts."""

from __future__ import annotations

import configparser
import shlex

from connex.cli import build_parser
from connex.yamlfile import load_yaml
from tests.conftest import REPO

FOLDER = REPO / "deploy" / "scale"


def _connex_args(command: list[str]) -> list[str]:
    assert command[0].endswith("/connex"), command
    return command[1:]


def _accepted(argv: list[str]):
    return build_parser(argv).parse_args(argv)


def test_the_systemd_units_run_real_commands():
    seen = {}
    for unit in sorted(FOLDER.glob("*.service")):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str
        parser.read(unit)
        assert {"Unit", "Service", "Install"} <= set(parser.sections()), unit
        service = parser["Service"]
        assert service["KillSignal"] == "SIGTERM" and service["Restart"] in ("always", "on-failure")
        argv = _connex_args(shlex.split(service["ExecStart"].replace("%i", "01")))
        args = _accepted(argv)
        seen[args.command] = args
    assert set(seen) == {"worker", "scheduler"}
    assert seen["worker"].health == "127.0.0.1:8801"


def test_the_compose_file_runs_postgres_a_scheduler_and_workers():
    compose = load_yaml(str(FOLDER / "compose.yaml")).data
    services = compose["services"]
    assert set(services) == {"db", "scheduler", "worker"}
    assert services["db"]["image"].startswith("postgres:")
    for name in ("scheduler", "worker"):
        args = _accepted(["--config", "/data/connex.yaml", *services[name]["command"]])
        assert args.command == name
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
    assert (REPO / services["worker"]["build"].replace("../..", ".") / "Dockerfile").is_file() or \
        (FOLDER / services["worker"]["build"] / "Dockerfile").is_file()
