"""Where each field of the document contract goes in a QuickBooks Online body (``TargetConnector.field_support``).

Text is the JSON key (or the key and what it holds) the field is posted as; ``Used`` steers a choice without being
posted as such; ``Ignored`` has no place in QuickBooks Online, and ``connex validate`` names every rule and
mapping that sets one.
"""

from __future__ import annotations

from connex.connectors import Ignored, Used

_HEADER = {
    "doc_number": "DocNumber",
    "txn_date": "TxnDate",
    "currency": "CurrencyRef",
    "lines": "Line",
    "exchange_rate": "ExchangeRate",
    "total_tax": "TxnTaxDetail.TotalTax",
    "memo": "PrivateNote",
    "tax_code": "Line[].TaxCodeRef (the lines without a code of their own)",
    "prices_include_tax": "GlobalTaxCalculation (TaxInclusive)",
    "tax_country": Used("another country's tax goes on the company's out-of-scope code (global tax model)"),
    "department": "DepartmentRef (a location, looked up by name)",
}

FIELD_SUPPORT: dict[str, str | Used | Ignored] = {
    **{f"SalesDocument.{k}": v for k, v in _HEADER.items()},
    **{f"PurchaseDocument.{k}": v for k, v in _HEADER.items()},
    **{f"RefundDocument.{k}": v for k, v in _HEADER.items()},
    "SalesDocument.class_name": "ClassRef (looked up by name)",
    "PurchaseDocument.class_name": "ClassRef (a purchase order), each line's ClassRef (a bill)",
    "RefundDocument.class_name": "ClassRef (looked up by name)",
    "SalesDocument.customer": "CustomerRef",
    "SalesDocument.ship_date": "ShipDate",
    "SalesDocument.billing_address": "BillAddr",
    "SalesDocument.shipping_address": "ShipAddr",
    "SalesDocument.deposit_account": "DepositToAccountRef (sales receipts)",
    "SalesDocument.payment_method": "PaymentMethodRef (looked up by name)",
    "SalesDocument.ship_via": "ShipMethodRef (text: QuickBooks Online keeps no list of them)",
    "SalesDocument.terms": "SalesTermRef (looked up by name)",
    "SalesDocument.paid_date": Used("an invoice of a paid order gets a Payment linked to it, dated then"),
    "SalesDocument.summary_as": Used("with sync.posting: summary, journal_entry puts the order into a JournalEntry "
                                     "summary"),
    "RefundDocument.summary_as": Used("with sync.posting: summary, journal_entry puts the refund into a JournalEntry "
                                      "summary, reversed"),
    "SalesDocument.source_reference": "PrivateNote (channel ref)",
    "PurchaseDocument.vendor": "VendorRef",
    "PurchaseDocument.status": "PrivateNote (status); a pending purchase order gets no bill",
    "PurchaseDocument.store_name": "PrivateNote (location)",
    "PurchaseDocument.due_date": "DueDate",
    "PurchaseDocument.linked_po_number": "Line[].LinkedTxn (the purchase order's lines)",
    "RefundDocument.customer": "CustomerRef",
    "RefundDocument.original_doc_number": "CustomerMemo and PrivateNote (refund of)",
    "RefundDocument.payout": Used("a credit memo's credit the invoice no longer owes is paid out: a cheque "
                                  "(check) or an expense (credit_card) to the customer, applied to the credit memo"),
    "RefundDocument.deposit_account": "DepositToAccountRef",
    "RefundDocument.payment_method": "PaymentMethodRef (looked up by name)",
    "Line.sku": "ItemRef (by item_matching and the SKU map)",
    "Line.description": "Description",
    "Line.quantity": "Qty",
    "Line.unit_price": "UnitPrice",
    "Line.amount": "Amount",
    "Line.tax_amount": "TxnTaxDetail.TaxLine",
    "Line.tax_code": "TaxCodeRef",
    "Line.tax_rate": Used("chooses the line's tax code (tax_codes)"),
    "Line.tax_included": Used("the amount is split into net and tax at the line's rate"),
    "Line.class_name": "ClassRef (looked up by name)",
    "Line.item_name": "ItemRef (shipping and rounding lines; a discount line books to discount_account)",
    "Line.manufacturer": Ignored("an item's attribute, not a transaction line's; QuickBooks Online lines have "
                                 "no manufacturer"),
    "Line.inventory_site": Ignored("QuickBooks Online has no inventory sites"),
    "Party.display_name": "DisplayName",
    "Party.currency": "CurrencyRef",
    "Party.company": "CompanyName",
    "Party.first_name": "GivenName",
    "Party.last_name": "FamilyName",
    "Party.email": "PrimaryEmailAddr",
    "Party.phone": "PrimaryPhone",
    "Party.billing_address": "BillAddr",
    "Party.shipping_address": "ShipAddr",
    "Address.line1": "Line1",
    "Address.line2": "Line2",
    "Address.line3": "Line3",
    "Address.city": "City",
    "Address.region": "CountrySubDivisionCode",
    "Address.postal_code": "PostalCode",
    "Address.country": "Country",
    "Address.country_code": "CountryCode",
}
