#!/usr/bin/env python3
"""Run Connex from a checkout: ``python run.py COMMAND`` is the same program as ``connex COMMAND``."""

import sys

from connex.cli import main

if __name__ == "__main__":
    sys.exit(main())
