"""``connex [--config PATH] COMMAND``: the command line, also reachable as ``python run.py`` and ``python -m connex``.

Exit codes: 0 success; 1 the run finished but some documents failed (each is named with its reason);
2 configuration or usage error (including an unusable state file); 3 the run could not complete (a remote system
stayed unreachable, a credential was refused, another run holds the state file, the disk is full, or a bug).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from connex import __version__
from connex.commands import CORE_COMMANDS
from connex.errors import ConfigError, ConfigErrors, ConnexError, TransientError

EXIT_OK, EXIT_FAILED_DOCUMENTS, EXIT_CONFIG, EXIT_INCOMPLETE = 0, 1, 2, 3

def all_commands() -> dict[str, tuple[str, str]]:
    """``{name: (help, module)}``: the core's commands, then those plugins add through ``connex_commands``.
    Loading plugins imports only their packages' ``__init__``; a command's module is imported when it runs."""
    from connex.plugin_manager import get_plugins

    return {**CORE_COMMANDS, **get_plugins().commands()}


def chosen_command(argv: list[str], commands: dict | None = None) -> str | None:
    """The command named on the line, found before parsing so only its module is imported (a quick start)."""
    commands = all_commands() if commands is None else commands
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in ("--config", "-c"):
            skip = True
        elif token in commands:
            return token
        elif not token.startswith("-"):
            return None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """All commands are listed; only the chosen one's module is imported for its arguments (``argv`` None:
    every one, for documentation tools)."""
    commands = all_commands()
    chosen = chosen_command(argv, commands) if argv is not None else None
    parser = argparse.ArgumentParser(
        prog="connex",
        description="Keep Linnworks and QuickBooks Online / Desktop in step, driven by YAML rules.",
        epilog="Exit codes: 0 ok, 1 some documents failed, 2 configuration or usage error, 3 run incomplete.",
    )
    parser.add_argument("--config", "-c", metavar="PATH", help="configuration file (default ./connex.yaml)")
    parser.add_argument("--version", action="version", version=f"connex {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (help_text, module) in commands.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if argv is None or name == chosen:
            importlib.import_module(module).add_arguments(command)
        if not any("--connection" in action.option_strings for action in command._actions):
            command.add_argument(
                "--connection", action="append", metavar="NAME",
                help="only this connection of a connections folder (repeatable; default: every one where that "
                     "makes sense, else the only one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    module = importlib.import_module(all_commands()[args.command][1])
    try:
        return int(module.run(args) or 0)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(str(error), file=sys.stderr)
        print(f"{len(exc.errors)} problem{'s' if len(exc.errors) != 1 else ''} found", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except TransientError as exc:
        print(f"error: the run could not complete: {exc}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except ConnexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except BrokenPipeError:  # output piped into `head` and friends: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("error: internal error (a bug in Connex or a plugin); the traceback above says where", file=sys.stderr)
        return EXIT_INCOMPLETE


if __name__ == "__main__":
    sys.exit(main())
