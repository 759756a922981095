"""The state store's tables as they stand after the last migration: the one place that says what is stored.

Every table is keyed by ``connection`` first (one deployment serves many client connections from one database).
Timestamps are ISO-8601 text and structured values are ``codec`` JSON text, so a row reads the same on SQLite and
PostgreSQL. A change here needs a migration in ``connex/state/migrations/versions`` (see ``docs/scale.md``):
``tests/sync/test_state_store.py`` fails when the two disagree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()


def _connection(*, key: bool = True) -> Column:
    """The connection a row belongs to; first in the primary key of every table keyed by name. No default: a
    write that forgot its connection must fail, not land in someone else's."""
    return Column("connection", Text, nullable=False, primary_key=key)


ledger = Table(
    "ledger", metadata,
    _connection(),
    Column("key", Text, primary_key=True),  # the document key (kind:source_id), or flow kind:source_id when unmapped
    Column("flow", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("source_id", Text, nullable=False),
    Column("number", Text),
    Column("content_hash", Text),
    Column("status", Text, nullable=False),  # in_flight, posted, queued, failed, skipped, changed
    Column("target_id", Text),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("document", Text),  # the mapped document (JSON) while in flight, to resolve it after a crash
    Column("record", Text),  # the source record (JSON) of a failed document, for --retry-failed
    # the run that last wrote the row; info["refers_to"] (the schema has no foreign key here) lets a copy to another
    # database renumber it with the run (connex/state/copy.py)
    Column("run_id", Integer, info={"refers_to": "runs.id"}),
    Column("first_seen", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("ledger_flow_status", "connection", "flow", "status"),
    Index("ledger_source", "connection", "flow", "source_id"),
    # the console's look-ups by number and source id, its per-day chart, and its failures page: the failed rows
    # alone with every column the page groups by, so the table (whose failed rows carry their records) is not read
    Index("ledger_number", "connection", "number"),
    Index("ledger_source_id", "connection", "source_id"),
    Index("ledger_day", "connection", "updated_at", "status"),
    Index("ledger_failed", "connection", "updated_at", "key", "flow", "kind", "source_id", "number", "error",
          "attempts", "status", sqlite_where=text("status = 'failed'"), postgresql_where=text("status = 'failed'")),
)

cursors = Table(
    "cursors", metadata,
    _connection(),
    Column("flow", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

kv = Table(
    "kv", metadata,
    _connection(),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("status", Text, nullable=False),  # running, ok, failures, incomplete, interrupted
    Column("counts", Text),
    Column("message", Text),
    _connection(key=False),
    Index("runs_connection_status", "connection", "status"),
    sqlite_autoincrement=True,
)

# rates a target read, per scope (e.g. a QuickBooks realm), currency and day; reused across runs
exchange_rates = Table(
    "exchange_rates", metadata,
    _connection(),
    Column("scope", Text, primary_key=True),
    Column("currency", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("rate", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("fetched_at", Text, nullable=False),
)

# summary postings (sync.posting: summary, connex/state/summaries.py): one document per store + currency + period
summaries = Table(
    "summaries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # names the summary's document: never reused
    Column("flow", Text, nullable=False),  # orders or refunds
    Column("kind", Text, nullable=False),  # the members' document kind: sales_receipt, invoice, refund_receipt...
    Column("store", Text, nullable=False),  # the members' store name ('' when they have none)
    Column("currency", Text, nullable=False),
    Column("period", Text, nullable=False),  # daily:2026-01-03, weekly:2026-01-05 (its first day), monthly:...
    Column("closes_at", Text, nullable=False),  # UTC instant from which the summary may be closed (end + grace)
    Column("doc_key", Text, nullable=False),  # the summary document's ledger key (its own ledger row)
    Column("doc_number", Text, nullable=False),
    Column("status", Text, nullable=False),  # open (takes members), closed (members frozen: posting or posted)
    Column("created_at", Text, nullable=False),
    Column("closed_at", Text),
    _connection(key=False),
    UniqueConstraint("connection", "doc_key", name="summaries_doc_key"),
    UniqueConstraint("connection", "flow", "kind", "store", "currency", "period", name="summaries_group"),
    sqlite_autoincrement=True,
)

# the link from every order (or refund) document to the summary that holds it: an order is in one summary only
summary_members = Table(
    "summary_members", metadata,
    _connection(),
    Column("member_key", Text, primary_key=True),  # the ledger key of the order's (or refund's) own document
    Column("summary_id", Integer, ForeignKey("summaries.id", name="summary_members_summary_id"), nullable=False),
    Column("source_id", Text, nullable=False),
    Column("number", Text),
    Column("moment", Text, nullable=False),  # when the order happened (ISO instant): what placed it in a period
    Column("content_hash", Text, nullable=False),
    Column("document", Text, nullable=False),  # the mapped document (JSON): what the summary is built from
    Column("added_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("summary_members_summary", "connection", "summary_id"),
)

# what the console shows and searches about a document after its post (connex/state/document_index.py): the
# ledger keeps the mapped document only while in flight. The *_folded columns are the searchable values in lower
# case, so a case-insensitive look-up is an index range on both databases (no collation of either).
document_index = Table(
    "document_index", metadata,
    _connection(),
    Column("key", Text, primary_key=True),
    Column("kind", Text),
    Column("customer", Text),
    Column("reference", Text),
    Column("po_number", Text),
    Column("txn_date", Text),
    Column("currency", Text),
    Column("total", Text),
    Column("summary", Text, nullable=False),  # JSON: party, totals, lines (no address, e-mail or phone)
    Column("customer_folded", Text),
    Column("reference_folded", Text),
    Column("po_number_folded", Text),
    Index("document_index_customer", "connection", "customer_folded"),
    Index("document_index_reference", "connection", "reference_folded"),
    Index("document_index_po", "connection", "po_number_folded"),
)

document_skus = Table(
    "document_skus", metadata,
    _connection(),
    Column("sku", Text, primary_key=True),  # in lower case: searched case-insensitively
    Column("key", Text, primary_key=True),
    Index("document_skus_key", "connection", "key"),
)

# --- an asynchronous target's durable request queue (QuickBooks Desktop through the Web Connector) ----------------
# A target that cannot post while Connex runs (its client calls in later, e.g. the Web Connector) keeps here what it
# still has to do: the engine enqueues, the target's endpoint (any process, any machine) hands requests out and
# records their answers. The queue's semantics are the plugin's; the core only stores the rows, keyed by connection.

queue_jobs = Table(
    "queue_jobs", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # the order jobs were queued in
    Column("key", Text, nullable=False),  # the job's identity within its connection (a document's key, ...)
    Column("kind", Text, nullable=False),  # customer, vendor, item, document, inventory, ...
    Column("payload", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),  # pending, done, failed
    Column("stage", Text, nullable=False),
    Column("context", Text, nullable=False, server_default="{}"),  # JSON: what earlier stages learned
    Column("outcome", Text),
    Column("target_id", Text),
    Column("error", Text),
    Column("code", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("collected", Integer, nullable=False, server_default="1"),  # 0: a final outcome not yet in the ledger
    Column("doc_kind", Text),
    Column("doc_number", Text),
    Column("created", Text, nullable=False),
    Column("updated", Text, nullable=False),
    _connection(key=False),
    UniqueConstraint("connection", "key", name="queue_jobs_key"),
    Index("queue_jobs_status", "connection", "status", "seq"),
    Index("queue_jobs_number", "connection", "doc_kind", "doc_number"),
    sqlite_autoincrement=True,
)

# requests handed to the target's client and not answered yet, recorded in the transaction that built them
queue_requests = Table(
    "queue_requests", metadata,
    _connection(),
    Column("request_id", Text, primary_key=True),
    Column("job_key", Text, primary_key=True),
    Column("part", Text, primary_key=True),
    Column("stage", Text, nullable=False),
    Column("ticket", Text, nullable=False),  # the session that was handed the request
    Column("sent", Text, nullable=False),
    Index("queue_requests_ticket", "connection", "ticket"),
)

# lists the target's client read back (stock levels, the item catalogue), a 'staging' snapshot until complete,
# then 'latest'
queue_lists = Table(
    "queue_lists", metadata,
    _connection(),
    Column("list", Text, primary_key=True),  # inventory, catalogue
    Column("snapshot", Text, primary_key=True),  # staging, latest
    Column("name", Text, primary_key=True),
    Column("ref", Text),  # the target's id of the entry
    Column("value", Text, nullable=False),  # inventory: quantity on hand; catalogue: the part number, casefolded
    Index("queue_lists_value", "connection", "list", "snapshot", "value"),
)

# small facts the target's client told (multicurrency on, the company's tax codes)
queue_meta = Table(
    "queue_meta", metadata,
    _connection(),
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

# the client's sessions: a ticket names its connection, so any endpoint process behind a load balancer can serve
# any call of any session (the ticket is a random UUID, unique across the deployment)
queue_sessions = Table(
    "queue_sessions", metadata,
    Column("ticket", Text, primary_key=True),
    Column("status", Text, nullable=False),  # open, closed, superseded (a later authenticate of its connection)
    Column("company_file", Text, nullable=False, server_default=""),
    Column("pending_at_start", Integer, nullable=False, server_default="0"),
    Column("round_trips", Integer, nullable=False, server_default="0"),
    Column("requests", Integer, nullable=False, server_default="0"),
    Column("answered", Integer, nullable=False, server_default="0"),
    Column("lost_on_resume", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("started", Text, nullable=False),
    Column("closed_at", Text),
    _connection(key=False),
    Index("queue_sessions_connection", "connection", "status"),
)

# --- call budgets shared by every process (connex/state/budget.py) ------------------------------------------
# Not keyed by connection on purpose: a QuickBooks company's or a Linnworks account's limits are the vendor's,
# shared by every connection that calls it. One row per (scope, place): the last ``limit`` calls under a scope,
# a ring of call times in microseconds on the database's clock. A call may go when the oldest of them is a
# whole period old, which is exactly the vendors' sliding window (at most ``limit`` calls in any period).
call_windows = Table(
    "call_windows", metadata,
    Column("scope", Text, primary_key=True),  # scope|key, e.g. qbo:https://...:<realm>|batch
    Column("place", Integer, primary_key=True),  # 0 .. limit-1
    Column("at_us", BigInteger, nullable=False),  # when the call holding this place was granted
)
