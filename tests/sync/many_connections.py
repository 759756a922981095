"""A deployment of many connections against one Linnworks server holding many accounts and one QuickBooks
Online server holding many companies: what the many-connection tests and bench/many_connections.py build."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from pathlib import Path

from connex_linnworks.simulator.accounts import LinnworksAccounts
from connex_quickbooks_online.simulator.realms import QuickBooksOnlineRealms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Fleet:
    folder: Path
    linnworks: LinnworksAccounts
    quickbooks: QuickBooksOnlineRealms
    names: list[str]
    env: dict[str, str] = field(default_factory=dict)  # the secrets the connection files reference
    health: str = ""

    def account(self, name: str):
        return self.linnworks.tenants[name]

    def company(self, name: str):
        return self.quickbooks.tenants[realm_of(self.names.index(name))]

    def stop(self) -> None:
        self.linnworks.stop()
        self.quickbooks.stop()


def realm_of(index: int) -> str:
    return f"91303500{index:08d}"


def build_fleet(folder: Path, connections: int, orders: int, *, schedule: str = "every 1 hour",
                max_parallel: int = 4, clock=None) -> Fleet:
    """``connections`` connections named c01, c02, ..., each its own Linnworks account (``orders`` processed
    orders) and QuickBooks company; secrets as ${ENV} references, their values in ``Fleet.env``."""
    linnworks = LinnworksAccounts(clock=clock).start()
    quickbooks = QuickBooksOnlineRealms(clock=clock).start()
    names = [f"c{i + 1:02d}" for i in range(connections)]
    fleet = Fleet(folder, linnworks, quickbooks, names, health=f"127.0.0.1:{free_port()}")
    (folder / "connections").mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        account = linnworks.add_account(name, seed=100 + index, processed_orders=orders, open_orders=0,
                                        purchase_orders=0, refunds=False)
        company = quickbooks.add_company(realm_of(index))
        source, target = account.connector_config(), company.connector_config()
        upper = name.upper()
        fleet.env.update({f"{upper}_LW_TOKEN": source["token"], f"{upper}_LW_SECRET": source["application_secret"],
                          f"{upper}_QBO_SECRET": target["client_secret"],
                          f"{upper}_QBO_REFRESH": target["refresh_token"]})
        source.update(token=f"${{{upper}_LW_TOKEN}}", application_secret=f"${{{upper}_LW_SECRET}}")
        target.update(client_secret=f"${{{upper}_QBO_SECRET}}", refresh_token=f"${{{upper}_QBO_REFRESH}}")
        (folder / "connections" / f"{name}.yaml").write_text(json.dumps({
            "source": {"plugin": "linnworks", **source},
            "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory", **target},
        }, indent=1))
    (folder / "connex.yaml").write_text(json.dumps({
        "connections": "connections",
        "sync": {"from_date": "2020-01-01", "schedule": schedule},
        "daemon": {"health": fleet.health, "max_parallel": max_parallel},
        "log": {"format": "json"},
        "state": "state/connex.db",
    }, indent=1))
    return fleet
