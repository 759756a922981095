"""Where each field of the document contract goes in qbXML (``TargetConnector.field_support``).

Text is the element the field is posted as (in the order of qbxml130.xsd, see ``qbxml``); ``Used`` steers a
choice without being posted as such; ``Ignored`` has no place in QuickBooks Desktop, and ``connex validate``
names every rule and mapping that sets one.
"""

from __future__ import annotations

from connex.connectors import Ignored, Used

_HEADER = {
    "doc_number": "RefNumber (its first 11 characters; the Memo holds it whole)",
    "txn_date": "TxnDate",
    "currency": Used("a transaction takes its customer's or vendor's currency (their CurrencyRef)"),
    "lines": "the *LineAdd elements",
    "exchange_rate": "ExchangeRate",
    "total_tax": Used("QuickBooks Desktop sums the lines' TaxAmount"),
    "memo": "Memo",
    "tax_code": "SalesTaxCodeRef of the lines without a code of their own",
    "prices_include_tax": Used("the lines carry net amounts and their tax"),
    "department": Ignored("QuickBooks Desktop has no locations (departments); use a class"),
    "tax_country": Ignored("a US or Canadian company file has no out-of-scope code: another country's tax "
                           "needs a code at its rate, else the document fails naming the file's codes"),
}

FIELD_SUPPORT: dict[str, str | Used | Ignored] = {
    **{f"SalesDocument.{k}": v for k, v in _HEADER.items()},
    **{f"PurchaseDocument.{k}": v for k, v in _HEADER.items()},
    **{f"RefundDocument.{k}": v for k, v in _HEADER.items()},
    "SalesDocument.class_name": "ClassRef",
    "PurchaseDocument.class_name": "ClassRef (a purchase order), each line's ClassRef (a bill)",
    "RefundDocument.class_name": "ClassRef",
    "SalesDocument.customer": "CustomerRef",
    "SalesDocument.ship_date": "ShipDate",
    "SalesDocument.billing_address": "BillAddress",
    "SalesDocument.shipping_address": "ShipAddress",
    "SalesDocument.deposit_account": "DepositToAccountRef (sales receipts)",
    "SalesDocument.payment_method": "PaymentMethodRef (sales receipts; an invoice is paid later)",
    "SalesDocument.ship_via": "ShipMethodRef (an entry of the Ship Via list)",
    "SalesDocument.terms": "TermsRef (invoices)",
    "SalesDocument.paid_date": Used("an invoice of a paid order gets a ReceivePaymentAdd applied to it, dated then"),
    "SalesDocument.summary_as": Used("with sync.posting: summary, journal_entry puts the order into a JournalEntryAdd "
                                     "summary"),
    "RefundDocument.summary_as": Used("with sync.posting: summary, journal_entry puts the refund into a "
                                      "JournalEntryAdd summary, reversed"),
    "SalesDocument.source_reference": "Other, and PONumber on invoices",
    "PurchaseDocument.vendor": "VendorRef",
    "PurchaseDocument.status": Used("a pending purchase order gets no bill"),
    "PurchaseDocument.store_name": Ignored("a purchase order has no location in QuickBooks Desktop; "
                                           "map_inventory_site sets a line's site"),
    "PurchaseDocument.due_date": "ExpectedDate (purchase orders), DueDate (bills)",
    "PurchaseDocument.linked_po_number": "LinkToTxn of the bill's lines",
    "RefundDocument.customer": "CustomerRef",
    "RefundDocument.original_doc_number": "PONumber",
    "RefundDocument.payout": Used("after the credit memo, an ARRefundCreditCardAdd or CheckAdd applied to it"),
    "RefundDocument.deposit_account": Ignored("a refund is a credit memo in QuickBooks Desktop, which takes no "
                                              "deposit account"),
    "RefundDocument.payment_method": Ignored("a refund is a credit memo in QuickBooks Desktop, which has no "
                                             "payment method"),
    "Line.sku": "ItemRef (the item named by the SKU, or its SKU map entry)",
    "Line.description": "Desc",
    "Line.quantity": "Quantity",
    "Line.unit_price": "Rate (sales), Cost (bills)",
    "Line.amount": "Amount",
    "Line.tax_amount": "TaxAmount",
    "Line.tax_code": "SalesTaxCodeRef",
    "Line.tax_rate": Used("chooses the line's tax code (tax_model global)"),
    "Line.tax_included": Used("posted as it is: QuickBooks Desktop credit memos take the amount refunded"),
    "Line.class_name": "ClassRef",
    "Line.item_name": "ItemRef",
    "Line.manufacturer": Ignored("an item's attribute, not a transaction line's; qbXML lines have no "
                                 "manufacturer"),
    "Line.inventory_site": "InventorySiteRef (sales lines and bill lines)",
    "Party.display_name": "Name (CustomerRef/VendorRef FullName)",
    "Party.currency": "CurrencyRef",
    "Party.company": "CompanyName",
    "Party.first_name": "FirstName",
    "Party.last_name": "LastName",
    "Party.email": "Email",
    "Party.phone": "Phone",
    "Party.billing_address": "BillAddress (customers), VendorAddress (vendors)",
    "Party.shipping_address": "ShipAddress",
    "Address.line1": "Addr1",
    "Address.line2": "Addr2",
    "Address.line3": "Addr3",
    "Address.city": "City",
    "Address.region": "State",
    "Address.postal_code": "PostalCode",
    "Address.country": "Country",
    "Address.country_code": "Country (when the country has no name)",
}
