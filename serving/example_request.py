"""Print an example prediction request: ``python -m serving.example_request CSV [N_ROWS]``.

Reads the first ``N_ROWS`` (default 1) rows of a CSV, drops the ``target`` column if present,
and prints MLflow's ``dataframe_split`` JSON, ready for ``curl -d``. Bad arguments print one
``error:`` line on stderr and exit 2, and nothing on stdout (so ``curl -d "$(...)"`` sends no
half request).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

USAGE = "usage: python -m serving.example_request CSV [N_ROWS]"


def main(argv: list[str] | None = None) -> int:
    """Print the request.

    Args:
        argv: ``[CSV, N_ROWS]``; N_ROWS is a whole number >= 1 (default 1).

    Returns:
        0 (also for ``-h``/``--help``, which prints the usage), or 2 on bad arguments: a
        missing or unreadable CSV, or an N_ROWS that is not a positive whole number (the
        message names which).
    """
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(f"{USAGE}\n\n{(__doc__ or '').split(chr(10), 2)[-1].strip()}")
        return 0
    if not args or len(args) > 2:
        print(USAGE, file=sys.stderr)
        return 2
    path = Path(args[0])
    try:
        rows = int(args[1]) if len(args) > 1 else 1
    except ValueError:
        rows = 0
    if rows < 1:
        print(
            f"error: N_ROWS must be a whole number >= 1, not {args[1]!r}\n{USAGE}", file=sys.stderr
        )
        return 2
    if not path.is_file():
        print(f"error: {path}: no such file\n{USAGE}", file=sys.stderr)
        return 2
    try:
        frame = pd.read_csv(path, nrows=rows, float_precision="round_trip").drop(
            columns=["target"], errors="ignore"
        )
    except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
        print(f"error: {path}: cannot read it as CSV: {exc}", file=sys.stderr)
        return 2
    records = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    print(json.dumps({"dataframe_split": {"columns": list(frame.columns), "data": records}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
