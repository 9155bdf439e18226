"""The ZenML client's side: admin token, login with the API key, secrets, logout.

``connect`` logs this process's ZenML client in to the stack's server, stores the
``s3_credentials`` and ``mlflow_credentials`` secrets and applies ``stacks/server.yaml``;
``log_out_of`` undoes the login when ``down`` stops the server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from scripts.server_stack.processes import executable, http_json
from scripts.server_stack.state import (
    MLFLOW_SECRET,
    S3_SECRET,
    STACK_FILE,
    ZENML_ADMIN,
    ServerStackError,
    ServerStackState,
)


def zenml_admin_token(state: ServerStackState) -> str:
    """A bearer token of the server's admin, for REST calls (``/api/v1/...``)."""
    return str(
        http_json(
            "POST",
            f"{state.zenml_url}/api/v1/login",
            form={"username": ZENML_ADMIN, "password": state.zenml_admin_password},
        )["access_token"]
    )


def client_store_url() -> str | None:
    """The store URL this process's ZenML client uses, read without connecting to it.

    ``ZENML_STORE_URL`` if set, else ``store.url`` of the global config file
    (``$ZENML_CONFIG_PATH/config.yaml``); ``None`` if there is neither. Reading the file
    directly, unlike ``GlobalConfiguration()``, creates nothing and contacts no server.
    """
    if os.environ.get("ZENML_STORE_URL"):
        return os.environ["ZENML_STORE_URL"].rstrip("/")
    import yaml
    from zenml.utils.io_utils import get_global_config_directory

    config_file = Path(get_global_config_directory()) / "config.yaml"
    try:
        config = yaml.safe_load(config_file.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    store = config.get("store") if isinstance(config, dict) else None
    url = store.get("url") if isinstance(store, dict) else None
    return str(url).rstrip("/") if url else None


def log_out_of(state: ServerStackState) -> str | None:
    """Run ``zenml logout`` if this process's ZenML client is logged in to ``state``'s server.

    Otherwise the client keeps a store that is gone once ``down`` has stopped the server, and
    its next command retries the connection for half a minute before it fails.

    Args:
        state: The running services.

    Returns:
        A line for the user: what was done, or the command to run by hand; ``None`` if the
        client uses another store.
    """
    if client_store_url() != state.zenml_url.rstrip("/"):
        return None
    if os.environ.get("ZENML_STORE_URL"):
        return (
            f"ZENML_STORE_URL still points at {state.zenml_url}, which is stopped now: "
            "unset ZENML_STORE_URL ZENML_STORE_API_KEY"
        )
    result = subprocess.run(
        [executable("zenml"), "logout"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or client_store_url() == state.zenml_url.rstrip("/"):
        output = (result.stdout + result.stderr).strip()[-2000:]
        return (
            f"the ZenML client is still logged in to {state.zenml_url}, which is stopped now; "
            f"run `zenml logout` (it said: {output})"
        )
    return f"logged the ZenML client out of {state.zenml_url} (back to its local store)"


def connect(state: ServerStackState, stack_file: Path = STACK_FILE) -> str:
    """Log this ZenML client in to the server, store the secrets, apply the server stack.

    The same as ``zenml login <url> --api-key`` (the key read from stdin), ``zenml secret
    create s3_credentials ...``, ``zenml secret create mlflow_credentials ...`` and ``python -m
    stacks apply stacks/server.yaml``, in one process. The stack file is read (YAML, keys,
    ``${VAR}`` expansion) before the login, and checked against the server's flavors right
    after it, before any secret is written: an invalid file changes nothing on the server.

    Args:
        state: The running services (from ``up``).
        stack_file: The stack to apply.

    Returns:
        The name of the stack, now active.

    Raises:
        ServerStackError: If the API key is missing or the login fails.
        stacks.StackSpecError: If the stack file is invalid.
    """
    if not state.zenml_api_key:
        raise ServerStackError(f"{state.path}: no API key; run `up` again")
    from stacks import apply_stack, load_stack_spec, validate_against_zenml

    os.environ.update(state.stack_env())
    # Flavors and their settings can only be checked against a store: the server's, after
    # the login. Parsing needs none, so a broken file fails before the client is touched.
    spec = load_stack_spec(stack_file)

    from zenml.cli.login import connect_to_server
    from zenml.client import Client

    connect_to_server(state.zenml_url, api_key=state.zenml_api_key)
    validate_against_zenml(spec, str(stack_file))
    client = Client()
    values = {
        S3_SECRET: {
            "aws_access_key_id": state.s3_access_key_id,
            "aws_secret_access_key": state.s3_secret_access_key,
        },
        MLFLOW_SECRET: {"username": state.mlflow_username, "password": state.mlflow_password},
    }
    for name, secret_values in values.items():
        try:
            existing = client.get_secret(name, allow_partial_name_match=False)
        except KeyError:
            client.create_secret(name, values=secret_values)
        else:
            client.update_secret(existing.id, add_or_update_values=secret_values)
    return apply_stack(stack_file)
