"""An API key for a ZenML server, made with its admin account: headless ``zenml login``.

ZenML 0.98's ``zenml login URL`` logs in through a browser (a device flow), and ``--api-key``
needs a key that only a logged-in session can create. On a machine without a browser (a
server, CI, the composed stack of ``docker-compose.yml``), this creates a service account and
an API key over the server's REST API, as the admin whose name and password the server was
activated with (``ZENML_ADMIN_USER``/``ZENML_ADMIN_PASSWORD`` in ``.env``), and prints the key::

    url=http://127.0.0.1:8080
    python -m scripts.zenml_api_key "$url" | zenml login "$url" --api-key

The REST calls are ``POST /api/v1/login`` (form), ``POST /api/v1/service_accounts`` and
``POST /api/v1/service_accounts/{id}/api_keys``, as in ZenML's API reference. The password is
read from the environment, never from the command line (where ``ps`` would show it). Exit
status 2 with one line on stderr when the server refuses, is unreachable, or the account name
is taken.
"""

from __future__ import annotations

import argparse
import os
import sys

from scripts.server_stack.processes import http_json
from scripts.server_stack.state import ServerStackError


def create_api_key(url: str, username: str, password: str, account: str) -> str:
    """Create service account ``account`` on the ZenML server at ``url`` and return a new key.

    Args:
        url: The server's base URL (``http://127.0.0.1:8080``).
        username: An admin account's name.
        password: Its password.
        account: The new service account's name (unique on the server).

    Returns:
        The API key (``ZENKEY_...``), for ``zenml login URL --api-key``.

    Raises:
        ServerStackError: On an HTTP error status (wrong password, a taken name), with the
            server's answer.
        OSError: When the server cannot be reached.
    """
    api = f"{url.rstrip('/')}/api/v1"
    token = http_json("POST", f"{api}/login", form={"username": username, "password": password})[
        "access_token"
    ]
    created = http_json(
        "POST",
        f"{api}/service_accounts",
        {"name": account, "description": "scripts/zenml_api_key.py", "active": True},
        token=token,
    )
    key = http_json(
        "POST",
        f"{api}/service_accounts/{created['id']}/api_keys",
        {"name": "default", "description": "scripts/zenml_api_key.py"},
        token=token,
    )
    return str(key["body"]["key"])


def main(argv: list[str] | None = None) -> int:
    """Print a new API key for the server given on the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.zenml_api_key", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("url", help="the ZenML server, e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--account", default="tabular-mlops-client", help="service account to create"
    )
    parser.add_argument(
        "--user-env", default="ZENML_ADMIN_USER", help="variable holding the admin's name"
    )
    parser.add_argument(
        "--password-env",
        default="ZENML_ADMIN_PASSWORD",
        help="variable holding the admin's password",
    )
    args = parser.parse_args(argv)
    missing = [name for name in (args.user_env, args.password_env) if not os.environ.get(name)]
    if missing:
        print(
            f"error: set {' and '.join(missing)} (the server's admin account; "
            "`set -a && source .env && set +a` for the composed stack)",
            file=sys.stderr,
        )
        return 2
    try:
        key = create_api_key(
            args.url, os.environ[args.user_env], os.environ[args.password_env], args.account
        )
    except (ServerStackError, OSError) as exc:
        print(f"error: {args.url}: {exc}", file=sys.stderr)
        return 2
    print(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
