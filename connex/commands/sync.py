"""`connex sync`."""

from connex.commands._pending import not_yet


def add_arguments(parser):
    pass


def run(args):
    return not_yet("sync", "the sync engine", 7)
