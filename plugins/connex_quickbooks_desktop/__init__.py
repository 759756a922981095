"""Connex quickbooks_desktop connector plugin: QuickBooks Desktop through the QuickBooks Web Connector.

`connex qbwc` (qbwc_command.py) serves ``connex_quickbooks_desktop.service`` (the SOAP endpoint) or writes
the .qwc file (``connex_quickbooks_desktop.qwc.write_qwc``).
"""

from connex import hookimpl


@hookimpl
def connex_targets():
    from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget

    return {"quickbooks_desktop": QuickBooksDesktopTarget}


@hookimpl
def connex_simulators():
    from connex_quickbooks_desktop.simulator import make_simulator

    return {"quickbooks_desktop": make_simulator}


@hookimpl
def connex_commands():
    return {"qbwc": ("serve the QuickBooks Web Connector endpoint, or write its .qwc file",
                     "connex_quickbooks_desktop.qbwc_command")}
