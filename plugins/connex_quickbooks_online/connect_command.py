"""`connex connect quickbooks`: connect Connex to a QuickBooks Online company, once (or again after Intuit
refused the refresh token). Prints Intuit's authorization link; the user signs in and picks the company; the
redirect comes back either to a listener Connex runs itself (a localhost redirect URI) or pasted in by the user.
The refresh token and realm id go to the state store, where the connector finds them."""

from __future__ import annotations

import sys

from connex.config import load_config
from connex.errors import ConfigError
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.transport import HttpClient, RetryPolicy
from connex_quickbooks_online import authorize
from connex_quickbooks_online.connector import CONFIG_SCHEMA
from connex_quickbooks_online.oauth import save_connection


def add_arguments(parser):
    parser.add_argument("system", choices=["quickbooks"], help="what to connect: quickbooks (Online)")
    parser.add_argument("--paste", action="store_true",
                        help="read the redirected address from the terminal even for a localhost redirect URI")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="how long to wait for the browser's redirect (default 300)")


def option(target: dict, name: str):
    return target.get(name, CONFIG_SCHEMA["properties"][name].get("default"))


def run(args):
    config = load_config(args.config, get_plugins(), connection=_one(args))
    if config.target_plugin != "quickbooks_online":
        raise ConfigError(f"connex connect quickbooks connects QuickBooks Online; the configured target is "
                          f"{config.target_plugin}")
    target = config.target
    redirect_uri = option(target, "redirect_uri")
    state_token = authorize.new_state()
    link = authorize.authorization_url(option(target, "authorize_url"), target["client_id"], redirect_uri,
                                       state_token)
    listen = authorize.is_local(redirect_uri) and not args.paste
    catcher = authorize.RedirectCatcher(redirect_uri) if listen else None
    print("Open this address in a browser, sign in to QuickBooks and choose the company to connect:", flush=True)
    print(link, flush=True)
    if catcher is not None:
        print(f"Waiting for the redirect to {redirect_uri} (up to {args.timeout:g} s)...", flush=True)
        redirected = catcher.wait(args.timeout)
    else:
        print("Then paste here the whole address the browser was sent to (it starts with "
              f"{redirect_uri}):", flush=True)
        redirected = sys.stdin.readline()
        if not redirected.strip():
            raise ConfigError("no address pasted; nothing was connected")
    callback = authorize.parse_callback(redirected, state_token)
    http = HttpClient(timeout=float(option(target, "timeout")), retry=RetryPolicy(max_attempts=3),
                      user_agent="connex-quickbooks-online")
    try:
        tokens = authorize.exchange_code(http, option(target, "token_url"), target["client_id"],
                                         target["client_secret"], callback.code, redirect_uri)
    finally:
        http.close()
    state = open_state(config.state_path, connection=config.name)
    try:
        save_connection(state, callback.realm_id, tokens)
    finally:
        state.close()
    print(f"Connected QuickBooks Online company {callback.realm_id}.")
    print(f"The refresh token is kept (and renewed) in the state store {config.state_path}; it is never printed.")
    print("In connex.yaml, under target:, set")
    print(f"  realm_id: \"{callback.realm_id}\"")
    if target.get("refresh_token"):
        print("and remove refresh_token: the stored token is newer and is the one used.")
    else:
        print("and no refresh_token (the stored one is used).")
    return 0


def _one(args) -> str | None:
    """The connection ``--connection`` names (the only one when none is named)."""
    names = getattr(args, "connection", None) or []
    if len(names) > 1:
        raise ConfigError("this command works on one connection; give --connection once")
    return names[0] if names else None
