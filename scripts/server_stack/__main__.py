"""``python -m scripts.server_stack``: see :mod:`scripts.server_stack`."""

from scripts.server_stack.cli import main

raise SystemExit(main())
