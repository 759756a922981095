"""What ``/status`` may say about a failure: anyone who can reach the daemon's port can read it.

A failure reason as stored names the field and usually quotes the offending value (``customer 'Jane Smith':
email 'jane@example.com' is not valid``), and a vendor's message may carry names, e-mail addresses or phone
numbers unquoted. Over HTTP the reason keeps its words (field names, the kind of problem) and loses its
values: every quoted value, e-mail address and run of digits long enough to be a phone or card number becomes
a placeholder, and the reason is cut short. The full reason stays in ``connex status`` on the machine.
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


def public_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    text = _CONTROL.sub(" ", str(reason))
    text = _QUOTED.sub(PLACEHOLDER, text)
    text = _EMAIL.sub(PLACEHOLDER, text)
    text = _LONG_NUMBER.sub(PLACEHOLDER, text)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


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
