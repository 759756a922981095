"""The fixed parts of the seeded account: stores, customers, products, suppliers, locations.

Chosen to exercise what breaks syncs in practice: several channels and sub sources in USD/GBP/EUR, a composite
(bundle) product, "ATTN:" contact names, names longer than QuickBooks' 41 characters, and non-Latin text.
"""

from __future__ import annotations

from decimal import Decimal

from connex_linnworks.wire import EMPTY_GUID

# (Source, SubSource, currency, tax rate %)
STORES = [
    ("AMAZON", "Amazon UK", "GBP", Decimal(20)),
    ("AMAZON", "Amazon DE", "EUR", Decimal(19)),
    ("EBAY", "EBAY1", "GBP", Decimal(20)),
    ("SHOPIFY", "My Shopify Store", "USD", Decimal("7.25")),
    ("SHOPIFY", "Boutique Paris", "EUR", Decimal(20)),
    ("DIRECT", "Wholesale", "USD", Decimal(0)),
]

#: where each taxing store's buyers live: a channel charges its own country's tax (Amazon DE German VAT, the
#: Shopify store a US state's sales tax), so its orders ship there; the untaxed wholesale store sells anywhere
STORE_COUNTRIES = {
    "Amazon UK": ("United Kingdom",),
    "Amazon DE": ("Germany",),
    "EBAY1": ("United Kingdom",),
    "My Shopify Store": ("United States",),
    "Boutique Paris": ("France",),
}

# (FullName, Company, email, town, region, postcode, country, phone)
CUSTOMERS = [
    (
        "Jane Smith",
        "",
        "jane@example.com",
        "Leeds",
        "West Yorkshire",
        "LS1 1AA",
        "United Kingdom",
        "07700900123",
    ),
    (
        "ATTN: Accounts Payable",
        "Globex Corporation",
        "ap@globex.example",
        "Springfield",
        "IL",
        "62701",
        "United States",
        "+1 217 555 0100",
    ),
    (
        "Bartholomew Alexander Fitzwilliam-Montgomery the Third",
        "Fitzwilliam-Montgomery Holdings International Ltd",
        "bart@fm-holdings.example",
        "Cheltenham",
        "Gloucestershire",
        "GL50 1AA",
        "United Kingdom",
        "01242 000000",
    ),
    (
        "山田 太郎",
        "株式会社ヤマダ",
        "taro@yamada.example",
        "東京都",
        "渋谷区",
        "150-0002",
        "Japan",
        "+81 3-0000-0000",
    ),
    ("Дмитрий Иванов", "", "dmitry@example.ru", "Москва", "", "101000", "Russia", "+7 495 000-00-00"),
    (
        "Zoë Łukasiewicz-Ørsted",
        "Ørsted & Søn",
        "zoe@orsted.example",
        "København",
        "",
        "1050",
        "Denmark",
        "+45 00 00 00 00",
    ),
    (
        "Müller, Jürgen",
        "Müller GmbH",
        "j.mueller@example.de",
        "München",
        "Bayern",
        "80331",
        "Germany",
        "+49 89 000000",
    ),
    ("Σοφία Παπαδοπούλου", "", "sofia@example.gr", "Αθήνα", "", "105 57", "Greece", "+30 21 0000 0000"),
    (
        "Marie-Claire O'Neill",
        "",
        "mc@example.fr",
        "Paris",
        "Île-de-France",
        "75001",
        "France",
        "+33 1 00 00 00 00",
    ),
    (
        "Jim Brown",
        "Brown's Bikes",
        "jim@brownsbikes.example",
        "Austin",
        "TX",
        "73301",
        "United States",
        "+1 512 555 0199",
    ),
]

# (SKU, title, gross unit price, composite children [(SKU, quantity per bundle)] or None, unit cost)
PRODUCTS = [
    ("MUG-BLU-01", "Blue Mug", Decimal("12.00"), None, Decimal("3.105")),
    ("TEA-EARL-250", "Earl Grey 250g", Decimal("18.00"), None, Decimal("6.50")),
    ("TSHIRT-M-RED", "T-shirt 红色 (M)", Decimal("19.99"), None, Decimal("4.275")),
    (
        "CANDLE-SOY-L",
        "Soy Candle – Large, hand-poured in small batches with essential oils",
        Decimal("24.50"),
        None,
        Decimal("7.80"),
    ),
    ("SOCKS-3PK", "Wool Socks 3-pack", Decimal("14.95"), None, Decimal("3.3333")),
    ("BOOK-CHAI", "Книга о чае", Decimal("9.99"), None, Decimal("2.40")),
    (
        "GIFT-SET-TEA",
        "Tea Lover's Gift Set",
        Decimal("39.90"),
        [("MUG-BLU-01", 1), ("TEA-EARL-250", 2)],
        Decimal("16.105"),
    ),
]
PRODUCT_BY_SKU = {p[0]: p for p in PRODUCTS}

