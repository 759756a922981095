"""A workspace: the Linnworks simulator over HTTP, the example JSON-lines target, a real SQLite state file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from connex_linnworks.simulator import LinnworksSimulator

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions
from connex.transport import RetryPolicy
from tests.conftest import run_connex


class Workspace:
    def __init__(self, folder: Path, sim: LinnworksSimulator, env: dict):
        self.folder, self.sim, self.env = folder, sim, env
        self.out = folder / "out"

    def write_config(self, **sync) -> Path:
        settings = {"from_date": "2020-01-01", "purchases": True, "refunds": True, **sync}
        config = {"source": {"plugin": "linnworks", **self.sim.connector_config()},
                  "target": {"plugin": "jsonl", "folder": str(self.out)}, "sync": settings, "state": "connex.db"}
        path = self.folder / "connex.yaml"
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def cli(self, *args, timeout=120):
        return run_connex(*args, cwd=self.folder, env=self.env, timeout=timeout)

    def engine(self) -> SyncEngine:
        plugins = get_plugins(reload=True)
        config = load_config(self.folder / "connex.yaml", plugins)
        state = open_state(config.state_path)
        engine = SyncEngine(config, plugins, state)
        engine.source.client.http.retry = RetryPolicy(base_delay=0.001, max_delay=0.01, time_budget=5)
        return engine

    def run(self, flows=("orders",), **options):
        engine = self.engine()
        try:
            return {r.flow: r for r in engine.run(list(flows), RunOptions(**options))}
        finally:
            engine.close()
            engine.state.close()

    def documents(self) -> list[dict]:
        path = self.out / "documents.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def state(self):
        return open_state(self.folder / "connex.db")


@pytest.fixture
def workspace(tmp_path, example_plugin_path, with_example_plugin, monkeypatch):
    monkeypatch.syspath_prepend(str(example_plugin_path))
    with LinnworksSimulator(processed_orders=30, open_orders=5, purchase_orders=6) as sim:
        ws = Workspace(tmp_path, sim, with_example_plugin)
        ws.write_config()
        yield ws
    get_plugins(reload=True)
    sys.modules.pop("connex_jsonl", None)
