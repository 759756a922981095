"""Sales tax codes on QuickBooks Desktop documents (../shared/reference/quickbooks-tax.md §5).

A Desktop company file cannot be asked for its codes before a document is built (requests travel through the Web
Connector queue), so the choice comes from the connector config: ``tax_model: us`` marks each line ``Tax`` when
the source charged tax on it and ``Non`` otherwise, with the tax item that drives the calculation in the header
(``item_sales_tax``); ``tax_model: global`` (Canadian, UK, Australian files) takes each line's code from the
``tax_codes`` table by the rate the source charged (a Canadian file refuses an item sales tax). A rule's code
always wins; ``rules_only`` (the default) sends rule codes alone, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from connex.documents import Document, Line
from connex.errors import ConfigError, DocumentError, DocumentRef, Location

TAX_MODELS = ("rules_only", "us", "global")


@dataclass(frozen=True)
class DesktopTax:
    model: str = "rules_only"
    codes: dict[Decimal, str] = field(default_factory=dict)  # rate -> code name (<= 3 characters)
    item_sales_tax: str | None = None
    taxable: str = "Tax"
    non_taxable: str = "Non"

    @classmethod
    def from_config(cls, config: dict) -> DesktopTax:
        model = config.get("tax_model", "rules_only")
        codes = {}
        for key, name in (config.get("tax_codes") or {}).items():
            try:
                rate = Decimal(str(key).strip().rstrip("%")).normalize()
            except InvalidOperation:
                raise ConfigError(f"{key!r} is not a tax rate (write 20 for 20%)",
                                  where=Location("target", field="tax_codes")) from None
            codes[rate] = str(name)
        if model == "global" and not codes:
            raise ConfigError("tax_model: global needs a tax_codes table (rate -> code name, e.g. {13: H, 0: Z})",
                              where=Location("target", field="tax_codes"))
        return cls(model=model, codes=codes, item_sales_tax=config.get("item_sales_tax"))

    def header_item(self, document: Document) -> str | None:
        """The header ItemSalesTaxRef: US files only ("If you use QB Canada, you cannot add an item sales tax")."""
        return self.item_sales_tax if self.model == "us" else None

    def line_code(self, document: Document, index: int, line: Line, default: str | None) -> str | None:
        if line.tax_code or default:
            return line.tax_code or default
        if self.model == "us":
            return self.taxable if line.tax_amount and line.kind != "rounding" else self.non_taxable
        if self.model == "global":
            rate = Decimal(0) if line.kind == "rounding" or not line.tax_amount else Decimal(line.tax_rate or 0)
            if line.kind == "discount":
                rate = Decimal(line.tax_rate or 0)
            code = self.codes.get(rate.normalize())
            if code is None:
                have = ", ".join(f"{r:f}% {c}" for r, c in sorted(self.codes.items())) or "none"
                raise DocumentError(
                    f"no tax code for {rate:f}% in the target's tax_codes table ({have})",
                    where=DocumentRef(kind=document.kind, source_id=document.source_id,
                                      field=f"lines[{index}].SalesTaxCodeRef", number=document.doc_number),
                    code="tax_code_missing",
                )
            return code
        return None
