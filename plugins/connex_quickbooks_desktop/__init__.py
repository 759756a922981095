"""Connex quickbooks_desktop connector plugin: QuickBooks Desktop through the QuickBooks Web Connector.

Entry points for the CLI: ``connex_quickbooks_desktop.service.serve(config, queue_db=None, stop_event=None)``
(the SOAP endpoint) and ``connex_quickbooks_desktop.qwc.write_qwc(config, path)`` (the .qwc file).
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
