"""The simulators serve many Linnworks accounts and QuickBooks companies from one server, each with its own data
and its own limits, enforced with the vendor's real fault and counted."""

from __future__ import annotations

import requests
from connex_linnworks.limits import RATE_LIMITS
from connex_linnworks.simulator.accounts import LinnworksAccounts
from connex_quickbooks_online.simulator import server as qbo_server
from connex_quickbooks_online.simulator.realms import QuickBooksOnlineRealms


def _auth(url: str, config: dict) -> requests.Response:
    return requests.post(f"{url}/api/Auth/AuthorizeByApplication", data={
        "ApplicationId": config["application_id"], "ApplicationSecret": config["application_secret"],
        "Token": config["token"]}, timeout=5)


def test_linnworks_accounts_are_told_apart_by_installation_and_session():
    with LinnworksAccounts() as server:
        one = server.add_account("one", seed=1, processed_orders=3, open_orders=0, purchase_orders=0,
                                 refunds=False)
        two = server.add_account("two", seed=2, processed_orders=5, open_orders=0, purchase_orders=0,
                                 refunds=False)
        assert one.url == two.url == server.url
        sessions = {}
        for name, account in (("one", one), ("two", two)):
            answer = _auth(server.url, account.connector_config())
            assert answer.status_code == 200 and answer.json()["Server"] == server.url
            sessions[name] = answer.json()["Token"]
        wrong = _auth(server.url, {**one.connector_config(), "token": two.install_token[:-1] + "0"})
        assert wrong.status_code == 401
        locations = requests.post(f"{server.url}/api/Inventory/GetStockLocations",
                                  headers={"Authorization": sessions["two"]}, timeout=5)
        assert locations.status_code == 200
        assert two.stats["Inventory/GetStockLocations"] == 1 and one.stats["Inventory/GetStockLocations"] == 0
        assert requests.post(f"{server.url}/api/Inventory/GetStockLocations", headers={"Authorization": "nope"},
                             timeout=5).status_code == 401
        assert server.all_stats()["total"]["Inventory/GetStockLocations"] == 1


def test_linnworks_minute_is_per_account_with_the_real_fault():
    endpoint = "Inventory/GetStockLocations"
    limit = RATE_LIMITS[endpoint]
    with LinnworksAccounts() as server:
        accounts = [server.add_account(n, seed=i, processed_orders=0, open_orders=0, purchase_orders=0,
                                       refunds=False, rate_limits={endpoint: 3}) for i, n in enumerate("ab")]
        tokens = [_auth(server.url, a.connector_config()).json()["Token"] for a in accounts]
        # two sessions of one account share its minute: the stricter reading of an [UNVERIFIED] scope
        second_session = _auth(server.url, accounts[0].connector_config()).json()["Token"]
        codes = [requests.post(f"{server.url}/api/{endpoint}", headers={"Authorization": t}, timeout=5).status_code
                 for t in (tokens[0], second_session, tokens[0], second_session)]
        assert codes == [200, 200, 200, 429]
        refused = requests.post(f"{server.url}/api/{endpoint}", headers={"Authorization": tokens[0]}, timeout=5)
        assert refused.json()["Message"] == "API calls quota exceeded! Maximum admitted 3 per Minute."
        assert int(refused.headers["Retry-After"]) >= 1
        assert requests.post(f"{server.url}/api/{endpoint}", headers={"Authorization": tokens[1]},
                             timeout=5).status_code == 200  # the other account's minute is untouched
        assert server.rate_limited() == {"a": 2, "b": 0}
        assert limit == 150


def test_quickbooks_companies_by_realm_in_the_url_and_by_refresh_token(monkeypatch):
    monkeypatch.setattr(qbo_server, "REQUESTS_PER_MINUTE", 4)
    with QuickBooksOnlineRealms() as server:
        first, second = server.add_company("111"), server.add_company("222")
        access = {}
        for company in (first, second):
            config = company.connector_config()
            granted = requests.post(config["token_url"], auth=(config["client_id"], config["client_secret"]),
                                    data={"grant_type": "refresh_token", "refresh_token": config["refresh_token"]},
                                    timeout=5)
            assert granted.status_code == 200, granted.text
            access[company.company.realm_id] = granted.json()["access_token"]

        def query(realm, token):
            return requests.post(f"{server.url}/v3/company/{realm}/query", data=b"SELECT * FROM Item",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/text",
                                          "Accept": "application/json"}, timeout=5)

        assert query("111", access["222"]).status_code == 401  # one company's token opens no other
        codes = [query("111", access["111"]).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 200, 429]
        throttled = query("111", access["111"])
        assert "ThrottleExceeded" in throttled.text and throttled.headers["Content-Type"].startswith("application/xml")
        assert query("222", access["222"]).status_code == 200  # each realm has its own 500 a minute
        assert server.rate_limited() == {"111": 2, "222": 0}
        unknown = query("333", access["111"])
        assert unknown.status_code == 403 and "unknown realm" in unknown.text
