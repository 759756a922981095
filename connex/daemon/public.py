"""What ``/status`` may say about a failure: anyone who can reach the daemon's port can read it.

A failure reason as stored names the field and usually quotes the offending value (``customer 'Jane Smith':
email 'jane@example.com' is not valid``), and a vendor's message may carry names, e-mail addresses or phone
numbers unquoted (``Another account is already using this name: Jane Smith``). Over HTTP the reason keeps
its words (field names, the kind of problem) and loses its values: every quoted value, e-mail address, run of
digits long enough to be a phone or card number, and every capitalised word that is neither a field name
(``DisplayName``, ``SKU``) nor in a short list of words reasons are written with becomes a placeholder, and
the reason is cut short. The full reason stays in ``connex status`` on the machine.
"""

from __future__ import annotations

import copy
import re

PLACEHOLDER = "<value>"
MAX_REASON = 160
_QUOTED = re.compile(r"""'[^'\n]*'|"[^"\n]*"|“[^”\n]*”|‘[^’\n]*’|`[^`\n]*`""")
_EMAIL = re.compile(r"[^\s@'\"<>()]+@[^\s@'\"<>()]+")
_LONG_NUMBER = re.compile(r"\+?\d[\d ().\-/]{5,}\d")  # 7+ characters of digits and separators
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_WORD = re.compile(r"[A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)+|[^\W\d_]+")  # a.b.c paths whole
_REPEATED = re.compile(re.escape(PLACEHOLDER) + r"(?:[\s,]+" + re.escape(PLACEHOLDER) + r")+")
# Capitalised words that open or make up the reasons Connex and the vendors write; any other capitalised
# word may be a name, a street or a town.
_REASON_WORDS = frozenset(
    {
        "A", "An", "Another", "Amount", "Account", "Address", "Again", "Bill", "Business", "Can", "Cannot", "Code",
        "Connector", "Connex", "Credit", "Currency", "Customer", "Date", "Deposit", "Desktop", "Document", "Duplicate",
        "Email", "Error", "Exists", "Found", "Invalid", "Invoice", "Is", "Item", "Line", "Linnworks", "Memo", "Method",
        "Must", "Name", "No", "Not", "Object", "Online", "Order", "Payment", "Phone", "Please", "Property", "Purchase",
        "QuickBooks", "Receipt", "Refund", "Request", "Required", "Sales", "Stale", "Tax", "The", "There", "This",
        "Too", "Total", "Try", "Validation", "Vendor", "Web"
    }
)


def public_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    text = _CONTROL.sub(" ", str(reason))
    text = _QUOTED.sub(PLACEHOLDER, text)
    text = _EMAIL.sub(PLACEHOLDER, text)
    text = _LONG_NUMBER.sub(PLACEHOLDER, text)
    text = _WORD.sub(_keep_or_hide, text)
    text = _REPEATED.sub(PLACEHOLDER, text)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def _keep_or_hide(match: re.Match) -> str:
    word = match.group(0)
    if "." in word:  # a field path such as BillAddr.City or Line[2].Amount
        return word
    if word.islower() or word in _REASON_WORDS:
        return word
    if word.isupper() and len(word) <= 4:  # SKU, GBP, VAT, ID
        return word
    if not word[:1].isupper() or any(c.isupper() for c in word[1:]) and not word.isupper():
        return word  # DisplayName, BillEmail: field names; value is not capitalised
    return PLACEHOLDER


def public_status(data: dict) -> dict:
    """``status_data`` fit for the network: every free-text reason through ``public_reason``."""
    data = copy.deepcopy(data)
    for failure in data.get("failures", []):
        failure["error"] = public_reason(failure.get("error"))
    for changed in data.get("changed", []):
        changed["note"] = public_reason(changed.get("note"))
    for run in data.get("runs", []):
        if isinstance(run, dict) and "message" in run:
            run["message"] = public_reason(run["message"])
    daemon = data.get("daemon") or {}
    last_pass = daemon.get("last_pass")
    if isinstance(last_pass, dict) and last_pass.get("error"):
        last_pass["error"] = public_reason(last_pass["error"])
    return data
