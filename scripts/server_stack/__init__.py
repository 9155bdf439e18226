"""The server-backed stack's services as local processes, for users without Docker and for tests.

``python -m scripts.server_stack up`` starts, all bound to 127.0.0.1:

- an S3-compatible object store: moto's server (``docker-compose.yml`` runs MinIO instead; no
  MinIO binary can be installed from our package registries, so moto stands in for it here),
  with one bucket;
- an MLflow tracking server on its own new PostgreSQL database (and role), storing artifacts
  in ``s3://<bucket>/mlflow`` and proxying them for its clients;
- a ZenML server on its own new MariaDB/MySQL database (and user), activated with a generated
  admin password, with a service account and an API key for clients.

Each is health-checked before ``up`` returns. What ``up`` generated (ports, database names,
passwords, the API key) is kept in ``<state dir>/state.json`` (mode 0600, outside the
repository), the servers' logs beside it.

- ``env`` prints the ``export`` lines ``stacks/server.yaml`` needs
  (``eval "$(python -m scripts.server_stack env)"``); ``env --with-credentials`` adds the
  secrets a client needs to log in and create the stack's secrets by hand (``ZENML_API_KEY``,
  ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``, ``MLFLOW_USER``, ``MLFLOW_PASSWORD``);
- ``connect`` reads ``stacks/server.yaml``, logs the ZenML client in to the server with the
  API key (what ``zenml login URL --api-key`` does), validates the stack file against the
  server, creates or updates the ``s3_credentials`` and ``mlflow_credentials`` secrets and
  applies the stack;
- ``down`` logs the ZenML client out if it is logged in to this server (what ``zenml logout``
  does), stops the processes and drops the databases and users ``up`` created.

PostgreSQL and MariaDB must already run (``scripts/services.sh`` starts them on our machines).
Their administrative URLs default to ``postgresql://postgres@127.0.0.1:5432/postgres`` and
``mysql://root@127.0.0.1:3306`` (``--postgres-admin-url`` / ``--mariadb-admin-url``, or
``TABULAR_POSTGRES_ADMIN_URL`` / ``TABULAR_MARIADB_ADMIN_URL``).

The package's modules, by job: :mod:`.state` (settings, the state file), :mod:`.databases`
(PostgreSQL/MariaDB administration), :mod:`.processes` (spawning, health checks, HTTP),
:mod:`.services` (the three servers, ``up`` and ``down``), :mod:`.login` (the ZenML client's
login, secrets and logout; ``connect``) and :mod:`.cli`. The names below are the public API
that tests and scripts import.
"""

from scripts.server_stack.login import connect, log_out_of, zenml_admin_token
from scripts.server_stack.processes import http_json, http_status
from scripts.server_stack.services import down, up
from scripts.server_stack.state import ServerStackError, ServerStackState

__all__ = [
    "ServerStackError",
    "ServerStackState",
    "connect",
    "down",
    "http_json",
    "http_status",
    "log_out_of",
    "up",
    "zenml_admin_token",
]
