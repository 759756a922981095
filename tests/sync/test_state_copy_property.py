"""`copy_connections` on generated state: any connection names and row contents arrive as they were stored, in
every per-connection table, with the ids a database hands out (runs, summaries) renumbered where the
destination already uses them for another connection, and every pointer to them (ledger.run_id,
summary_members.summary_id) following."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from connex.state import tables
from connex.state.copy import CopyRefused, connection_tables, copy_connections
from connex.state.database import acquire, release
from connex.state.target import state_target

# PostgreSQL text cannot hold NUL, and neither database holds lone surrogates: the store never writes them
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
NAMES = st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                         max_size=16), min_size=1, max_size=3, unique=True)


@st.composite
def connection_state(draw, name: str, base: int = 0) -> dict:
    """Ids from ``base`` up: within one database they are unique across connections."""
    runs = [{"connection": name, "id": base + draw(st.integers(1, 60)), "flow": draw(TEXT), "started_at": f"run-{i}",
             "status": draw(st.sampled_from(["ok", "failures", "running"])), "counts": draw(TEXT)}
            for i in range(draw(st.integers(0, 4)))]
    runs = list({r["id"]: r for r in runs}.values())
    ledger = [{"connection": name, "key": key, "flow": draw(TEXT), "kind": draw(TEXT), "source_id": draw(TEXT),
               "number": draw(st.none() | TEXT), "status": draw(st.sampled_from(["posted", "failed", "skipped"])),
               "error": draw(st.none() | TEXT), "attempts": draw(st.integers(0, 5)), "record": draw(st.none() | TEXT),
               "run_id": draw(st.sampled_from([r["id"] for r in runs])) if runs and draw(st.booleans()) else None,
               "first_seen": draw(TEXT), "updated_at": draw(TEXT)}
              for key in draw(st.lists(TEXT, max_size=5, unique=True))]
    kv = [{"connection": name, "key": key, "value": draw(TEXT), "updated_at": "t"}
          for key in draw(st.lists(TEXT, max_size=3, unique=True))]
    cursors = [{"connection": name, "flow": flow, "value": draw(TEXT), "updated_at": "t"}
               for flow in draw(st.lists(TEXT, max_size=2, unique=True))]
    summaries, members = [], []
    for i, summary_id in enumerate(draw(st.lists(st.integers(base + 1, base + 60), max_size=3, unique=True))):
        summaries.append({"connection": name, "id": summary_id, "flow": "orders", "kind": "sales_receipt",
                          "store": draw(TEXT), "currency": "GBP", "period": f"daily:{i}", "closes_at": "c",
                          "doc_key": f"sales_receipt:summary-{summary_id}", "doc_number": f"S{summary_id}",
                          "status": "open", "created_at": "c"})
        for member in draw(st.lists(TEXT, max_size=2, unique=True)):
            members.append({"connection": name, "member_key": f"{i}:{member}", "summary_id": summary_id,
                            "source_id": "s", "moment": "m", "content_hash": "h", "document": draw(TEXT),
                            "added_at": "a", "updated_at": "u"})
    return {"runs": runs, "ledger": ledger, "kv": kv, "cursors": cursors, "summaries": summaries,
            "summary_members": members}


@st.composite
def deployments(draw) -> tuple[dict, dict]:
    """(the source's rows by connection, the destination's rows of another connection, 'zz-other')."""
    names = draw(NAMES.filter(lambda ns: "zz-other" not in ns))
    return ({name: draw(connection_state(name, 100 * i)) for i, name in enumerate(names)},
            draw(connection_state("zz-other")))


def _fill(target, state: dict) -> None:
    db = acquire(state_target(target), 30.0)
    try:
        with db.write() as conn:
            for table in connection_tables():
                rows = [row for rows in state.values() for row in rows.get(table.name, [])]
                if rows:
                    conn.execute(insert(table), rows)
    finally:
        release(db)


def _meaning(target, name: str) -> dict:
    """A connection's rows with every id replaced by what it names (a run's start, a summary's doc_key)."""
    db = acquire(state_target(target), 30.0)
    try:
        with db.read() as conn:
            runs = {r.id: r.started_at for r in conn.execute(select(tables.runs))}
            summaries = {r.id: r.doc_key for r in conn.execute(select(tables.summaries))}
            out = {}
            for table in connection_tables():
                rows = []
                for row in conn.execute(select(table).where(table.c.connection == name)):
                    data = dict(row._mapping)
                    data.pop("id", None)
                    if data.get("run_id") is not None:
                        data["run_id"] = runs[data["run_id"]]
                    if "summary_id" in data:
                        data["summary_id"] = summaries[data["summary_id"]]
                    rows.append(data)
                out[table.name] = sorted(rows, key=repr)
            highest = {t: conn.execute(select(t.c.id).order_by(t.c.id.desc()).limit(1)).scalar()
                       for t in (tables.runs, tables.summaries)}
            return out, highest
    finally:
        release(db)


def _check(source: str, destination: str, state: dict, other: dict) -> None:
    _fill(source, state)
    _fill(destination, {"zz-other": other})
    other_before, _ = _meaning(destination, "zz-other")
    result = copy_connections(state_target(source), state_target(destination), list(state))
    for name in state:
        wanted, _ = _meaning(source, name)
        got, _ = _meaning(destination, name)
        assert got == wanted, name
        assert result.copied[name] == {t: len(rows) for t, rows in state[name].items() if rows}
    assert _meaning(destination, "zz-other")[0] == other_before  # another connection's rows are untouched
    # a new run or summary at the destination gets an id above every copied one: a summary's document key is
    # made from its id, so an old number handed out again would name a document already posted
    copied_ids = {t: [r["id"] for s in state.values() for r in s[t]] for t in ("runs", "summaries")}
    db = acquire(state_target(destination), 30.0)
    try:
        with db.write() as conn:
            fresh = conn.execute(insert(tables.runs).values(connection="zz-new", flow="f", started_at="s",
                                                            status="ok").returning(tables.runs.c.id)).scalar_one()
    finally:
        release(db)
    assert all(fresh > i for i in copied_ids["runs"])
    # the same again is refused: the destination holds these connections now
    with pytest.raises(CopyRefused):
        copy_connections(state_target(source), state_target(destination), list(state))
    copy_connections(state_target(source), state_target(destination), list(state), replace=True)
    for name in state:
        assert _meaning(destination, name)[0] == _meaning(source, name)[0]


def _nonempty(drawn) -> bool:
    state, _ = drawn
    return all(any(rows for rows in s.values()) for s in state.values())


@settings(max_examples=12, deadline=None)
@given(deployments().filter(_nonempty))
def test_any_state_copies_between_sqlite_files(drawn):
    state, other = drawn
    with tempfile.TemporaryDirectory() as folder:
        _check(str(Path(folder) / "a.db"), str(Path(folder) / "b.db"), state, other)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deployments().filter(_nonempty))
def test_any_state_copies_to_postgresql_and_back(postgres, drawn):
    state, other = drawn
    with tempfile.TemporaryDirectory() as folder:
        _check(str(Path(folder) / "a.db"), postgres.new_database(), state, other)
        # back again, onto a file that already holds another connection's runs and summaries
        back = str(Path(folder) / "back.db")
        _fill(back, {"zz-other": other})
        source = postgres.new_database()
        _fill(source, state)
        copy_connections(state_target(source), state_target(back), list(state))
        for name in state:
            assert _meaning(back, name)[0] == _meaning(source, name)[0]
