"""`connex qbwc`."""

from connex.commands._pending import not_yet


def add_arguments(parser):
    pass


def run(args):
    return not_yet("qbwc", "the QuickBooks Desktop Web Connector endpoint", 6)
