"""The `schedule` library, guarded against its known pitfalls (design-lessons.md §10):

* a job that raises would bubble out of ``run_pending`` and, because ``Job.run`` schedules the next run only after
  the job returns, fire again on every loop: our job only starts a worker and never raises;
* ``_schedule_next_run`` counts from *now*, so interval jobs drift by the loop's lateness every run: after each
  trigger the next run is reset to the previous *scheduled* time plus the interval (skipping slots already past,
  so a long outage does not fire a burst);
* jobs run serially in the loop thread: the work runs in a worker thread, one per flow set, and a trigger that
  finds the previous run still going is skipped and logged, never overlapped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import schedule

from connex.schedule_spec import Schedule

log = logging.getLogger(__name__)


class GuardedJob:
    def __init__(self, scheduler: schedule.Scheduler, spec: Schedule, trigger: Callable[[], None]):
        self.spec = spec
        self.trigger = trigger
        if spec.interval is not None:
            self.job = scheduler.every(int(spec.interval.total_seconds())).seconds.do(self._fire)
        else:
            self.job = scheduler.every().day.at(spec.at.strftime("%H:%M")).do(self._fire)
        self.scheduled_for: dt.datetime | None = self.job.next_run

    def _fire(self) -> None:
        due = self.scheduled_for or dt.datetime.now()
        try:
            self.trigger()
        except Exception:  # the loop must survive anything a trigger does
            log.exception("scheduled trigger failed")
        finally:
            self.scheduled_for = self._next_after(due)

    def _next_after(self, due: dt.datetime) -> dt.datetime:
        now = dt.datetime.now()
        following = self.spec.next_after(due)
        while following <= now:
            following = self.spec.next_after(following)
        return following

    def correct(self) -> None:
        """Undo schedule's now-based drift: call after ``run_pending``."""
        if self.scheduled_for is not None and self.job.next_run != self.scheduled_for:
            self.job.next_run = self.scheduled_for

    @property
    def next_run(self) -> dt.datetime | None:
        return self.job.next_run
