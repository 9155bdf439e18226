"""The server stack's settings and its state file: what ``up`` generated, and where it is kept.

The state lives in ``<state dir>/state.json`` (mode 0600, outside the repository); the state
dir is ``--state-dir``, else ``$TABULAR_SERVER_STACK_DIR``, else
``~/.local/state/tabular-mlops/server-stack``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from scripts.isolated_checkout import REPO_ROOT

STATE_DIR_ENV = "TABULAR_SERVER_STACK_DIR"
DEFAULT_STATE_DIR = Path.home() / ".local" / "state" / "tabular-mlops" / "server-stack"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_MARIADB_ADMIN_URL = "mysql://root@127.0.0.1:3306"
BUCKET = "tabular-mlops"
ZENML_ADMIN = "admin"
SERVICE_ACCOUNT = "tabular-mlops-client"
S3_SECRET = "s3_credentials"
MLFLOW_SECRET = "mlflow_credentials"
STACK_FILE = REPO_ROOT / "stacks" / "server.yaml"
# moto accepts any key pair; MinIO and AWS check them.
S3_REGION = "us-east-1"
START_TIMEOUT_S = 180.0
LOOPBACK = "127.0.0.1"


class ServerStackError(RuntimeError):
    """A service could not be started, reached, or stopped; the message says which and why."""


@dataclass
class ServerStackState:
    """Everything ``up`` started and generated; persisted as ``state.json``.

    URLs are ``http://127.0.0.1:<port>``; ``pids`` maps a service name (``s3``, ``mlflow``,
    ``zenml``) to the process id of its process-group leader.
    """

    state_dir: str
    suffix: str
    s3_endpoint_url: str
    s3_bucket: str
    s3_access_key_id: str
    s3_secret_access_key: str
    mlflow_url: str
    mlflow_database: str
    mlflow_db_user: str
    mlflow_db_password: str
    mlflow_username: str
    mlflow_password: str
    zenml_url: str
    zenml_database: str
    zenml_db_user: str
    zenml_db_password: str
    zenml_admin_password: str
    zenml_api_key: str = ""
    postgres_admin_url: str = DEFAULT_POSTGRES_ADMIN_URL
    mariadb_admin_url: str = DEFAULT_MARIADB_ADMIN_URL
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The state file."""
        return Path(self.state_dir) / "state.json"

    def save(self) -> None:
        """Write the state file, readable by its owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(self), handle, indent=1)

    @classmethod
    def load(cls, state_dir: Path) -> ServerStackState:
        """Read ``<state_dir>/state.json``.

        Raises:
            ServerStackError: If there is no state file (nothing is up).
        """
        path = state_dir / "state.json"
        if not path.is_file():
            raise ServerStackError(
                f"{path}: no server stack is up here (run `python -m scripts.server_stack up`)"
            )
        return cls(**json.loads(path.read_text()))

    def stack_env(self) -> dict[str, str]:
        """The variables ``stacks/server.yaml`` expands, for this deployment."""
        return {
            "TABULAR_S3_BUCKET": self.s3_bucket,
            "TABULAR_S3_ENDPOINT_URL": self.s3_endpoint_url,
            "MLFLOW_TRACKING_URI": self.mlflow_url,
        }

    def credentials_env(self) -> dict[str, str]:
        """The secrets a client needs by hand: the ZenML API key, the S3 keys, the MLflow pair.

        The names are those of ``docs/server-stack.md``'s manual recipe (and of ``.env`` for
        the S3 keys).
        """
        return {
            "ZENML_API_KEY": self.zenml_api_key,
            "S3_ACCESS_KEY_ID": self.s3_access_key_id,
            "S3_SECRET_ACCESS_KEY": self.s3_secret_access_key,
            "MLFLOW_USER": self.mlflow_username,
            "MLFLOW_PASSWORD": self.mlflow_password,
        }


def resolve_state_dir(value: str | None) -> Path:
    """The state folder: ``value``, else ``$TABULAR_SERVER_STACK_DIR``, else the default."""
    return Path(value or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
