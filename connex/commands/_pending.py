"""Commands whose capability has not landed yet say so plainly instead of pretending."""

import sys

from connex.cli import EXIT_CONFIG


def not_yet(command: str, what: str, issue: int) -> int:
    print(f"connex {command}: not available yet: {what} lands with issue #{issue}.", file=sys.stderr)
    return EXIT_CONFIG
