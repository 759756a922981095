"""Connex: keeps Linnworks and QuickBooks (Online and Desktop) in step, driven by declarative YAML rules."""

from connex.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
