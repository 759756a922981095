"""Where the shipped schemas and default rules live.

From a checkout (and an editable install) they sit beside the ``connex`` package; a regular install puts them
under ``<prefix>/share/connex`` (setup.cfg ``data_files``).
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path


@cache
def resource_root() -> Path:
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "schemas").is_dir():
        return checkout
    installed = Path(sys.prefix) / "share" / "connex"
    if (installed / "schemas").is_dir():
        return installed
    raise RuntimeError(f"Connex resources not found in {checkout} or {installed}; reinstall the package")


def schema_path(name: str) -> Path:
    return resource_root() / "schemas" / name


def default_rules_dir() -> Path:
    return resource_root() / "rules"
