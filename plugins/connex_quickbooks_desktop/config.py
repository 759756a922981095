"""The ``target:`` block of a QuickBooks Desktop connection: its schema, defaults and derived values."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from connex.errors import ConfigError, Location
from connex.skumap import load_sku_map
from connex_quickbooks_desktop.tax import TAX_MODELS, DesktopTax

CONFIG_SCHEMA: dict = {
    "type": "object",
    "additionalProperties": False,
    "required": ["username", "password"],
    "properties": {
        "listen": {
            "type": "string",
            "pattern": r"^[^\s:]*:[0-9]{1,5}$",
            "default": "127.0.0.1:8085",
            "description": "host:port the Web Connector endpoint listens on",
        },
        "username": {"type": "string", "minLength": 1, "description": "the UserName in the .qwc"},
        "password": {"type": "string", "minLength": 1, "description": "typed into the Web Connector; secret"},
        "company_file": {"type": "string", "description": 'company file path to open; "" = the open one'},
        "app_name": {"type": "string", "minLength": 1, "maxLength": 100},
        "app_url": {"type": "string", "pattern": "^https?://", "description": "public URL of the endpoint"},
        "owner_id": {
            "type": "string",
            "pattern": r"^\{?[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}?$",
        },
        "file_id": {
            "type": "string",
            "pattern": r"^\{?[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}?$",
        },
        "queue_db": {"type": "string", "minLength": 1,
                     "description": "the queue file of an older Connex: imported into the state store on first "
                                    "open (then renamed .imported); the queue itself lives in the state store"},
        "missing_items": {"enum": ["fail", "create_non_inventory"], "default": "fail"},
        "income_account": {"type": "string", "minLength": 1},
        "cogs_account": {"type": "string", "minLength": 1},
        "expense_account": {"type": "string", "minLength": 1},
        "shipping_item": {"type": "string", "minLength": 1, "default": "Shipping"},
        "rounding_item": {"type": "string", "minLength": 1, "default": "Rounding"},
        "discount_item": {"type": "string", "minLength": 1, "default": "Discount"},
        "discount_account": {"type": "string", "minLength": 1,
                             "description": "the account a created discount item posts to; omitted: income_account"},
        "create_own_items": {"type": "boolean", "default": True,
                             "description": "create the shipping, rounding and discount items (Other Charge) "
                                            "when missing"},
        "refund_payout": {"enum": ["none", "credit_card", "check"], "default": "none",
                          "description": "how a refund's money leaves once its credit memo is in QuickBooks: "
                                         "credit_card (a credit card refund) or check (a cheque), each applied to "
                                         "the credit memo so no credit stays open; none: the credit memo only. A "
                                         "map_refund_payout rule decides per refund"},
        "refund_account": {"type": "string", "minLength": 1,
                           "description": "the account refunds are paid from (a bank account for cheques); a "
                                          "map_deposit_account rule decides per refund"},
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        "tax_model": {"enum": list(TAX_MODELS), "default": "rules_only",
                      "description": "us: lines Tax/Non, the customer code and the sales tax item at the order's rate; "
                                     "global (Canada): each line's code by its rate; both read the company file's "
                                     "codes and tax items each session"},
        "tax_codes": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 3},
                      "description": "tax rate (13 for 13%) -> sales tax code name, e.g. {13: H}, where the file's "
                                     "own code at that rate is not the one wanted"},
        "item_sales_tax": {"type": "string", "minLength": 1, "maxLength": 31,
                           "description": "US files: the sales tax item or group in each sales header"},
        "item_matching": {"enum": ["name", "sku", "sku_then_name"], "default": "name",
                          "description": "name: the item whose full name is the SKU; sku: the item whose "
                                         "Manufacturer's Part Number is the SKU (each session then reads the "
                                         "item list first); sku_then_name: by part number, else by name "
                                         "(a SKU with a sku_map entry: that item, by name)"},
        "sku_map": {"type": "string", "minLength": 1,
                    "description": "CSV file: columns sku,item (Linnworks SKU -> QuickBooks item full name)"},
        # built-in TLS: the Web Connector only talks https to anything but localhost (docs/deploy.md)
        "tls_cert": {"type": "string", "minLength": 1, "description": "PEM certificate (chain) for https"},
        "tls_key": {"type": "string", "minLength": 1, "description": "PEM private key of tls_cert"},
    },
}

SECRET_KEYS = ("password",)
DEFAULT_APP_NAME = "Connex Linnworks Sync"
_GUID_NAMESPACE = uuid.UUID("6b1f0c1e-2f43-4d0a-9a56-3c0f2d8e7b11")


def _guid(value: str | None, *seed: str) -> str:
    """``{XXXXXXXX-…}`` as the .qwc wants it. Absent ones are derived from the app identity, so the same
    configuration always yields the same GUIDs: regenerating the .qwc does not make QuickBooks see a new
    app."""
    if value:
        return "{" + value.strip("{}").upper() + "}"
    return "{" + str(uuid.uuid5(_GUID_NAMESPACE, "|".join(seed))).upper() + "}"


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    username: str
    password: str = field(repr=False)  # never in a repr, a log line or a traceback
    company_file: str
    app_name: str
    app_url: str
    owner_id: str
    file_id: str
    queue_db: str
    missing_items: str
    income_account: str | None
    expense_account: str | None
    shipping_item: str | None
    rounding_item: str | None
    batch_size: int
    tax: DesktopTax = field(default_factory=DesktopTax)
    discount_item: str = "Discount"
    discount_account: str | None = None
    create_own_items: bool = True
    item_matching: str = "name"
    sku_map: dict[str, str] = field(default_factory=dict, repr=False)
    tls_cert: str | None = None
    tls_key: str | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any], state: Any = None) -> Settings:
        listen = str(config.get("listen", "127.0.0.1:8085"))
        host, _, port_text = listen.rpartition(":")
        if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5 and int(port_text) <= 65535):
            raise ConfigError(
                f"listen must be host:port with a port from 0 to 65535, got {listen!r}",
                where=Location("target", field="listen"),
            )
        port = int(port_text)
        for key in ("username", "password"):
            if not config.get(key):
                raise ConfigError(f"{key} is required", where=Location("target", field=key))
        app_name = config.get("app_name") or DEFAULT_APP_NAME
        scheme = "https" if config.get("tls_cert") else "http"
        app_url = config.get("app_url") or f"{scheme}://localhost:{port}/qbwc"
        check_app_url(app_url)
        missing = config.get("missing_items", "fail")
        income = config.get("income_account")
        if missing == "create_non_inventory" and not income:
            raise ConfigError(
                "missing_items: create_non_inventory needs income_account (the account new items "
                "post sales to)",
                where=Location("target", field="income_account"),
            )
        # the queue is in the state store; queue_db names an older Connex's queue file (imported on first open),
        # or the store itself when the endpoint runs without one
        queue_db = config.get("queue_db") or getattr(state, "path", None) or "connex.db"
        company_file = config.get("company_file") or ""
        return cls(
            host=host or "127.0.0.1",
            port=port,
            username=str(config["username"]),
            password=str(config["password"]),
            company_file=company_file,
            app_name=app_name,
            app_url=app_url,
            owner_id=_guid(config.get("owner_id"), "owner", app_name),
            file_id=_guid(config.get("file_id"), "file", app_name, config["username"], company_file),
            queue_db=str(queue_db),
            missing_items=missing,
            income_account=income,
            # purchase side of items Connex creates: an expense account, or COGS for goods bought to resell
            expense_account=config.get("expense_account") or config.get("cogs_account"),
            shipping_item=config.get("shipping_item") or "Shipping",
            rounding_item=config.get("rounding_item") or "Rounding",
            batch_size=int(config.get("batch_size", 50)),
            tax=DesktopTax.from_config(config),
            discount_item=config.get("discount_item") or "Discount",
            discount_account=config.get("discount_account") or income,
            create_own_items=bool(config.get("create_own_items", True)),
            item_matching=config.get("item_matching") or "name",
            # Item Name is at most 31 characters, each segment of a Parent:Child full name (qbxmlops130.xsd)
            sku_map=load_sku_map(config["sku_map"], item_max_length=31, hierarchical=True)
            if config.get("sku_map") else {},
            tls_cert=_tls_pair(config)[0],
            tls_key=_tls_pair(config)[1],
        )


def _tls_pair(config: dict[str, Any]) -> tuple[str | None, str | None]:
    cert, key = config.get("tls_cert"), config.get("tls_key")
    if bool(cert) != bool(key):
        missing = "tls_key" if cert else "tls_cert"
        raise ConfigError("tls_cert and tls_key go together (https needs both)",
                          where=Location("target", field=missing))
    return cert, key


def check_app_url(app_url: str) -> None:
    """The Web Connector refuses http for anything but localhost (QBWC1010) and refuses IP hosts (QBWC1001);
    better to say so when the config is loaded than when the bookkeeper adds the .qwc."""
    parts = urlsplit(app_url)
    host = (parts.hostname or "").lower()
    where = Location("target", field="app_url")
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"app_url must be an http(s) URL, got {app_url!r}", where=where)
    if parts.scheme == "http" and host != "localhost":
        raise ConfigError(
            f"app_url {app_url!r}: the Web Connector only allows http for localhost; use https", where=where
        )
    if host.replace(".", "").isdigit() or ":" in host:
        raise ConfigError(
            f"app_url {app_url!r}: the Web Connector refuses an IP address host; use a name "
            "(localhost or a DNS name)",
            where=where,
        )
