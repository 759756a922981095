"""`connex worker` on PostgreSQL: real worker subprocesses take passes from procrastinate's queue, survive
SIGKILL (a lost worker's pass is queued again for another) and every document is still posted exactly once."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connex.schedule_spec import parse_schedule
from connex.state.database import Database
from connex.state.target import DatabaseURL
from connex.workers.schema import apply_schema, migration_names
from connex.workers.slots import current_slot, next_slot
from tests.conftest import in_ci, run_connex
from tests.sync.many_connections import build_fleet
from tests.sync.test_crash_safety import Killer
from tests.sync.workers_support import (
    Worker,
    assert_exactly_once,
    environment,
    job_rows,
    status_of,
    use_postgres,
    wait_no_orphans,
    wait_settled,
)

FAST = {"heartbeat_seconds": 1, "stalled_after_seconds": 4, "concurrency": 2}


def test_sqlite_state_is_refused_with_the_daemon_named(tmp_path):
    fleet = build_fleet(tmp_path, 2, 1)
    try:
        for command in ("worker", "scheduler"):
            done = run_connex(command, cwd=tmp_path, env=environment(fleet))
            assert done.returncode == 2, done.stderr
            assert "postgresql://" in done.stderr and "connex daemon" in done.stderr
            assert "Traceback" not in done.stderr
    finally:
        fleet.stop()


@given(st.sampled_from(["every 10 seconds", "every 7 minutes", "every 90 minutes", "every hour",
                        "every day at 06:30", "every 2 days"]),
       st.floats(min_value=1e9, max_value=4e9))
def test_slots_are_the_same_for_every_process_and_enclose_now(text, now):
    schedule = parse_schedule(text)
    slot, following = current_slot(schedule, now), next_slot(schedule, now)
    assert slot <= now < following
    assert current_slot(schedule, slot) == slot  # a slot is its own slot: processes agree on its number
    assert current_slot(schedule, following) == following
    if schedule.interval is not None:
        assert following - slot == schedule.interval.total_seconds()


def test_the_queue_schema_is_applied_once_when_workers_start_together(postgres):
    url = postgres.new_database()
    target = DatabaseURL(url)
    outcomes, errors = [], []

    def start():
        db = Database(target)
        try:
            db.open()  # Connex's Alembic migration, then procrastinate's schema, as every worker does
            outcomes.append(apply_schema(db))
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == sorted([f"created (procrastinate schema up to {migration_names()[-1]})"]
                                      + ["up to date"] * 5)
    db = Database(target)
    try:
        db.open()
        with db.read() as conn:
            tables = {r[0] for r in conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"alembic_version", "ledger", "runs", "procrastinate_jobs", "procrastinate_workers",
                "procrastinate_periodic_defers"} <= tables
        assert apply_schema(db) == "up to date"
    finally:
        db.dispose()


def _campaign(tmp_path, postgres, *, connections: int, orders: int, workers: int, kills: int, seed: int,
              timeout: float) -> dict:
    fleet = build_fleet(tmp_path, connections, orders, schedule="every 10 seconds")
    url = postgres.new_database()
    use_postgres(fleet, url, **FAST)
    killer = Killer()
    fleet.quickbooks.dispatch = killer.hook("quickbooks_online", fleet.quickbooks.dispatch)
    fleet.linnworks.dispatch = killer.hook("linnworks", fleet.linnworks.dispatch)
    rng = random.Random(seed)
    env = environment(fleet)
    pool: list[Worker] = []
    started = time.monotonic()
    try:
        # a pass asked for twice before any worker runs: queued once (the queueing lock)
        first = run_connex("scheduler", "--now", "--connection", fleet.names[0], cwd=tmp_path, env=env)
        assert first.returncode == 0 and "queued (job" in first.stdout, first.stdout + first.stderr
        again = run_connex("scheduler", "--now", "--connection", fleet.names[0], cwd=tmp_path, env=env)
        assert again.returncode == 0 and "already queued" in again.stdout, again.stdout + again.stderr
        pool = [Worker(fleet, i).start() for i in range(workers)]
        # the first passes refresh each company's OAuth token (then good for an hour): a SIGKILL between Intuit
        # rotating a refresh token and the store saving it locks a connection out, OAuth's own hazard that the
        # crash campaigns also leave alone; the kills start once every connection has its token and first pass
        wait_settled(fleet, url, pool, timeout)
        fired = landed = 0
        for cycle in range(kills):
            # new orders in a few accounts, so the next passes post while workers are killed
            for name in rng.sample(fleet.names, k=min(len(fleet.names), 4)):
                for _ in range(3):
                    fleet.account(name).add_processed_order(processed_at=dt.datetime.now(dt.UTC))
            # a worker in the middle of a pass, killed at the n-th request a simulator sees from then on
            deadline = time.monotonic() + 60
            busy = []
            while not busy and time.monotonic() < deadline:
                busy = [w for w in pool if w.alive() and w.running()]
                time.sleep(0.05)
            assert busy, f"cycle {cycle}: no worker took the new orders within a minute"
            victim = rng.choice(busy)
            killer.arm(victim.process, (rng.choice(["quickbooks_online", "linnworks"]), rng.choice(["before", "after"]),
                                        rng.randint(1, 3)))
            waited = time.monotonic() + 5
            while not killer.fired and victim.alive() and time.monotonic() < waited:
                time.sleep(0.02)
            landed += bool(killer.fired)  # the simulator saw the victim's request: killed in the middle of a pass
            killer.disarm()
            if not killer.fired:
                victim.process.kill()  # the passes made fewer requests than drawn: a random moment instead
            fired += 1
            victim.process.wait()
            time.sleep(rng.uniform(0, 1.5))
            victim.start()
        took = wait_settled(fleet, url, pool, timeout)
        status = status_of(pool[0])
        checked_status = sorted(status["connections"]) == fleet.names
        wait_no_orphans(url, 60)  # every pass of a killed worker went back to the queue (or was replaced)
        for worker in pool:
            assert worker.stop() == 0, worker.output()[-3000:]
        jobs = job_rows(url)
        checked = assert_exactly_once(fleet, url)
        shown = run_connex("status", cwd=tmp_path, env=env)
        assert shown.returncode == 0, shown.stderr
        assert all(f"== connection {name}" in shown.stdout for name in fleet.names)
        assert "jobs: " in shown.stdout
        as_json = json.loads(run_connex("status", "--json", cwd=tmp_path, env=env).stdout)
        assert all(as_json["connections"][n]["jobs"]["last_job"] for n in fleet.names)
        assert all(secret not in w.output() for w in pool for secret in fleet.env.values())
        return {"kills": fired, "landed": landed, "documents": checked, "jobs": jobs, "status": status,
                "checked_status": checked_status,
                "seconds": time.monotonic() - started, "settled_in": took}
    finally:
        for worker in pool:
            if worker.alive():
                worker.process.kill()
                worker.process.wait()
        fleet.stop()


def test_two_workers_sigkilled_and_restarted_post_every_document_once(tmp_path, postgres):
    found = _campaign(tmp_path, postgres, connections=4, orders=25, workers=2, kills=2, seed=18, timeout=120)
    assert found["kills"] == 2
    assert found["checked_status"] and found["status"]["workers"]["connections"] == 4
    assert found["documents"] >= 4 * 20
    assert not any(j["status"] == "doing" for j in found["jobs"])  # no pass left to a dead worker
    # a pass cut by SIGKILL was taken up again (a second attempt) or replaced by the connection's queued pass;
    # a kill at a random moment may find the victim between passes (under load its pass can end before the kill)
    if found["landed"]:
        assert any(j["attempts"] >= 2 or j["status"] == "failed" for j in found["jobs"]), found["jobs"]


@pytest.mark.skipif(not in_ci(), reason="a long campaign (50 connections, 3 workers, 30 SIGKILLs): runs under "
                    "CI=true; the two-worker campaign above runs every time")
def test_fifty_connections_three_workers_thirty_sigkills(tmp_path, postgres):
    found = _campaign(tmp_path, postgres, connections=50, orders=CI_ORDERS, workers=3, kills=30, seed=4018,
                      timeout=1800)
    print(f"fifty connections, 3 workers: {found['kills']} kills, {found['documents']} documents, "
          f"{found['seconds']:.0f} s")
    assert found["kills"] >= 25
    assert found["checked_status"] and len(found["status"]["connections"]) == 50
    assert any(j["attempts"] >= 2 for j in found["jobs"])  # lost workers' passes were taken up by others
    assert not any(j["status"] == "doing" for j in found["jobs"])


CI_ORDERS = 300  # a few hundred orders each, as issue 18 asks


def test_a_slot_becomes_one_job_however_many_processes_defer_it(tmp_path, postgres):
    """Three deferrers (as three workers would run) over the same connections and the same moment: one job per
    connection; the next slot, while that job still waits, is refused by the queueing lock (skipped, not piled)."""
    import asyncio

    from connex.deployment import load_deployment
    from connex.plugin_manager import get_plugins
    from connex.state.database import release
    from connex.workers.deferrer import SlotDeferrer
    from connex.workers.jobs import build_app
    from connex.workers.service import open_queue_database

    fleet = build_fleet(tmp_path, 3, 1, schedule="every 10 minutes")
    url = postgres.new_database()
    use_postgres(fleet, url)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in fleet.env.items():
                patch.setenv(key, value)
            configs = load_deployment(tmp_path / "connex.yaml", get_plugins()).select()
        db = open_queue_database(configs, "worker")
        now = 1_800_000_123.0

        async def main():
            app = build_app(configs[0].state_path)
            async with app.open_async():
                deferrers = [SlotDeferrer(app, configs) for _ in range(3)]
                await asyncio.gather(*(d.defer_due(now) for d in deferrers))
                first = sum(d.deferred for d in deferrers)
                await asyncio.gather(*(d.defer_due(now + 600) for d in deferrers))
                return first, sum(d.deferred for d in deferrers) - first, sum(d.skipped for d in deferrers)

        try:
            first, later, skipped = asyncio.run(main())
        finally:
            release(db)
        assert first == 3  # one job per connection for the slot, not three
        assert later == 0 and skipped >= 3  # the passes still queued: the next slot is not piled on them
        assert sorted((j["connection"], j["status"]) for j in job_rows(url)) == [
            (name, "todo") for name in fleet.names]
    finally:
        fleet.stop()
