"""QuickBooks Desktop field rules: ISO-8859-1 text, maxLength facets, two-decimal amounts.

QuickBooks Desktop either rejects text outside ISO-8859-1 ("QuickBooks found an error with the XML") or
silently stores "?" in its place, so a marketplace name such as "Łódź" or "Иван" must be transliterated
*before* it is sent: "Lódz", "Ivan". Characters that ISO-8859-1 already has ("é", "ü", "£") are kept as they
are, because QuickBooks stores them faithfully and the bookkeeper expects to see them.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from anyascii import anyascii

#: qbXML maxLength facets (qbxml130.xsd) Connex writes to.
NAME = 41  # Customer/Vendor Name, CompanyName, Addr1-5, Contact, address Note
ITEM_NAME = 31  # Item Name (ItemInventoryAdd / ItemNonInventoryAdd)
REF_NUMBER = 11  # SalesReceipt, Invoice, CreditMemo, PurchaseOrder RefNumber
BILL_REF_NUMBER = 20
PAYMENT_REF_NUMBER = 20  # ReceivePaymentAdd RefNumber (qbxml130.xsd ReceivePaymentAdd maxLength 20)
FIRST_LAST = 25
CITY = 31
STATE = 21
POSTAL_CODE = 13
COUNTRY = 31
PHONE = 21
EMAIL = 1023
MEMO = 4095
DESC = 4095
TAX_CODE = 3
ACCOUNT_REF = 159
CURRENCY_REF = 64
SHIP_METHOD = 15  # ShipMethod Name (ShipMethodAdd)
TERMS = 31  # StandardTerms / DateDrivenTerms Name

_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CENT = Decimal("0.01")
_PRICE_PLACES = Decimal("0.00001")


def to_latin1(text: str) -> str:
    """Transliterate ``text`` to ISO-8859-1: keep Latin-1 characters, decompose the others (``ő`` -> ``o``)
    and fall back to a romanisation (``Ж`` -> ``Zh``, ``€`` -> ``EUR``, ``“`` -> ``"``). Control characters,
    which XML 1.0 cannot carry, are dropped."""
    if text is None:
        return ""
    out: list[str] = []
    for char in text:
        if ord(char) < 0x100:
            out.append(char)
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        kept = "".join(c for c in decomposed if ord(c) < 0x100 and not unicodedata.combining(c))
        if kept and all(ord(c) < 0x100 for c in decomposed if not unicodedata.combining(c)):
            out.append(kept)
        else:
            out.append(anyascii(char))
    return _XML_FORBIDDEN.sub("", "".join(out))


def clip(text: str | None, limit: int) -> str | None:
    """Latin-1 text cut to ``limit`` characters (QuickBooks answers 3070 "string too long" otherwise);
    surrounding whitespace is dropped first so it never eats into the limit. ``None`` and blanks stay None."""
    if text is None:
        return None
    cleaned = " ".join(to_latin1(str(text)).split())
    if not cleaned:
        return None
    return cleaned[:limit].rstrip()


def ref_number(doc_number: str, limit: int = REF_NUMBER) -> str:
    """The RefNumber Connex writes: the first ``limit`` characters of the order number. The full number goes
    in the Memo, which is what the duplicate check compares when the number had to be cut."""
    return clip(doc_number, limit) or ""


def is_truncated(doc_number: str, limit: int = REF_NUMBER) -> bool:
    return ref_number(doc_number, limit) != " ".join(to_latin1(doc_number).split())


def amount(value: Decimal | int | str) -> str:
    """AMTTYPE: exactly two decimals ("25.50", never "25.5" or "25.505")."""
    return str(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP))


def price(value: Decimal | int | str) -> str:
    """PRICETYPE: up to five decimals, trailing zeros removed but at least two places for readability."""
    quantized = Decimal(value).quantize(_PRICE_PLACES, rounding=ROUND_HALF_UP).normalize()
    if quantized == quantized.to_integral_value() or -quantized.as_tuple().exponent < 2:
        return amount(quantized)
    return format(quantized, "f")


def quantity(value: Decimal | int | str) -> str:
    """QUANTYPE: up to five decimals; whole numbers without a decimal point."""
    quantized = Decimal(value).quantize(_PRICE_PLACES, rounding=ROUND_HALF_UP).normalize()
    if quantized == quantized.to_integral_value():
        return str(int(quantized))
    return format(quantized, "f")
