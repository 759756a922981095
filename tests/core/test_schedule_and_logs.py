import datetime as dt
import logging

import pytest

from connex.logs import RedactSecrets
from connex.schedule_spec import parse_schedule


@pytest.mark.parametrize(("text", "seconds"), [
    ("every 15 minutes", 900), ("every minute", 60), ("every hour", 3600), ("every 2 hours", 7200),
    ("every 30 seconds", 30), ("Every  15 Minutes", 900), ("every day", 86400),
])
def test_interval_schedules(text, seconds):
    assert parse_schedule(text).interval == dt.timedelta(seconds=seconds)


def test_daily_schedule_next_run_is_computed_from_the_schedule_not_the_finish_time():
    daily = parse_schedule("every day at 06:30")
    assert daily.next_after(dt.datetime(2026, 1, 1, 5, 0)) == dt.datetime(2026, 1, 1, 6, 30)
    assert daily.next_after(dt.datetime(2026, 1, 1, 6, 30)) == dt.datetime(2026, 1, 2, 6, 30)
    every = parse_schedule("every 15 minutes")
    assert every.next_after(dt.datetime(2026, 1, 1, 6, 0)) == dt.datetime(2026, 1, 1, 6, 15)


@pytest.mark.parametrize("text", ["every fortnight", "each hour", "every 5 seconds", "every day at 25:00", ""])
def test_bad_schedules_are_refused_with_an_example(text):
    with pytest.raises(ValueError, match="every|too frequent"):
        parse_schedule(text)


def test_secrets_are_scrubbed_from_log_records():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s and %s", ("abcd-secret-1", "ok"), None)
    RedactSecrets(["abcd-secret-1"]).filter(record)
    assert record.getMessage() == "token *** and ok"
