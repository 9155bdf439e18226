"""Take one visualization of an artifact away from the demo store, and put it back.

The browser test must fail when a visualization is gone (issue 15), and the dashboard must then
say so rather than show a blank. Two ways a visualization goes missing:

* ``"file"``: the view's file is no longer in the artifact store (a cleaned or partly copied
  artifact store). The server answers the dashboard's ``visualize`` request with 404 and the
  file's path; the dashboard shows that message in the artifact's *Visualization* tab.
* ``"record"``: the artifact version has no visualization at all, which is what a run leaves
  when its materializer writes none (a removed ``save_visualizations``). The records are taken
  out of the ZenML store's SQLite database (``artifact_visualization``, the table ZenML 0.98
  writes them to at the end of a step); the dashboard shows "No visualizations found".

Both are undone when the ``with`` block ends, whatever happened inside it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from scripts.dashboard_demo import DemoStore

# The dashboard's text when an artifact version has no visualization (ZenML 0.98's bundle).
NO_VISUALIZATIONS = "There are no visualizations available for this artifact version."


def store_database(store: DemoStore) -> Path:
    """The SQLite database of the demo store's ZenML store (what ``zenml login --local`` serves).

    Raises:
        FileNotFoundError: When it is not there (the store was not built).
    """
    path = store.config_dir / "local_stores" / "default_zen_store" / "zenml.db"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no ZenML store database")
    return path


def visualizations(store: DemoStore, artifact_id: str) -> list[dict[str, Any]]:
    """The artifact version's visualizations as the server lists them (``type``, ``uri``)."""
    hydrated = store.api(f"artifact_versions/{artifact_id}?hydrate=true")
    return [dict(v["body"]) for v in hydrated["metadata"]["visualizations"]]


@contextmanager
def visualization_removed(
    store: DemoStore, artifact_id: str, how: str, file_name: str = ""
) -> Iterator[str]:
    """Remove a visualization of one artifact version for the duration of the block.

    Args:
        store: The demo store, served.
        artifact_id: The artifact version's id.
        how: ``"file"`` (move the view's file out of the artifact store) or ``"record"``
            (delete the version's visualization records from the store's database).
        file_name: With ``"file"``, the file name of the visualization to remove; the first
            visualization when empty.

    Yields:
        The text the dashboard shows in place of the view: the server's message naming the
        missing file, or :data:`NO_VISUALIZATIONS`.

    Raises:
        ValueError: On an unknown ``how``, or a ``file_name`` the artifact has no view for.
    """
    views = visualizations(store, artifact_id)
    if how == "file":
        uris = [v["uri"] for v in views if not file_name or Path(v["uri"]).name == file_name]
        if not uris:
            raise ValueError(f"artifact {artifact_id} has no visualization {file_name!r}")
        path = Path(uris[0])
        aside = path.with_name(path.name + ".removed")
        path.rename(aside)
        try:
            yield f"File '{path}' does not exist in artifact store"
        finally:
            aside.rename(path)
    elif how == "record":
        with closing(sqlite3.connect(store_database(store), timeout=60)) as db:
            db.row_factory = sqlite3.Row
            key = artifact_id.replace("-", "")
            where = "WHERE artifact_version_id = ?"
            select = f"SELECT * FROM artifact_visualization {where} ORDER BY rowid"
            rows = [dict(row) for row in db.execute(select, (key,))]
            if len(rows) != len(views):
                raise ValueError(f"artifact {artifact_id}: {len(rows)} records, {len(views)} views")
            with db:
                db.execute(f"DELETE FROM artifact_visualization {where}", (key,))
            try:
                yield NO_VISUALIZATIONS
            finally:
                columns = list(rows[0])
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join("?" for _ in columns)
                insert = f"INSERT INTO artifact_visualization ({names}) VALUES ({marks})"
                with db:
                    db.executemany(insert, [tuple(r[c] for c in columns) for r in rows])
    else:
        raise ValueError(f"how must be 'file' or 'record', not {how!r}")
