"""The connector: config schema, idempotent enqueueing, outcomes, plugin hooks, and the .qwc file."""

from __future__ import annotations

import sqlite3

import connex_quickbooks_desktop as plugin
import jsonschema
import pytest
from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget
from connex_quickbooks_desktop.qwc import write_qwc
from connex_quickbooks_desktop.simulator import WebConnectorRefused, WebConnectorSimulator
from connex_quickbooks_desktop.validation import default_xsd_dir
from lxml import etree

from connex.errors import ConfigError
from connex.state import open_state

from .conftest import order


def test_schema_accepts_exactly_the_documented_keys(config):
    schema = QuickBooksDesktopTarget.config_schema
    full = {
        **config,
        "company_file": "",
        "app_name": "Shop",
        "app_url": "https://qb.example.com/qbwc",
        "owner_id": "{7A1E2B3C-4D5E-4F60-8A9B-0C1D2E3F4A5B}",
        "file_id": "0F9E8D7C-6B5A-4493-8271-605F4E3D2C1B",
        "missing_items": "create_non_inventory",
        "cogs_account": "Cost of Goods Sold",
    }
    jsonschema.validate(full, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**config, "pasword": "typo"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**config, "missing_items": "create"}, schema)
    assert QuickBooksDesktopTarget.secret_keys == ("password",)


def test_the_queue_lives_in_the_state_store_it_is_given_under_its_connection(tmp_path, config):
    del config["queue_db"]
    state = open_state(tmp_path / "state.db", connection="acme")
    connector = QuickBooksDesktopTarget(config, state=state)
    assert connector.post_documents([order("5001")])[0].status == "queued"
    connector.close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        rows = db.execute("SELECT connection, key FROM queue_jobs WHERE kind = 'document'").fetchall()
    assert rows == [("acme", "sales_receipt:order-5001")]
    other = QuickBooksDesktopTarget(config, state=open_state(tmp_path / "state.db", connection="other"))
    assert other.queue.get("sales_receipt:order-5001") is None  # another connection's queue is not this one's
    assert not list(tmp_path.glob("connex.db*"))  # nothing beside the state store
    state.close()


def test_config_errors_say_which_field(config):
    with pytest.raises(ConfigError, match="app_url.*https"):
        QuickBooksDesktopTarget({**config, "app_url": "http://qb.example.com/qbwc"})
    with pytest.raises(ConfigError, match="IP address"):
        QuickBooksDesktopTarget({**config, "app_url": "https://10.0.0.5/qbwc"})
    with pytest.raises(ConfigError, match="income_account"):
        QuickBooksDesktopTarget({**config, "missing_items": "create_non_inventory", "income_account": ""})


def test_enqueueing_is_idempotent_by_document_key(target):
    first = target.post_documents([order("LW-1"), order("LW-1")])
    assert [r.status for r in first] == ["queued", "queued"]
    target.post_documents([order("LW-1")])
    assert target.queue.counts()["document:pending"] == 1
    assert target.find_posted(order("LW-1")).status == "queued"
    assert target.find_posted(order("LW-404")) is None


def test_documents_qbxml_cannot_express_fail_immediately_with_where(target):
    broken = order("LW-2")
    broken.lines = []
    [result] = target.post_documents([broken])
    assert result.status == "failed" and "sales_receipt LW-2 field lines" in result.error
    assert "document:pending" not in target.queue.counts()


def test_find_or_create_returns_the_quickbooks_name(target):
    from .conftest import customer

    assert target.find_or_create_customer(customer("Ж" * 50)) == ("Zh" * 50)[:41]
    assert (
        target.find_or_create_item("A-VERY-LONG-SKU-THAT-DOES-NOT-FIT-31")
        == "A-VERY-LONG-SKU-THAT-DOES-NOT-F"
    )


def test_plugin_hooks_register_target_and_simulator():
    assert plugin.connex_targets() == {"quickbooks_desktop": QuickBooksDesktopTarget}
    simulator = plugin.connex_simulators()["quickbooks_desktop"]()
    assert isinstance(simulator, WebConnectorSimulator)
    # it checks requests against Intuit's schemas exactly when this installation has them
    assert (simulator.company.validator is not None) == (default_xsd_dir() is not None)


def test_qwc_file(tmp_path, config):
    path = write_qwc(
        {**config, "app_url": "https://qb.example.com/qbwc", "app_name": "Shop Sync"}, tmp_path / "connex.qwc"
    )
    root = etree.parse(str(path)).getroot()
    assert root.tag == "QBWCXML"
    assert root.findtext("AppURL") == "https://qb.example.com/qbwc"
    assert root.findtext("AppSupport") == "https://qb.example.com/qbwc/support"
    assert root.findtext("UserName") == config["username"]
    assert root.findtext("QBType") == "QBFS" and root.findtext("Scheduler/RunEveryNMinutes") == "15"
    assert config["password"] not in path.read_text()
    owner, file_id = root.findtext("OwnerID"), root.findtext("FileID")
    assert owner.startswith("{") and owner.endswith("}") and len(owner) == 38
    again = etree.parse(str(write_qwc({**config, "app_name": "Shop Sync"}, tmp_path / "b.qwc"))).getroot()
    assert (again.findtext("OwnerID"), again.findtext("FileID")) == (owner, file_id)  # stable GUIDs
    assert again.findtext("AppURL").startswith("http://localhost:")


def test_simulated_web_connector_refuses_plain_http_to_a_remote_host():
    with pytest.raises(WebConnectorRefused, match="QBWC1010"):
        WebConnectorSimulator().run_session("http://qb.example.com/qbwc", "u", "p")


def test_password_stays_out_of_reprs(target, config):
    assert config["password"] not in repr(target.settings)
