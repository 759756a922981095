"""The QuickBooks Web Connector client simulator and its simulated company file.

``WebConnectorSimulator(company=None).run_session(url, username, password)`` drives one Web Connector session
against a Connex endpoint and answers the qbXML from ``SimulatedCompany`` (kept across sessions). ``connex
demo`` and the tests use it; ``python -m connex_quickbooks_desktop.simulator URL USER PASSWORD`` runs one
session.
"""

from connex_quickbooks_desktop.simulator.client import SessionLog, WebConnectorRefused, WebConnectorSimulator
from connex_quickbooks_desktop.simulator.company import QuickBooksParseError, SimulatedCompany
from connex_quickbooks_desktop.validation import optional_validator


def make_simulator() -> WebConnectorSimulator:
    """The ``connex_simulators`` factory: a seeded company that validates every request against the qbXML
    schemas when they are available, as Intuit's SDK validator would."""
    return WebConnectorSimulator(SimulatedCompany.seeded(validator=optional_validator()))


__all__ = [
    "QuickBooksParseError",
    "SessionLog",
    "SimulatedCompany",
    "WebConnectorRefused",
    "WebConnectorSimulator",
    "make_simulator",
]
