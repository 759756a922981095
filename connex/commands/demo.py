"""`connex demo`."""

from connex.commands._pending import not_yet


def add_arguments(parser):
    pass


def run(args):
    return not_yet("demo", "the end-to-end demo", 7)
