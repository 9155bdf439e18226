"""Run ``seldon-core-microservice`` with its REST and metrics servers bound to 127.0.0.1.

seldon-core 1.18 hard-codes ``0.0.0.0`` in the gunicorn ``bind`` option of both servers and
has no option for the host. This launcher rewrites that one option, then calls the console
script's own entry point (``seldon_core.microservice:main``) with the same arguments, so the
test exercises the real wrapper without listening on external interfaces. It runs in the
Seldon serving venv, not in the project's.
"""

import sys

from seldon_core import gunicorn_utils, microservice

_load_config = gunicorn_utils.StandaloneApplication.load_config


def _load_config_on_loopback(self: gunicorn_utils.StandaloneApplication) -> None:
    _load_config(self)
    port = self.cfg.bind[0].rsplit(":", 1)[1]
    self.cfg.set("bind", f"127.0.0.1:{port}")


gunicorn_utils.StandaloneApplication.load_config = _load_config_on_loopback

if __name__ == "__main__":
    sys.exit(microservice.main())
