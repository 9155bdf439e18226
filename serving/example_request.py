"""Print an example prediction request: ``python -m serving.example_request CSV [N_ROWS]``.

Reads the first ``N_ROWS`` (default 1) rows of a CSV, drops the ``target`` column if present,
and prints MLflow's ``dataframe_split`` JSON, ready for ``curl -d``.
"""

from __future__ import annotations

import json
import sys

import pandas as pd


def main(argv: list[str] | None = None) -> int:
    """Print the request; exit code 2 on bad arguments."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    rows = int(args[1]) if len(args) > 1 else 1
    frame = pd.read_csv(args[0], nrows=rows).drop(columns=["target"], errors="ignore")
    records = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    print(json.dumps({"dataframe_split": {"columns": list(frame.columns), "data": records}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
