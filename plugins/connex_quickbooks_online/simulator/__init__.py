"""A faithful QuickBooks Online simulator (token endpoint + REST v3) for tests, demos and benchmarks."""

from connex_quickbooks_online.simulator.server import QuickBooksOnlineSimulator

__all__ = ["QuickBooksOnlineSimulator"]
