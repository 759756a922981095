"""The console in a real headless Chromium (Debian's chromium and chromedriver, through Selenium) against a
`connex daemon` subprocess syncing the simulators: sign in, the overview's counts against `connex status`, a
failure group opened in place (htmx), a document, a retry after the cause is fixed in the simulator, and the
refusals (a viewer's action, a request without the CSRF token).

Without a browser the tests skip with the reason; under CI=true they fail instead (.ci/run installs chromium).
Screenshots go to $CONNEX_SCREENSHOTS when set (docs/console.md: ``CONNEX_SCREENSHOTS=docs/console``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from tests.conftest import REPO, in_ci
from tests.console.conftest import PASSWORDS, make_workspace
from tests.sync.test_daemon_and_demo import free_port, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")


def _browser_or_skip():
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if not path]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = f"no {', '.join(missing)} on this machine (Debian: apt-get install chromium chromium-driver)"
        if in_ci():
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def browser(tmp_path):
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def daemon(tmp_path):
    """`connex daemon` with its console, after its first pass over the simulators."""
    health, console_port = free_port(), free_port()
    with LinnworksSimulator(processed_orders=16, open_orders=0, purchase_orders=3, refunds=False) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        ws = make_workspace(tmp_path, lw, qbo, daemon={"health": f"127.0.0.1:{health}"})
        config = json.loads(ws.config_path.read_text())
        config["sync"]["schedule"] = "every 6 hours"  # the first pass runs at once (nothing synced yet), no other
        config["console"]["listen"] = f":{console_port}"
        ws.config_path.write_text(json.dumps(config))
        process = subprocess.Popen([sys.executable, "-m", "connex", "daemon"], cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            status_url = f"http://127.0.0.1:{health}/status"
            wait_for(lambda: (s := _json(status_url)) and s["daemon"]["passes"] >= 1, 60)
            ws.url = f"http://127.0.0.1:{console_port}"
            ws.status_url = status_url
            yield ws
        finally:
            process.terminate()
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def _json(url):
    try:
        return requests.get(url, timeout=5).json()
    except (requests.RequestException, ValueError):
        return None


def _reachable(url) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


class Shots:
    def __init__(self, driver, folder: Path):
        self.driver, self.folder = driver, folder
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, name: str) -> None:
        # the whole page, not only the window: size the window to the document's height first
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        width = self.driver.get_window_size()["width"]
        self.driver.set_window_size(width, min(max(height + 140, 600), 4000))
        self.driver.save_screenshot(str(self.folder / f"{name}.png"))


def sign_in(driver, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/login")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORDS[name])
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "section.connection"), 15)


def post_from_page(driver, path: str, body: str, with_token: bool) -> int:
    """A fetch() from the signed-in page, with or without the page's CSRF token: the status code."""
    return driver.execute_async_script("""
        const [path, body, withToken, done] = arguments;
        const headers = {"Content-Type": "application/x-www-form-urlencoded"};
        if (withToken) headers["X-CSRF-Token"] = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
        fetch(path, {method: "POST", headers, body, redirect: "manual"}).then(r => done(r.status), e => done(-1));
    """, path, body, with_token)


def test_the_console_in_a_browser_against_the_daemon(daemon, browser, tmp_path):
    from selenium.webdriver.common.by import By

    shots = Shots(browser, Path(os.environ.get("CONNEX_SCREENSHOTS") or tmp_path / "shots"))
    browser.get(daemon.url + "/")
    assert "/login" in browser.current_url  # nothing before signing in
    shots.take("login")
    sign_in(browser, daemon.url, "olive")

    # the overview's counts are `connex status`'s
    status = json.loads(daemon.cli("status", "--json").stdout)
    for flow, counts in status["counts"].items():
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-flow='{flow}']")
        shown = {cell.get_attribute("data-count"): int(cell.text)
                 for cell in row.find_elements(By.CSS_SELECTOR, "td[data-count]")}
        assert shown["posted"] == counts.get("posted", 0) + counts.get("exists", 0)
        assert shown["failed"] == counts.get("failed", 0) and shown["skipped"] == counts.get("skipped", 0)
    assert status["counts"]["orders"]["failed"] == 1
    assert browser.find_element(By.CSS_SELECTOR, "[data-health]").text == "ok"
    shots.take("overview")

    # a failure group, opened in place
    browser.find_element(By.LINK_TEXT, "Failures").click()
    group = browser.find_element(By.CSS_SELECTOR, "section.group")
    assert "fix" in group.text.lower() or "ExchangeRate" in group.text
    group.find_element(By.CSS_SELECTOR, "[data-expand]").click()
    link = wait_for(lambda: group.find_elements(By.CSS_SELECTOR, ".group-documents a"), 15)[0]
    assert browser.current_url.endswith("/failures")  # htmx swapped the list in; no navigation
    shots.take("failures")

    # the document, then a retry once its cause is fixed in Linnworks
    link.click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-status]"), 15)
    assert browser.find_element(By.CSS_SELECTOR, "[data-status]").text == "failed"
    assert browser.find_elements(By.CSS_SELECTOR, "[data-explained]")  # the rules, from the stored record
    shots.take("document-failed")
    daemon.fix_broken_order()
    browser.find_element(By.CSS_SELECTOR, "[data-retry]").click()
    assert "retrying 1 document" in browser.find_element(By.CSS_SELECTOR, ".flash").text

    def posted():
        browser.refresh()
        return browser.find_element(By.CSS_SELECTOR, "[data-status]").text == "posted"

    wait_for(posted, 60, step=1)
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "retry requested" in page and "olive" in page
    assert browser.find_element(By.CSS_SELECTOR, "[data-qbo-link]").get_attribute("href").startswith(
        "https://app.qbo.intuit.com/app/salesreceipt?txnId=")
    shots.take("document")
    assert _json(daemon.status_url)["counts"]["orders"].get("failed", 0) == 0

    # search by customer
    browser.get(daemon.url + "/search?q=" + "MUG-BLU-01")
    assert browser.find_elements(By.CSS_SELECTOR, "tr[data-key]")
    shots.take("search")

    # no token, no action
    assert post_from_page(browser, "/actions/pause", "paused=1", with_token=False) == 403
    assert post_from_page(browser, "/actions/pause", "paused=1", with_token=True) in (303, 0)  # 0: opaque redirect
    browser.get(daemon.url + "/")
    assert "paused by olive" in browser.find_element(By.CSS_SELECTOR, "[data-paused]").text
    assert _json(daemon.status_url)["daemon"]["paused"] is True

    # a viewer sees and cannot act
    browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    sign_in(browser, daemon.url, "vera")
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action^='/actions/']")
    assert post_from_page(browser, "/actions/pause", "paused=0", with_token=True) == 403
    assert _json(daemon.status_url)["daemon"]["paused"] is True

    # readable on a phone: the overview at 390 px wide
    browser.set_window_size(390, 844)
    browser.get(daemon.url + "/")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, width  # no sideways scrolling of the page itself (wide tables scroll in their box)
    shots.take("overview-phone")


