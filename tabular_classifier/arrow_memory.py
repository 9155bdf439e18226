"""Handing the memory Arrow's pool keeps after frees back to the operating system.

Arrow allocates through its own memory pool (mimalloc here), which keeps freed memory for reuse:
after reading issue 16's 1M-row table into pandas and dropping the frame, the process still held
641 MB instead of 134 MB (measured 2026-12-02). In the local orchestrator every step runs in one
process, so each step's reads stayed in the pipeline's peak. Every reader of a Parquet file here
calls :func:`release_arrow_memory` after the read.
"""

from __future__ import annotations

import pyarrow as pa


def release_arrow_memory() -> None:
    """Return the memory Arrow's default pool holds but does not use to the operating system.

    ``pyarrow.default_memory_pool().release_unused()``; buffers still in use are untouched.
    """
    pa.default_memory_pool().release_unused()
