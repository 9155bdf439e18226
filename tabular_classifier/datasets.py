"""Reference dataset: scikit-learn's breast-cancer table, exported reproducibly as CSV."""

import hashlib
from pathlib import Path

from sklearn.datasets import load_breast_cancer

BREAST_CANCER_MD5 = "5afc23b9622f8f9ffa60824f4e97d0d5"
"""MD5 of the export with pandas 2.3.3 (121,385 bytes): the same bytes on every machine, so a
regenerated file matches the checksum DVC recorded for it."""


def export_breast_cancer_csv(path: str | Path) -> str:
    """Write scikit-learn's breast-cancer frame to CSV.

    569 rows and 31 columns: 30 numeric features and ``target``, kept in scikit-learn's encoding
    (0 = malignant, 1 = benign). Written with ``to_csv(index=False)`` and LF line endings on
    every platform. The data ships with scikit-learn: no network access is needed.

    Args:
        path: Destination file; its parent directories are created if needed.

    Returns:
        The MD5 hex digest of the written bytes (the hash DVC uses), which equals
        :data:`BREAST_CANCER_MD5` with the pinned pandas.

    Raises:
        OSError: If the file cannot be written.
    """
    frame = load_breast_cancer(as_frame=True).frame
    data = frame.to_csv(index=False).encode("utf-8")
    destination = Path(path)
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(data)
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
