"""Deferring every connection's scheduled passes, safely from any number of workers and schedulers at once.

procrastinate's own periodic tasks are declared with a cron expression per task when the code is imported; a
connection's ``sync.schedule`` is read from its file at start and may be any interval ("every 7 minutes",
"every 90 minutes"), which cron cannot say. So Connex computes each connection's slots itself
(``connex.workers.slots``) and defers them through the same database function procrastinate's periodic deferrer
uses, ``procrastinate_defer_periodic_job_v2``: it records (task, periodic id = the connection, slot) in
``procrastinate_periodic_defers`` with a unique key, so a slot becomes at most one job however many processes
defer it, and a process restarted within a slot does not defer it again. A slot that finds its connection's
previous pass still queued is refused by the queueing lock and skipped (logged), never piled up.

At start the current slot of every connection is deferred at once (unless some process already did): after
downtime, one pass catches up, as the embedded daemon does.
"""

from __future__ import annotations

import asyncio
import logging
import time

import procrastinate
from procrastinate import exceptions

from connex.config import Config
from connex.workers.jobs import task
from connex.workers.slots import current_slot, next_slot

log = logging.getLogger(__name__)
MAX_SLEEP = 5.0


class SlotDeferrer:
    def __init__(self, app: procrastinate.App, configs: list[Config]):
        self.app = app
        self.schedules = {c.name: c.sync.schedule for c in configs if c.sync.schedule is not None}
        self.last: dict[str, int] = {}
        self.deferred = 0
        self.skipped = 0

    async def defer_due(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for name, schedule in self.schedules.items():
            slot = current_slot(schedule, now)
            if self.last.get(name) == slot:
                continue
            job = task(self.app).configure(lock=name, queueing_lock=name,
                                           task_kwargs={"connection": name, "timestamp": slot}).job
            try:
                job_id = await self.app.job_manager.defer_periodic_job(job=job, periodic_id=name,
                                                                       defer_timestamp=slot)
            except exceptions.AlreadyEnqueued:
                self.skipped += 1
                log.warning("%s: a pass is still queued; the slot of %s is skipped, not piled up", name,
                            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(slot)), extra={"connection": name})
                job_id = None
            if job_id:
                self.deferred += 1
                log.info("%s: scheduled pass queued (job %s)", name, job_id, extra={"connection": name})
            self.last[name] = slot

    def seconds_to_next(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        if not self.schedules:
            return MAX_SLEEP
        soonest = min(next_slot(s, now) for s in self.schedules.values())
        return max(0.05, min(MAX_SLEEP, soonest - now + 0.05))

    async def run(self) -> None:
        """Forever (cancelled at stop). A database error is logged and retried: the slots wait in the meantime."""
        while True:
            try:
                await self.defer_due()
            except exceptions.ConnectorException as exc:
                log.error("deferring scheduled passes failed (%s); retrying", exc)
                await asyncio.sleep(MAX_SLEEP)
            await asyncio.sleep(self.seconds_to_next())
