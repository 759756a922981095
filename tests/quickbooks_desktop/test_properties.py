"""Property: whatever the documents, the batch size, the point where a session dies and how many endpoint
processes a load balancer spreads the calls over, the company ends with each document exactly once (or the document
failed with a reason), and a further session changes nothing."""

from __future__ import annotations

import os
from collections import Counter

from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget
from connex_quickbooks_desktop.service import serve
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import _EMITTED, PASSWORD, USERNAME, bill, customer, order, purchase_order, refund

_SKUS = ["SKU-ABC-001", "SKU-ABC-002", "SKU-XYZ-010", "NOT-IN-QB"]


@st.composite
def workloads(draw):
    count = draw(st.integers(1, 8))
    documents = []
    for n in range(count):
        # numbers sharing their first 11 characters are the interesting case for the duplicate check
        number = draw(st.sampled_from(["20240501-000", "LW-"])) + f"{n:03d}-" + draw(st.sampled_from("ABC"))
        skus = draw(st.lists(st.sampled_from(_SKUS), min_size=1, max_size=3, unique=True))
        party = customer(draw(st.sampled_from(["Ann Lee", "Bob Ray", "Иван Петров"])))
        documents.append(
            order(number, party=party, skus=skus, kind=draw(st.sampled_from(["sales_receipt", "invoice"])))
        )
    if draw(st.booleans()):
        # bill before its purchase order in the queue: the bill must wait for it, then link to it
        documents += [bill("INV-1", "PO-1"), purchase_order("PO-1")]
    if draw(st.booleans()):
        documents.append(refund("RF-1", "LW-000-A"))
    unique = {d.key: d for d in documents}
    return list(unique.values())


@settings(
    max_examples=int(os.environ.get("QBD_PROPERTY_EXAMPLES", 12)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(workloads(), st.integers(1, 12), st.integers(1, 6), st.booleans(), st.integers(1, 2))
def test_interrupted_sessions_never_duplicate_or_lose(
    tmp_path_factory, validator_if_present, documents, batch, cut_after, applied, endpoints
):
    folder = tmp_path_factory.mktemp("prop")
    config = {
        "listen": "127.0.0.1:0",
        "username": USERNAME,
        "password": PASSWORD,
        "queue_db": str(folder / "q.db"),
        "shipping_item": "Shipping",
        "batch_size": batch,
    }
    company = SimulatedCompany.seeded(validator=validator_if_present)
    qbwc = WebConnectorSimulator(company, on_request=_EMITTED.append)
    # each endpoint its own server with its own service (as in another process), one state store: the Web
    # Connector's calls go to each in turn
    servers = [serve(config) for _ in range(endpoints)]
    urls = [server.url for server in servers]
    try:
        target = QuickBooksDesktopTarget(config)
        target.post_documents(documents)
        qbwc.run_session(urls, USERNAME, PASSWORD, cut_after_sends=cut_after, applied_before_cut=applied)
        last = qbwc.run_session(urls[::-1], USERNAME, PASSWORD)
        assert (last.percents[-1:] == [100] and not last.errors) or last.auth_status == "none", last
        state = company.fingerprint()
        assert qbwc.run_session(urls, USERNAME, PASSWORD).auth_status == "none"
        assert company.fingerprint() == state
        results = {r.key: r for r in target.collect_results()}
    finally:
        for server in servers:
            server.stop()

    assert set(results) == {d.key for d in documents}
    posted = Counter((t.txn_type, t.memo) for t in company.transactions)
    assert all(n == 1 for n in posted.values()), posted
    for document in documents:
        result = results[document.key]
        needs_missing_item = any(line.sku == "NOT-IN-QB" for line in document.lines)
        if needs_missing_item:
            assert result.status == "failed" and "NOT-IN-QB" in result.error
        else:
            assert result.status in ("posted", "exists"), result
    for bill_txn in company.find_transactions("Bill"):
        assert all(line.link for line in bill_txn.lines)
    assert len(company.transactions) == sum(
        not any(line.sku == "NOT-IN-QB" for line in d.lines) for d in documents
    )
