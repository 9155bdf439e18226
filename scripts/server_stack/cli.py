"""Command line of ``python -m scripts.server_stack up|down|env|connect``."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

import scripts.server_stack as package
from scripts.server_stack.login import connect
from scripts.server_stack.services import down, up
from scripts.server_stack.state import (
    DEFAULT_MARIADB_ADMIN_URL,
    DEFAULT_POSTGRES_ADMIN_URL,
    DEFAULT_STATE_DIR,
    STACK_FILE,
    STATE_DIR_ENV,
    ZENML_ADMIN,
    ServerStackError,
    ServerStackState,
    resolve_state_dir,
)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m scripts.server_stack up|down|env|connect``.

    Returns:
        The exit code: 0 on success, 1 on a :class:`ServerStackError` or an invalid stack file
        (``connect``), with ``error: ...`` on stderr.
    """
    parser = argparse.ArgumentParser(
        prog="python -m scripts.server_stack", description=(package.__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--state-dir",
        help=f"state and logs (default: ${STATE_DIR_ENV} or {DEFAULT_STATE_DIR})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="create the databases and start the three servers")
    up_parser.add_argument(
        "--postgres-admin-url",
        default=os.environ.get("TABULAR_POSTGRES_ADMIN_URL", DEFAULT_POSTGRES_ADMIN_URL),
    )
    up_parser.add_argument(
        "--mariadb-admin-url",
        default=os.environ.get("TABULAR_MARIADB_ADMIN_URL", DEFAULT_MARIADB_ADMIN_URL),
    )
    for name in ("s3", "mlflow", "zenml"):
        up_parser.add_argument(f"--{name}-port", type=int, default=0, help="0: a free port")
    env_parser = sub.add_parser(
        "env", help="print `export` lines for stacks/server.yaml and the ZenML URL"
    )
    env_parser.add_argument(
        "--with-credentials",
        action="store_true",
        help="also ZENML_API_KEY, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, MLFLOW_USER and "
        "MLFLOW_PASSWORD (secrets: keep them out of logs and shared terminals)",
    )
    connect_parser = sub.add_parser(
        "connect", help="log in with the API key, create secrets, apply the stack"
    )
    connect_parser.add_argument(
        "--stack-file", type=Path, default=STACK_FILE, help=f"default: {STACK_FILE}"
    )
    sub.add_parser(
        "down",
        help="log the ZenML client out of the server, stop the servers, drop their databases",
    )
    args = parser.parse_args(argv)
    state_dir = resolve_state_dir(args.state_dir)
    try:
        if args.command == "up":
            state = up(
                state_dir,
                postgres_admin_url=args.postgres_admin_url,
                mariadb_admin_url=args.mariadb_admin_url,
                s3_port=args.s3_port,
                mlflow_port=args.mlflow_port,
                zenml_port=args.zenml_port,
            )
            print(f"ZenML server:   {state.zenml_url}  (dashboard; user {ZENML_ADMIN})")
            print(f"MLflow server:  {state.mlflow_url}")
            print(f"S3 endpoint:    {state.s3_endpoint_url}  (bucket {state.s3_bucket})")
            print(f"state and logs: {state.state_dir}")
        elif args.command == "env":
            state = ServerStackState.load(state_dir.resolve())
            exports = {**state.stack_env(), "TABULAR_ZENML_SERVER_URL": state.zenml_url}
            if args.with_credentials:
                exports.update(state.credentials_env())
            for key, value in exports.items():
                print(f"export {key}={shlex.quote(value)}")
        elif args.command == "connect":
            from stacks import StackSpecError, activation_scope

            try:
                name = connect(ServerStackState.load(state_dir.resolve()), args.stack_file)
            except StackSpecError as exc:
                raise ServerStackError(str(exc)) from exc
            print(f"logged in; stack '{name}' registered and active in {activation_scope()[0]}")
        else:
            down(state_dir)
            print(f"server stack in {state_dir} stopped, databases dropped")
    except ServerStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
