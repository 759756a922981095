"""`connex test`."""

from connex.commands._pending import not_yet


def add_arguments(parser):
    pass


def run(args):
    return not_yet("test", "rule fixtures", 3)
