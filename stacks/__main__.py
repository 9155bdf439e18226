"""Command line: ``python -m stacks apply stacks/<name>.yaml [--no-activate]``."""

from stacks.registration import main

raise SystemExit(main())
