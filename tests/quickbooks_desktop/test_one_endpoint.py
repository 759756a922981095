"""One Web Connector endpoint for every QuickBooks Desktop connection of a deployment (issue 18): the user name
says which connection a session is for, tickets and the queue are rows of the state store, and endpoint processes
behind a load balancer serve the calls of one session in turn. All over HTTP, against the simulated Web Connector
and company files."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter

from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_desktop import codec
from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget
from connex_quickbooks_desktop.queue import Job
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator

from connex.connectors import merge_services
from connex.state import open_state
from tests.conftest import REPO, run_connex

from .conftest import _EMITTED, customer, order

DOCS = 12


def _target(username: str, password: str) -> dict:
    return {"listen": "127.0.0.1:0", "username": username, "password": password, "income_account": "Merchandise Sales",
            "expense_account": "Cost of Goods Sold", "batch_size": 5}


def _refs(company: SimulatedCompany) -> Counter:
    return Counter(t.ref_number for t in company.find_transactions("SalesReceipt"))


def test_two_connections_two_company_files_one_endpoint_each_document_once_in_its_own_company(
        tmp_path, validator_if_present):
    state_file = tmp_path / "connex.db"
    stores = {name: open_state(state_file, connection=name) for name in ("acme", "zeta")}
    targets = {name: QuickBooksDesktopTarget(_target(f"qbwc-{name}", f"pw-{name}"), state=stores[name])
               for name in stores}
    companies = {name: SimulatedCompany.seeded(validator=validator_if_present,
                                               path=rf"C:\Company Files\{name}.QBW") for name in stores}
    # both connections queue documents, and one number exists in both (each client has its own order 1000)
    numbers = {"acme": [f"A-{n}" for n in range(DOCS)] + ["1000"], "zeta": [f"Z-{n}" for n in range(DOCS)] + ["1000"]}
    for name, target in targets.items():
        results = target.post_documents([order(n, party=customer(f"{name} buyer")) for n in numbers[name]])
        assert {r.status for r in results} == {"queued"}
    services = merge_services([s for target in targets.values() for s in target.services()])
    assert len(services) == 1  # one endpoint serves both
    endpoint = services[0].start()
    try:
        for name in ("zeta", "acme", "zeta"):  # a second session of zeta finds nothing left to do
            wc = WebConnectorSimulator(companies[name], on_request=_EMITTED.append)
            log = wc.run_session(endpoint.url, f"qbwc-{name}", f"pw-{name}")
            assert not log.errors, log.errors
        assert log.auth_status == "none"
        wrong = WebConnectorSimulator(companies["acme"]).run_session(endpoint.url, "qbwc-acme", "pw-zeta")
        assert wrong.auth_status == "nvu"  # one connection's password does not open another's
    finally:
        endpoint.stop()
    for name in stores:
        assert _refs(companies[name]) == Counter(numbers[name]), name  # every document once, in its own company
        outcomes = targets[name].collect_results()
        assert len(outcomes) == DOCS + 1 and {r.status for r in outcomes} == {"posted"}
        assert {c.name for c in companies[name].records("Customer")} == {f"{name} buyer"}
    with sqlite3.connect(state_file) as db:
        sessions = db.execute("SELECT connection, status FROM queue_sessions ORDER BY started").fetchall()
    assert sessions == [("zeta", "closed"), ("acme", "closed")]  # "none" opens no session
    for name in stores:
        targets[name].close()
        stores[name].close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_qbwc(folder, config_name: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "connex", "--config", config_name, "qbwc"], cwd=folder,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])})
    line = process.stdout.readline()
    if "QuickBooks Web Connector endpoint on " not in line:
        process.kill()
        raise AssertionError(line + process.stderr.read())
    return process, line.split(" on ")[1].split(" ")[0]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_two_endpoint_processes_on_one_postgresql_serve_one_session_alternately(tmp_path, postgres,
                                                                                validator_if_present):
    url = postgres.new_database()
    target = _target("qbwc-shop", "pw-shop")
    with LinnworksSimulator(processed_orders=1, open_orders=0, purchase_orders=0) as lw:
        source = {"plugin": "linnworks", **lw.connector_config()}
    for name in ("a", "b"):  # two machines' configurations: the same database, each its own listen address
        config = {"source": source, "target": {"plugin": "quickbooks_desktop", **target,
                                                "listen": f"127.0.0.1:{_free_port()}"}, "state": url}
        (tmp_path / f"{name}.yaml").write_text(json.dumps(config))
    state = open_state(url)
    connector = QuickBooksDesktopTarget(target, state=state)
    numbers = [f"PG-{n}" for n in range(DOCS * 2)]
    assert {r.status for r in connector.post_documents([order(n) for n in numbers])} == {"queued"}
    first, url_a = _start_qbwc(tmp_path, "a.yaml")
    try:
        second, url_b = _start_qbwc(tmp_path, "b.yaml")
        try:
            company = SimulatedCompany.seeded(validator=validator_if_present)
            wc = WebConnectorSimulator(company, on_request=_EMITTED.append)
            log = wc.run_session([url_a, url_b], "qbwc-shop", "pw-shop")  # a load balancer taking turns
            assert not log.errors, log.errors
            assert log.round_trips >= 5 and log.percents[-1] == 100
            # a session cut after QuickBooks applied a message set, then the next one through the other process
            more = [f"PG-X{n}" for n in range(DOCS)]
            connector.post_documents([order(n) for n in more])
            cut = wc.run_session([url_b, url_a], "qbwc-shop", "pw-shop", cut_after_sends=2)
            assert cut.interrupted
            again = wc.run_session([url_a, url_b], "qbwc-shop", "pw-shop")
            assert not again.errors, again.errors
        finally:
            _stop(second)
    finally:
        _stop(first)
    assert _refs(company) == Counter(numbers + more)  # every document posted exactly once
    assert first.returncode == 0 and second.returncode == 0
    assert connector.queue.remaining() == 0 and connector.queue.inflight_count() == 0
    connector.close()
    state.close()


def test_validate_refuses_two_desktop_connections_with_one_username_and_qbwc_serves_all(tmp_path):
    with LinnworksSimulator(processed_orders=1, open_orders=0, purchase_orders=0) as lw:
        source = {"plugin": "linnworks", **lw.connector_config()}
    (tmp_path / "connections").mkdir()
    (tmp_path / "connex.yaml").write_text("connections: connections\nstate: connex.db\n")
    port = _free_port()
    for name, user in (("acme", "qbwc-acme"), ("zeta", "qbwc-zeta")):
        config = {"source": source, "target": {"plugin": "quickbooks_desktop", **_target(user, f"pw-{name}"),
                                                "listen": f"127.0.0.1:{port}"}}
        (tmp_path / "connections" / f"{name}.yaml").write_text(json.dumps(config, indent=1))
    assert run_connex("validate", cwd=tmp_path).returncode == 0
    # one .qwc per connection, each with its own user name
    for name in ("acme", "zeta"):
        written = run_connex("qbwc", "--qwc", f"{name}.qwc", "--connection", name, cwd=tmp_path)
        assert written.returncode == 0, written.stderr
        assert f"<UserName>qbwc-{name}</UserName>" in (tmp_path / f"{name}.qwc").read_text()
    process, url = _start_qbwc(tmp_path, "connex.yaml")  # one process, one port, both connections
    try:
        for name in ("acme", "zeta"):
            log = WebConnectorSimulator(SimulatedCompany.seeded()).run_session(url, f"qbwc-{name}", f"pw-{name}")
            assert log.auth_status == "none" and not log.errors  # known, nothing queued yet
    finally:
        _stop(process)
    zeta = tmp_path / "connections" / "zeta.yaml"
    zeta.write_text(zeta.read_text().replace("qbwc-zeta", "qbwc-acme"))
    refused = run_connex("validate", cwd=tmp_path)
    assert refused.returncode == 2
    line = next(n for n, text in enumerate(zeta.read_text().splitlines(), 1) if "qbwc-acme" in text)
    assert f"connections/zeta.yaml:{line}:" in refused.stderr + refused.stdout
    assert "also connection 'acme'" in refused.stderr + refused.stdout


def test_two_processes_building_message_sets_at_once_never_hand_out_one_job_twice(state_target):
    """The row claim itself, on both databases: two endpoints (threads with their own database sessions) build
    message sets for two tickets at the same moment until nothing is left; every job is in flight exactly once."""
    from connex_quickbooks_desktop.service import company_for

    config = {**_target("qbwc-race", "pw"), "batch_size": 7}
    stores = [open_state(state_target) for _ in range(2)]
    first = company_for("default", config, stores[0])
    first.queue.database.engine.dispose()  # no warm connection carried over: each thread takes its own
    for n in range(120):
        first.queue.enqueue(Job(key=f"customer:Buyer {n}", kind="customer", stage="add",
                                payload=codec.dumps(customer(f"Buyer {n}"))))
    companies = [first, company_for("default", config, stores[1])]
    barrier = threading.Barrier(2)
    handed: dict[str, int] = {}

    def endpoint(index: int) -> None:
        barrier.wait()
        while True:
            _xml, count = companies[index].workflow.next_request(f"ticket-{index}")
            if not count:
                return
            handed[f"ticket-{index}"] = handed.get(f"ticket-{index}", 0) + count

    threads = [threading.Thread(target=endpoint, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with first.queue.transaction() as conn:
        inflight = first.queue.inflight(conn)
    keys = Counter(r.job_key for r in inflight)
    assert len(keys) == 120 and set(keys.values()) == {1}  # every job handed out, none twice
    assert sum(handed.values()) == 120
    for store in stores:
        store.close()


def test_the_daemon_of_many_connections_serves_one_endpoint_for_all_its_desktop_connections(tmp_path):
    """`connex daemon` with two Desktop connections on one listen address: one listener, each user name opens a
    session of its own connection (the Linnworks source is unreachable here: the passes fail, the endpoint serves)."""
    with LinnworksSimulator(processed_orders=1, open_orders=0, purchase_orders=0) as lw:
        source = {"plugin": "linnworks", **lw.connector_config()}
    (tmp_path / "connections").mkdir()
    port = _free_port()
    for name in ("acme", "zeta"):
        config = {"source": source, "target": {"plugin": "quickbooks_desktop", **_target(f"qbwc-{name}", f"pw-{name}"),
                                                "listen": f"127.0.0.1:{port}"}}
        (tmp_path / "connections" / f"{name}.yaml").write_text(json.dumps(config))
    (tmp_path / "connex.yaml").write_text(json.dumps({
        "connections": "connections", "state": "connex.db",
        "sync": {"schedule": "every 60 minutes", "from_date": "2024-01-01"},
        "daemon": {"health": f"127.0.0.1:{_free_port()}"}}))
    # each connection has a document queued, so its session is a real one, posting to its own company
    for name in ("acme", "zeta"):
        state = open_state(tmp_path / "connex.db", connection=name)
        with QuickBooksDesktopTarget(_target(f"qbwc-{name}", f"pw-{name}"), state=state) as target:
            target.post_documents([order(f"{name}-1")])
        state.close()
    daemon = subprocess.Popen([sys.executable, "-m", "connex", "daemon"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert daemon.poll() is None, daemon.stderr.read()
                assert time.monotonic() < deadline, "the endpoint did not start"
                time.sleep(0.2)
        url = f"http://localhost:{port}/qbwc"
        for name in ("acme", "zeta"):
            company = SimulatedCompany.seeded()
            log = WebConnectorSimulator(company).run_session(url, f"qbwc-{name}", f"pw-{name}")
            assert log.auth_status == "" and not log.errors, (log.auth_status, log.errors)
            assert _refs(company) == Counter([f"{name}-1"])
    finally:
        _stop(daemon)
    assert daemon.returncode == 0, daemon.stderr.read()
