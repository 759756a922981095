"""`connex explain`."""

from connex.commands._pending import not_yet


def add_arguments(parser):
    pass


def run(args):
    return not_yet("explain", "the rules engine", 3)
