"""The daemon's pool: at most daemon.max_parallel passes at once, never two of one connection, a trigger that
finds its connection queued or running skipped (counted), and a stop that drops the queued passes."""

from __future__ import annotations

import threading
import time

from connex.daemon.service import Daemon
from connex.deployment import load_deployment
from connex.plugin_manager import get_plugins
from tests.core.test_connections import connection, deployment


def test_the_pool_bounds_passes_and_never_overlaps_a_connection(tmp_path):
    names = ["a", "b", "c", "d", "e"]
    path = deployment(tmp_path, {f"{n}.yaml": connection() for n in names})
    plugins = get_plugins()
    daemon = Daemon(load_deployment(path, plugins).select(), plugins, max_parallel=2)
    lock = threading.Lock()
    running: dict[str, int] = {n: 0 for n in names}
    peak = {"all": 0, "one": 0}
    release = threading.Event()

    def fake_run(name):
        def run(flows, options, progress=None):
            with lock:
                running[name] += 1
                peak["one"] = max(peak["one"], running[name])
                peak["all"] = max(peak["all"], sum(running.values()))
            release.wait(5)
            time.sleep(0.05)
            with lock:
                running[name] -= 1
            return []
        return run

    for name, worker in daemon.workers.items():
        worker.engine.run = fake_run(name)
    try:
        for _ in range(3):  # every connection triggered three times while its first pass is still going
            for name in names:
                daemon.trigger(name)
        time.sleep(0.3)
        status = daemon.status()
        assert len(status["daemon"]["running"]) == 2 and len(status["daemon"]["queued"]) == 3
        assert status["daemon"]["skipped_triggers"] == 10
        release.set()
        deadline = time.monotonic() + 10
        while any(w.busy for w in daemon.workers.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(w.passes == 1 for w in daemon.workers.values())
        assert peak == {"all": 2, "one": 1}
        ok, body = daemon.healthz()
        assert ok and body["connections"] == 5 and body["failing"] == {}
    finally:
        daemon.stop_event.set()
        daemon.pool.shutdown(wait=True)
        for worker in daemon.workers.values():
            worker.close()


def test_a_stop_drops_queued_passes(tmp_path):
    path = deployment(tmp_path, {f"{n}.yaml": connection() for n in "abc"})
    plugins = get_plugins()
    daemon = Daemon(load_deployment(path, plugins).select(), plugins, max_parallel=1)
    started = []
    gate = threading.Event()

    def slow(flows, options, progress=None):
        started.append(1)
        gate.wait(5)
        return []

    for worker in daemon.workers.values():
        worker.engine.run = slow
    try:
        for name in "abc":
            daemon.trigger(name)
        time.sleep(0.2)
        daemon.stop_event.set()
        gate.set()
        daemon.pool.shutdown(wait=True)
        assert len(started) == 1  # the two queued passes never started
        assert not any(w.busy for w in daemon.workers.values())
    finally:
        for worker in daemon.workers.values():
            worker.close()


def test_a_failing_connection_is_named_by_healthz(tmp_path):
    path = deployment(tmp_path, {f"{n}.yaml": connection() for n in "ab"})
    plugins = get_plugins()
    daemon = Daemon(load_deployment(path, plugins).select(), plugins)
    try:
        for worker in daemon.workers.values():
            worker.engine.run = lambda flows, options, progress=None: []
        daemon.workers["b"].engine.run = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("a bug"))
        for name in "ab":
            daemon.workers[name].claim()
            daemon.workers[name].run_pass(daemon.stop_event)
        ok, body = daemon.healthz()
        assert not ok and list(body["failing"]) == ["b"] and "RuntimeError: a bug" in body["failing"]["b"]["error"]
        assert daemon.status()["daemon"]["failing"] == ["b"]
    finally:
        daemon.pool.shutdown(wait=True)
        for worker in daemon.workers.values():
            worker.close()