ENCHANTRESS_ID = "4d6fa2a1-7c1e-4f0e-9d59-2f3b8c6e1a77"
# (id, int id, name, tag, address1, city, county, country, zip)
LOCATIONS = [
    (EMPTY_GUID, 1, "Default", "", "1 Warehouse Way", "Leeds", "West Yorkshire", "United Kingdom", "LS2 2BB"),
    (
        ENCHANTRESS_ID,
        2,
        "Enchantress",
        "FBA",
        "Unit 7, Enchantress Park",
        "Salisbury",
        "Wiltshire",
        "United Kingdom",
        "SP1 1AA",
    ),
]

# (id, name, contact, address, city, region, country, postcode, phone, email, currency)
SUPPLIERS = [
    (
        "c399cffd-6c14-48f2-99d6-63d91b27fc54",
        "Potteries Ltd",
        "ATTN: Sales Ledger",
        "2 Kiln Road",
        "Stoke-on-Trent",
        "Staffordshire",
        "United Kingdom",
        "ST1 1AA",
        "01782 000000",
        "sales@potteries.example",
        "GBP",
    ),
    (
        "1f0e3c5a-8b7d-4e2f-a1c9-0d4b6e8f2a31",
        "Assam Tea Traders",
        "Priya Sharma",
        "14 Tea Garden Lane",
        "Guwahati",
        "Assam",
        "India",
        "781001",
        "+91 361 000 0000",
        "orders@assamtea.example",
        "USD",
    ),
    (
        "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "深圳纺织品有限公司",
        "李伟",
        "南山区科技园",
        "深圳",
        "广东",
        "China",
        "518000",
        "+86 755 0000 0000",
        "sales@sztextile.example",
        "USD",
    ),
    (
        "2b4d6f8a-0c1e-4a3c-9e5d-7f9a1b3c5d7e",
        "Ateliers Lumière SARL",
        "Élodie Fontaine",
        "8 rue des Bougies",
        "Lyon",
        "Auvergne-Rhône-Alpes",
        "France",
        "69001",
        "+33 4 00 00 00 00",
        "contact@lumiere.example",
        "EUR",
    ),
    (
        "7e6d5c4b-3a29-4181-8f7e-6d5c4b3a2918",
        "The Extraordinarily Long-Named Wholesale Knitwear Cooperative Ltd",
        "Angus MacLeod",
        "Mill Lane",
        "Hawick",
        "Scottish Borders",
        "United Kingdom",
        "TD9 0AA",
        "01450 000000",
        "hello@knitwear.example",
        "GBP",
    ),
]
# each PO supplier's products (non-composite SKUs)
SUPPLIER_PRODUCTS = {
    SUPPLIERS[0][0]: ["MUG-BLU-01"],
    SUPPLIERS[1][0]: ["TEA-EARL-250", "BOOK-CHAI"],
    SUPPLIERS[2][0]: ["TSHIRT-M-RED"],
    SUPPLIERS[3][0]: ["CANDLE-SOY-L"],
    SUPPLIERS[4][0]: ["SOCKS-3PK"],
}

POSTAL = [
    ("Royal Mail", "Tracked 48", "8e5d5960-9e3a-4c30-9c4e-9b45fb64b12a"),
    ("DHL", "Express Worldwide", "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"),
    ("USPS", "Priority Mail", "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"),
]
PAYMENT_METHODS = ["PayPal", "Shopify Payments", "Amazon", "Bank transfer"]


def supplier_record(s: tuple) -> dict:
    """A ``Supplier`` as ``Inventory/GetSuppliers`` lists it."""
    sid, name, contact, address, city, region, country, postcode, phone, email, currency = s
    return {
        "pkSupplierID": sid,
        "SupplierName": name,
        "ContactName": contact,
        "Address": address,
        "AlternativeAddress": "",
        "City": city,
        "Region": region,
        "Country": country,
        "PostCode": postcode,
        "TelephoneNumber": phone,
        "SecondaryTelNumber": "",
        "FaxNumber": "",
        "Email": email,
        "WebPage": "",
        "Currency": currency,
    }


def location_record(loc: tuple) -> dict:
    """A ``StockLocation`` as ``Inventory/GetStockLocations`` lists it."""
    lid, int_id, name, tag, address1, city, county, country, zip_code = loc
    return {
        "StockLocationId": lid,
        "StockLocationIntId": int_id,
        "LocationName": name,
        "LocationTag": tag,
        "IsFulfillmentCenter": False,
        "Address1": address1,
        "Address2": "",
        "City": city,
        "County": county,
        "Country": country,
        "ZipCode": zip_code,
        "IsNotTrackable": False,
        "CountInOrderUntilAcknowledgement": False,
        "FulfilmentCenterDeductStockWhenProcessed": False,
        "IsWarehouseManaged": False,
    }
