"""``python -m tests.sync.scaled_connex ARGS``: ``connex ARGS`` with QuickBooks' batch limit lowered and the
minute shortened, as the test's simulators have them (``CONNEX_TEST_SCALED``: JSON with ``scale``, simulated
seconds per real second, ``batches`` a minute and the budget's ``margin`` in real seconds).

Everything else is the real command: the state on PostgreSQL installs ``PostgresBudget`` on the path every
command takes; only its clock is the test's.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    options = json.loads(os.environ["CONNEX_TEST_SCALED"])
    from connex_quickbooks_online import client as qbo_client

    from connex.cli import main as connex_main
    from connex.state import budget

    qbo_client.BATCHES_PER_MINUTE = options["batches"]
    real_init = budget.PostgresBudget.__init__

    def scaled_init(self, engine, **kwargs):
        real_init(self, engine, **{**kwargs, "scale": options["scale"], "margin": options["margin"]})

    budget.PostgresBudget.__init__ = scaled_init
    return connex_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
