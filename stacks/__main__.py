"""Command line: ``python -m stacks apply stacks/<name>.yaml [--no-activate]``."""

from stacks.cli import main

raise SystemExit(main())
