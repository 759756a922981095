"""End to end: the engine's connector enqueues, the simulated Web Connector drains the queue through a real
endpoint, and the simulated company file ends up with exactly the right records."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget
from connex_quickbooks_desktop.service import serve
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator

from .conftest import _EMITTED, PASSWORD, USERNAME, bill, customer, order, purchase_order, refund, run


def _workload():
    orders = [order(f"LW-{n:05d}", party=customer(f"Customer {n % 4}")) for n in range(12)]
    orders.append(order("202405010001-AMAZON-UK", kind="invoice"))
    orders.append(order("202405010001-AMAZON-DE", kind="invoice"))  # same first 11 characters: both must post
    return orders + [
        purchase_order("PO-100", skus=("SKU-ABC-002", "SKU-XYZ-010")),
        bill("INV-9001", "PO-100", skus=("SKU-ABC-002", "SKU-XYZ-010")),
        refund("RF-1", "LW-00001"),
    ]


def _post_all(target):
    for party in {
        d.customer.display_name: d.customer for d in _workload() if getattr(d, "customer", None)
    }.values():
        target.find_or_create_customer(party)
    results = target.post_documents(_workload())
    assert {r.status for r in results} == {"queued"}
    list(target.read_inventory())


def test_a_session_syncs_orders_purchase_orders_bills_refunds_and_inventory(target, endpoint, qbwc, company):
    _post_all(target)
    log = run(qbwc, endpoint)
    assert log.auth_status == ""
    assert log.percents[-1] == 100 and log.percents == sorted(log.percents)
    assert log.calls[:3] == ["serverVersion", "clientVersion", "authenticate"]
    assert log.calls[-1] == "closeConnection" and not log.errors

    results = {r.key: r for r in target.collect_results()}
    assert len(results) == 17 and {r.status for r in results.values()} == {"posted"}
    assert target.collect_results() == []  # each outcome handed out once

    assert len(company.find_transactions("SalesReceipt")) == 12
    amazon = company.find_transactions("Invoice", "20240501000")
    assert sorted(t.memo for t in amazon) == ["#202405010001-AMAZON-DE", "#202405010001-AMAZON-UK"]
    po = company.find_transactions("PurchaseOrder", "PO-100")[0]
    assert all(line.received == line.quantity for line in po.lines)  # the bill received the whole PO
    assert all(line.link for line in company.find_transactions("Bill")[0].lines)
    assert len(company.find_transactions("CreditMemo", "RF-1")) == 1
    assert {r.name for r in company.records("Customer")} >= {"Customer 0", "Customer 3", "Jane Smith"}

    # stock: read after the session's postings, so it reflects them (120 - 13 orders x 2 ... + 1 refunded)
    levels = {lvl.sku: lvl.quantity_on_hand for lvl in target.read_inventory()}
    assert levels == {"SKU-ABC-001": 120 - 14 * 2 + 1, "SKU-ABC-002": 40 + 10, "SKU-XYZ-010": 7 + 10}
    assert target.find_posted(_workload()[0]).status == "posted"


def test_a_second_session_creates_nothing_new(target, endpoint, qbwc, company):
    _post_all(target)
    run(qbwc, endpoint)
    before = company.fingerprint()
    assert target.post_documents(_workload())[0].status == "exists"
    log = run(qbwc, endpoint)
    assert log.auth_status == "none" and log.calls[-1] == "closeConnection"
    assert company.fingerprint() == before


def test_a_new_queue_posting_the_same_documents_finds_them_by_refnumber_and_memo(
    config, tmp_path, qbwc, company
):
    """Connex keeps no history it can trust over QuickBooks: a fresh database (or a second machine) must
    still not duplicate, because each Add is preceded by the RefNumber + Memo check."""
    for db in ("first.db", "second.db"):
        cfg = {**config, "queue_db": str(tmp_path / db)}
        server = serve(cfg)
        try:
            _post_all(QuickBooksDesktopTarget(cfg))
            run(qbwc, server)
            statuses = Counter(r.status for r in QuickBooksDesktopTarget(cfg).collect_results())
        finally:
            server.stop()
    assert statuses == Counter({"exists": 17})
    assert len(company.transactions) == 17


def _reference_state(config, tmp_path, validator_if_present):
    """The company state after one uninterrupted session, and how many round trips it took."""
    company = SimulatedCompany.seeded(validator=validator_if_present)
    cfg = {**config, "queue_db": str(tmp_path / "reference.db")}
    server = serve(cfg)
    try:
        _post_all(QuickBooksDesktopTarget(cfg))
        log = WebConnectorSimulator(company, on_request=_EMITTED.append).run_session(
            server.url, cfg["username"], cfg["password"]
        )
    finally:
        server.stop()
    return company.fingerprint(), log.round_trips


#: the reference session above takes this many round trips; cutting after each one covers every point
REFERENCE_ROUND_TRIPS = 5


@pytest.mark.parametrize("applied", [True, False], ids=["applied-then-cut", "cut-before-quickbooks"])
@pytest.mark.parametrize("cut_after", range(1, REFERENCE_ROUND_TRIPS + 1))
def test_a_session_cut_off_midway_resumes_to_the_same_company_state(
    config, tmp_path, validator_if_present, target, endpoint, qbwc, company, cut_after, applied
):
    _post_all(target)
    first = run(qbwc, endpoint, cut_after_sends=cut_after, applied_before_cut=applied)
    assert first.interrupted
    second = run(qbwc, endpoint)
    assert second.percents[-1] == 100 and not second.errors
    expected, round_trips = _reference_state(config, tmp_path, validator_if_present)
    assert round_trips == REFERENCE_ROUND_TRIPS  # so the cut points cover the whole session
    assert company.fingerprint() == expected
    results = target.collect_results()
    assert len(results) == 17 and {r.status for r in results} <= {"posted", "exists"}


def test_existing_customer_name_3100_is_reused(target, endpoint, qbwc, company):
    company.add_list_record("Jane Smith", "Customer", currency="British Pound Sterling")
    target.post_documents([order("LW-1")])
    run(qbwc, endpoint)
    assert [r.status for r in target.collect_results()] == ["posted"]
    assert len(company.records("Customer")) == 1
    assert target.queue.get("customer:Jane Smith").outcome == "exists"


def test_a_quickbooks_error_fails_that_document_and_the_rest_go_on(target, endpoint, qbwc, company):
    bad = order("LW-BAD")
    bad.payment_method = "Bitcoin"
    target.post_documents([order("LW-1"), bad, order("LW-2")])
    run(qbwc, endpoint)
    results = {r.key: r for r in target.collect_results()}
    assert results["sales_receipt:order-LW-BAD"].status == "failed"
    assert results["sales_receipt:order-LW-BAD"].code == "3140"
    assert 'Payment Method "Bitcoin"' in results["sales_receipt:order-LW-BAD"].error
    assert "sales_receipt LW-BAD" in results["sales_receipt:order-LW-BAD"].error
    assert (
        results["sales_receipt:order-LW-1"].status == results["sales_receipt:order-LW-2"].status == "posted"
    )


def test_missing_items_fail_or_are_created(config, tmp_path, company, qbwc):
    for policy, expected in (("fail", "failed"), ("create_non_inventory", "posted")):
        cfg = {**config, "missing_items": policy, "queue_db": str(tmp_path / f"{policy}.db")}
        server = serve(cfg)
        try:
            connector = QuickBooksDesktopTarget(cfg)
            connector.post_documents([order(f"LW-{policy[:4]}", skus=("NEW-SKU-1",))])
            run(qbwc, server)
            [result] = connector.collect_results()
        finally:
            server.stop()
        assert result.status == expected, result
        if expected == "failed":
            assert "NEW-SKU-1" in result.error and result.code == "missing_item"
    assert company.lists["new-sku-1"].kind == "ItemNonInventory"


def test_a_bill_waits_for_its_purchase_order_and_fails_without_one(target, endpoint, qbwc, company):
    target.post_documents([bill("INV-1", "PO-404"), bill("INV-2", "PO-200"), purchase_order("PO-200")])
    run(qbwc, endpoint)
    results = {r.key: r for r in target.collect_results()}
    assert results["bill:bill-INV-1"].status == "failed" and "PO-404" in results["bill:bill-INV-1"].error
    assert results["bill:bill-INV-2"].status == "posted"
    assert company.find_transactions("Bill", "INV-2")[0].lines[0].link is not None


def test_non_latin1_text_is_transliterated_and_accepted(target, endpoint, qbwc, company):
    target.post_documents(
        [order("LW-1", party=customer("Иван Петров")), order("LW-2", party=customer("Zoë Ławska"))]
    )
    run(qbwc, endpoint)
    assert {r.status for r in target.collect_results()} == {"posted"}
    assert {r.name for r in company.records("Customer")} == {"Ivan Petrov", "Zoë Lawska"}


def test_without_multicurrency_no_currency_ref_is_sent(
    config, validator_if_present, target, endpoint
):
    company = SimulatedCompany.seeded(validator=validator_if_present, multicurrency=False)
    seen: list[str] = []
    target.post_documents([order("LW-1")])
    WebConnectorSimulator(
        company, on_request=lambda xml: (seen.append(xml), _EMITTED.append(xml))
    ).run_session(endpoint.url, config["username"], config["password"])
    assert [r.status for r in target.collect_results()] == ["posted"]
    assert not any("CurrencyRef" in xml for xml in seen)


def test_a_refused_message_set_is_retried_job_by_job(
    target, endpoint, company, validator_if_present
):
    """QuickBooks refuses a whole message set (HRESULT, empty response) once: nothing is lost or doubled."""

    class Flaky(SimulatedCompany):
        refusals = 1

        def process(self, request):
            if self.refusals and "SalesReceiptAdd" in request:
                self.refusals -= 1
                from connex_quickbooks_desktop.simulator import QuickBooksParseError

                raise QuickBooksParseError("simulated")
            return super().process(request)

    flaky = Flaky.seeded(validator=validator_if_present)
    target.post_documents([order(f"LW-{n}") for n in range(3)])
    log = WebConnectorSimulator(flaky, on_request=_EMITTED.append).run_session(
        endpoint.url, USERNAME, PASSWORD
    )
    assert log.parse_failures == 1 and log.percents[-1] == 100
    assert {r.status for r in target.collect_results()} == {"posted"}
    assert len(flaky.find_transactions("SalesReceipt")) == 3


def test_inventory_iterates_over_many_pages(target, endpoint, qbwc, company):
    for n in range(250):
        company.add_list_record(f"BULK-{n:04d}", "ItemInventory", quantity=Decimal(n))
    assert list(target.read_inventory()) == []  # nothing known before the first session
    log = run(qbwc, endpoint)
    requests = [xml for xml in qbwc.company.received if "ItemInventoryQueryRq" in xml]
    assert len(requests) == 3 and 'iterator="Continue"' in requests[1]
    assert log.percents[-1] == 100
    levels = {lvl.sku: lvl.quantity_on_hand for lvl in target.read_inventory()}
    assert len(levels) == 253 and levels["BULK-0249"] == 249
    assert {lvl.sku for lvl in target.read_inventory(["bulk-0001", "SKU-ABC-001"])} == {
        "BULK-0001",
        "SKU-ABC-001",
    }


def test_wrong_password_and_nothing_to_do_end_the_session_politely(target, endpoint, qbwc):
    wrong = qbwc.run_session(endpoint.url, "connex-sync", "not-the-password")
    assert wrong.auth_status == "nvu" and wrong.calls[-1] == "closeConnection" and wrong.round_trips == 0
    idle = run(qbwc, endpoint)
    assert idle.auth_status == "none" and idle.calls[-1] == "closeConnection"


def test_a_company_file_quickbooks_cannot_open_goes_through_connection_error(config, target, qbwc):
    server = serve({**config, "company_file": r"C:\Elsewhere\Other.QBW"})
    try:
        target.post_documents([order("LW-1")])
        log = run(qbwc, server)
    finally:
        server.stop()
    assert log.calls[-2:] == ["connectionError", "closeConnection"]
    assert log.errors == ["connectionError -> done"]
    assert target.find_posted(order("LW-1")).status == "queued"  # nothing lost: the next run posts it


def test_a_document_whose_qbxml_would_not_validate_fails_before_it_is_sent(
    target, endpoint, qbwc, company, validator
):
    """The service validates what it is about to send; XML QuickBooks would refuse as a whole never leaves."""
    from lxml import etree

    service = endpoint.service
    service.workflow.validator = validator  # what the service finds when Intuit's schemas are installed
    original = service.workflow.builder.sales_add

    def out_of_order(request_id, document):
        rq = original(request_id, document)
        add = rq[0]
        add.insert(0, add.find("TxnDate"))  # TxnDate before CustomerRef: the bug of qbwc/qbwc#74
        return rq

    service.workflow.builder.sales_add = out_of_order
    target.post_documents([order("LW-1"), purchase_order("PO-1")])
    log = run(qbwc, endpoint)
    results = {r.key: r for r in target.collect_results()}
    assert results["sales_receipt:order-LW-1"].status == "failed"
    assert results["sales_receipt:order-LW-1"].code == "xsd"
    assert "Element 'CustomerRef': This element is not expected" in results["sales_receipt:order-LW-1"].error
    assert results["purchase_order:po-PO-1"].status == "posted"
    assert log.parse_failures == 0 and not company.find_transactions("SalesReceipt")
    assert all(etree.fromstring(x.split("\n", 2)[2].encode()) is not None for x in company.received)


def test_a_failed_document_posted_again_is_retried_once_the_cause_is_fixed(target, endpoint, qbwc, company):
    document = order("LW-77", skus=("LATE-SKU",))
    target.post_documents([document])
    run(qbwc, endpoint)
    [failed] = target.collect_results()
    assert failed.status == "failed" and "LATE-SKU" in failed.error
    assert target.find_posted(document) is None

    company.add_list_record("LATE-SKU", "ItemInventory", quantity=Decimal(5))  # the bookkeeper adds the item
    assert [r.status for r in target.post_documents([document])] == ["queued"]
    run(qbwc, endpoint)
    assert [r.status for r in target.collect_results()] == ["posted"]
    assert company.lists["late-sku"].quantity == 3


def test_orders_with_hundreds_of_lines_are_spread_over_round_trips(target, endpoint, qbwc, company):
    from connex_quickbooks_desktop.workflow import MAX_LINES_PER_ROUND_TRIP

    many = tuple(["SKU-ABC-001", "SKU-ABC-002"] * 150)  # 300 item lines + shipping per order
    target.post_documents([order(f"LW-BIG-{n}", skus=many) for n in range(3)])
    run(qbwc, endpoint)
    assert {r.status for r in target.collect_results()} == {"posted"}
    adds = [xml for xml in company.received if "SalesReceiptAddRq" in xml]
    assert len(adds) == 3  # 301 lines each: two would exceed the limit
    assert all(xml.count("<SalesReceiptLineAdd>") <= MAX_LINES_PER_ROUND_TRIP for xml in adds)
    assert len(company.find_transactions("SalesReceipt")[0].lines) == 301