@pytest.fixture
def daemon_of_two(tmp_path):
    """`connex daemon` serving a deployment of two connections (c01 with one failed order) and its console."""
    from tests.console.test_console_many import two_connections

    console_port = free_port()
    fleet = two_connections(tmp_path, listen=f":{console_port}", schedule="every 6 hours")
    env = {**os.environ, **fleet.env}
    process = subprocess.Popen([sys.executable, "-m", "connex", "daemon"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        fleet.status_url = f"http://{fleet.health}/status"
        # synced just before: the daemon's first passes are not due; it serves the console at once
        wait_for(lambda: (s := _json(fleet.status_url)) and len(s["connections"]) == 2, 60)
        fleet.url = f"http://127.0.0.1:{console_port}"
        wait_for(lambda: _reachable(fleet.url + "/login"), 30)
        fleet.cli = lambda *args: subprocess.run([sys.executable, "-m", "connex", *args], cwd=tmp_path, env=env,
                                                 capture_output=True, text=True, timeout=120)
        yield fleet
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        fleet.stop()


def test_the_console_of_two_connections_in_a_browser(daemon_of_two, browser, tmp_path):
    from selenium.webdriver.common.by import By

    url = daemon_of_two.url
    shots = Shots(browser, Path(os.environ.get("CONNEX_SCREENSHOTS") or tmp_path / "shots"))
    browser.get(url + "/login")
    browser.find_element(By.NAME, "username").send_keys("olive")
    browser.find_element(By.NAME, "password").send_keys(PASSWORDS["olive"])
    browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "tr[data-connection]"), 15)

    # one line per connection, its counts `connex status`'s
    status = json.loads(daemon_of_two.cli("status", "--json").stdout)
    assert sorted(status["connections"]) == ["c01", "c02"]
    for name, data in status["connections"].items():
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-connection='{name}']")
        shown = {cell.get_attribute("data-count"): int(cell.text)
                 for cell in row.find_elements(By.CSS_SELECTOR, "td[data-count]")}
        counts = data["counts"]["orders"]
        assert shown["posted"] == counts.get("posted", 0) + counts.get("exists", 0)
        assert shown["failed"] == counts.get("failed", 0)
    assert status["connections"]["c01"]["counts"]["orders"]["failed"] == 1
    shots.take("overview-connections")

    # c01's own pages: its failures, the group opened in place, the document, the retry after the fix
    browser.find_element(By.CSS_SELECTOR, "tr[data-connection='c01'] th a").click()
    assert browser.current_url.endswith("/c/c01/")
    browser.find_element(By.LINK_TEXT, "Failures").click()
    assert browser.current_url.endswith("/c/c01/failures")
    group = browser.find_element(By.CSS_SELECTOR, "section.group")
    group.find_element(By.CSS_SELECTOR, "[data-expand]").click()
    link = wait_for(lambda: group.find_elements(By.CSS_SELECTOR, ".group-documents a"), 15)[0]
    link.click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-status]"), 15)
    assert "/c/c01/documents/" in browser.current_url
    daemon_of_two.broken["TotalsInfo"]["Currency"] = "USD"
    browser.find_element(By.CSS_SELECTOR, "[data-retry]").click()
    assert "retrying 1 document" in browser.find_element(By.CSS_SELECTOR, ".flash").text

    def posted():
        browser.refresh()
        return browser.find_element(By.CSS_SELECTOR, "[data-status]").text == "posted"

    wait_for(posted, 60, step=1)

    # pause c02 from the overview: the daemon skips c02's schedule, c01's goes on
    browser.get(url + "/")
    browser.find_element(By.CSS_SELECTOR, "form[action='/c/c02/actions/pause'] button").click()
    assert "paused by olive" in browser.find_element(By.CSS_SELECTOR, "tr[data-connection='c02']").text
    connections = _json(daemon_of_two.status_url)["connections"]
    assert connections["c02"]["daemon"]["paused"] is True and connections["c01"]["daemon"]["paused"] is False
    assert connections["c01"]["counts"]["orders"].get("failed", 0) == 0
    assert post_from_page(browser, "/c/c01/actions/pause", "paused=1", with_token=False) == 403
