"""The .qwc file the bookkeeper loads into the Web Connector (QBWC Programmer's Guide, ch.4)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from lxml import etree

from connex_quickbooks_desktop.config import Settings

RUN_EVERY_MINUTES = 15


def support_url(app_url: str) -> str:
    """AppSupport must be on the AppURL's host (QBWC1000) and answer 200; the endpoint serves
    a status page."""
    parts = urlsplit(app_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/support", "", ""))


def qwc_xml(settings: Settings, *, run_every_minutes: int = RUN_EVERY_MINUTES) -> str:
    root = etree.Element("QBWCXML")
    fields = [
        ("AppName", settings.app_name),
        ("AppID", ""),
        ("AppURL", settings.app_url),
        (
            "AppDescription",
            "Syncs Linnworks orders, purchase orders, refunds and stock with QuickBooks Desktop",
        ),
        ("AppSupport", support_url(settings.app_url)),
        (
            "UserName",
            settings.username,
        ),  # the password is never written: the user types it into the Web Connector
        ("OwnerID", settings.owner_id),
        ("FileID", settings.file_id),
        ("QBType", "QBFS"),
    ]
    for tag, text in fields:
        etree.SubElement(root, tag).text = text
    scheduler = etree.SubElement(root, "Scheduler")
    etree.SubElement(scheduler, "RunEveryNMinutes").text = str(run_every_minutes)
    etree.SubElement(root, "IsReadOnly").text = "false"
    etree.SubElement(root, "UnattendedModePref").text = "umpOptional"
    body = etree.tostring(root, pretty_print=True, encoding="unicode")
    return '<?xml version="1.0"?>\n' + body


def write_qwc(config: dict, path: str | Path, *, state=None) -> Path:
    """Write the .qwc for a ``target:`` config block to ``path``; raises ConfigError for an app_url the Web
    Connector would refuse (http on a remote host, an IP address)."""
    settings = Settings.from_config(config, state)
    target = Path(path)
    target.write_text(qwc_xml(settings), encoding="utf-8")
    return target
