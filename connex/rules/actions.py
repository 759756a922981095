"""Rule actions: what a rule does once its conditions hold.

Most actions write one field of the mapped document (``writes``); line-level actions are evaluated once per
document line, with the line's source item in scope. ``map_fields`` writes any set of fields (the seed's "map
fields conditionally"), ``do_not_import`` skips the document. Plugins add actions through the
``connex_rule_actions`` hook by returning ``Action`` instances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ORDER_FLOWS = ("orders", "refunds")


@dataclass(frozen=True)
class Action:
    type: str
    description: str
    writes: str | None = None  # document field the rule's value goes to
    level: str = "document"  # "document" or "line"
    flows: tuple[str, ...] = ORDER_FLOWS  # flows the action applies to unless the rule says otherwise
    value_schema: dict = field(default_factory=dict)  # JSON Schema of the rule's `value`
    needs_value: bool = True  # False: the action takes no value (do_not_import)
    uses_set: bool = False  # True: the rule gives `set: {field: value}` instead of `value`
    # for plugin actions: fn(document: dict, value, context) applied instead of writing `writes`
    apply: Callable[[dict, Any, dict], None] | None = None
    line_filter: str | None = None  # line-level: only lines of this kind (e.g. shipping)


_TEXT = {"type": ["string", "number"]}

BUILTIN_ACTIONS: dict[str, Action] = {a.type: a for a in (
    Action("map_store_name", "the store name used for customer matching", writes="store_name", value_schema=_TEXT),
    Action("map_customer_name", "the QuickBooks customer's display name", writes="customer.display_name",
           value_schema=_TEXT),
    Action("map_transaction_type", "sales receipt or invoice for this order", writes="kind", flows=("orders",),
           value_schema={"enum": ["sales_receipt", "invoice"]}),
    Action("map_refund_type", "refund receipt (the money goes back) or credit memo (the customer keeps a credit)",
           writes="kind", flows=("refunds",), value_schema={"enum": ["refund_receipt", "credit_memo"]}),
    Action("map_refund_payout", "QuickBooks Desktop: how a refund's money leaves (credit_card: a credit card "
           "refund, check: a cheque, none: the credit memo only)", writes="payout", flows=("refunds",),
           value_schema={"enum": ["none", "credit_card", "check"]}),
    Action("map_summary_document", "with sync.posting: summary, the document the order's summary is posted as: "
           "journal_entry, or document (the order's own kind)", writes="summary_as",
           value_schema={"enum": ["journal_entry", "document"]}),
    Action("map_deposit_account", "the account the payment is deposited to", writes="deposit_account",
           value_schema=_TEXT),
    Action("map_payment_method", "the QuickBooks payment method", writes="payment_method", value_schema=_TEXT),
    Action("map_class", "the QuickBooks class of the whole document", writes="class_name", value_schema=_TEXT),
    Action("map_department", "the QuickBooks Online location (Department) of the document", writes="department",
           value_schema=_TEXT),
    Action("map_ship_method", "the shipping method (Ship via) of the document", writes="ship_via",
           flows=("orders",), value_schema=_TEXT),
    Action("map_terms", "the payment terms of an invoice (e.g. Net 30)", writes="terms", flows=("orders",),
           value_schema=_TEXT),
    Action("map_tax_code", "the tax code (its name in the target) of every line without one of its own",
           writes="tax_code", value_schema=_TEXT),
    Action("map_shipping_item", "the QuickBooks item used for the shipping line", writes="item_name", level="line",
           line_filter="shipping", value_schema=_TEXT),
    Action("map_sku", "the SKU (QuickBooks item) of a line", writes="sku", level="line", value_schema=_TEXT),
    Action("map_line_class", "the QuickBooks class of a line", writes="class_name", level="line", value_schema=_TEXT),
    Action("map_line_tax_code", "the tax code (its name in the target) of a line", writes="tax_code", level="line",
           value_schema=_TEXT),
    Action("map_shipping_tax_code", "the tax code of the shipping line (default: the order's rate)",
           writes="tax_code", level="line", line_filter="shipping", value_schema=_TEXT),
    Action("map_inventory_site", "the inventory site of a line", writes="inventory_site", level="line",
           value_schema=_TEXT),
    # purchases and inventory have fields of their own: a rule for them names its flow explicitly
    Action("map_fields", "set any fields of the document (or of each line with level: line)", uses_set=True,
           needs_value=False),
    Action("do_not_import", "do not sync this document", needs_value=False),
)}
