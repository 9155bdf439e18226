"""Cache integrity: a cached step is reused only while its output artifacts are intact.

ZenML 0.98 finds a cache entry by its key alone: ``cache_utils.get_cached_step_run`` takes the
newest completed step run with the same cache key whose ``cache_expires_at`` has not passed, and
never looks at the artifact files. A step whose outputs were deleted from the artifact store, or
damaged, would be reused, and the first step to load them would fail.

Of what ZenML offers, only a step run's ``cache_expires_at`` lets a check keep one broken entry
from being reused: a cache policy's ``cache_func`` takes no arguments and cannot see the entry
it would vouch for, and ``expires_after`` expires sound entries too. So, while the training
pipeline is compiled (before its run exists, hence before ZenML looks anything up, on any
orchestrator), :func:`expire_broken_cache_entries` checks every entry the run could reuse and
sets ``cache_expires_at`` of the broken ones to now (``Client().update_step_run``). ZenML then
runs those steps again, and the run goes on as if they had never been cached.

An entry is checked against what its artifacts were when first seen:
- the first time, each output must exist and load with its own materializer, and where ZenML
  recorded a content hash (JSON values) the loaded value must match it; then the size and
  SHA-256 of each of its files are recorded as the artifact version's ``integrity`` metadata;
- from then on, each recorded file must exist with that size and SHA-256.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zenml import log_metadata
from zenml.client import Client
from zenml.enums import ExecutionStatus
from zenml.logger import get_logger
from zenml.utils import source_utils
from zenml.utils.io_utils import convert_to_str
from zenml.utils.pagination_utils import depaginate_stream
from zenml.utils.time_utils import utc_now

logger = get_logger(__name__)

INTEGRITY_KEY = "integrity"
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class BrokenEntry:
    """A cache entry that was expired, and why.

    Attributes:
        step: The step's name.
        pipeline_run: The name of the run that produced the entry.
        artifact: The output that failed the check.
        reason: What is wrong, naming the file.
    """

    step: str
    pipeline_run: str
    artifact: str
    reason: str


@dataclass
class CacheCheck:
    """The outcome of one check.

    Attributes:
        sound: Entries found intact.
        expired: Entries found broken and expired.
        seconds: Wall time of the check.
    """

    sound: int = 0
    expired: list[BrokenEntry] = field(default_factory=list)
    seconds: float = 0.0


def expire_broken_cache_entries(step_names: Sequence[str]) -> CacheCheck:
    """Check the cache entries these steps could reuse; expire those whose artifacts are broken.

    For each step, entries are taken newest first per cache key, as ZenML takes them; once one
    is sound, older ones of the same key cannot be reached and are not read. Entries whose
    outputs live in another artifact store are skipped: the cache key includes the store.

    Args:
        step_names: The names of the pipeline's cacheable steps.

    Returns:
        What was checked and expired.

    Raises:
        RuntimeError: If the artifact store cannot be reached; nothing has run or been
            registered then, and the same command can be run again once it is back.
    """
    started = time.monotonic()
    client = Client()
    store = client.active_stack.artifact_store
    result = CacheCheck()
    for name in step_names:
        sound_keys: set[str] = set()
        for step_run in _completed_entries(client, name):
            key = step_run.cache_key
            if not key or key in sound_keys:
                continue
            outputs = [(out, av) for out, avs in step_run.outputs.items() for av in avs]
            if any(av.artifact_store_id not in (None, store.id) for _, av in outputs):
                continue
            broken = _first_broken_output(outputs, store)
            if broken is None:
                sound_keys.add(key)
                result.sound += 1
                continue
            output, reason = broken
            client.update_step_run(step_run.id, cache_expires_at=utc_now())
            entry = BrokenEntry(
                step=name,
                pipeline_run=_run_name(client, step_run.pipeline_run_id),
                artifact=output,
                reason=reason,
            )
            result.expired.append(entry)
            logger.warning(
                "Cache entry of step `%s` (from run %s) is not reused: artifact `%s`: %s. "
                "The step will run again.",
                entry.step,
                entry.pipeline_run,
                entry.artifact,
                entry.reason,
            )
    result.seconds = time.monotonic() - started
    logger.info(
        "Cache check: %d entries sound, %d expired (%.2f s)",
        result.sound,
        len(result.expired),
        result.seconds,
    )
    return result


def _completed_entries(client: Client, step_name: str) -> Iterable[Any]:
    return depaginate_stream(
        client.list_run_steps,
        name=step_name,
        status=ExecutionStatus.COMPLETED,
        cache_expired=False,
        project=client.active_project.id,
        sort_by="desc:created",
        hydrate=True,
    )


def _run_name(client: Client, run_id: Any) -> str:
    try:
        return str(client.get_pipeline_run(run_id, hydrate=False).name)
    except KeyError:
        return str(run_id)


def _first_broken_output(outputs: list[tuple[str, Any]], store: Any) -> tuple[str, str] | None:
    for output, artifact in outputs:
        reason = artifact_problem(artifact, store)
        if reason is not None:
            return output, reason
    return None


def artifact_problem(artifact: Any, store: Any) -> str | None:
    """Check one artifact version against its recorded checksums (recording them at first).

    Args:
        artifact: A ZenML ``ArtifactVersionResponse`` stored in ``store``.
        store: The active stack's artifact store.

    Returns:
        None if the artifact is intact, else what is wrong with it, naming the file.

    Raises:
        RuntimeError: If the artifact store cannot be reached.
    """
    uri = str(artifact.uri)
    if uri.startswith("memory://"):
        return None
    try:
        present = store.exists(uri)
    except Exception as exc:
        raise RuntimeError(
            f"cache check: artifact store '{store.name}' cannot be reached ({exc}); nothing was "
            "run or registered. Run the same command again once the store is back."
        ) from exc
    if not present:
        return f"{uri} is missing"
    recorded = artifact.run_metadata.get(INTEGRITY_KEY)
    if isinstance(recorded, dict) and isinstance(recorded.get("files"), dict):
        return _compare(store, uri, recorded["files"])
    try:
        value = artifact.load()
    except Exception as exc:  # noqa: BLE001 - any failure to load makes the entry unusable
        return f"{uri} cannot be loaded: {type(exc).__name__}: {exc}"
    if artifact.content_hash:
        materializer = source_utils.load(artifact.materializer)(uri=uri, artifact_store=store)
        if materializer.compute_content_hash(value) != artifact.content_hash:
            return f"{uri} holds a value whose content hash differs from the recorded one"
    files = _manifest(store, uri)
    if not files:
        return f"{uri} holds no file"
    log_metadata(metadata={INTEGRITY_KEY: {"files": files}}, artifact_version_id=artifact.id)
    return None


def _compare(store: Any, uri: str, files: dict[str, Any]) -> str | None:
    for relative, expected in sorted(files.items()):
        path = f"{uri.rstrip('/')}/{relative}"
        if not store.exists(path):
            return f"{path} is missing"
        size, digest = _sha256(store, path)
        if size != expected.get("size") or digest != expected.get("sha256"):
            return (
                f"{path} has changed: {size} bytes, SHA-256 {digest[:16]}..., recorded "
                f"{expected.get('size')} bytes, SHA-256 {str(expected.get('sha256'))[:16]}..."
            )
    return None


def _manifest(store: Any, uri: str) -> dict[str, dict[str, Any]]:
    root = uri.rstrip("/")
    files: dict[str, dict[str, Any]] = {}
    for directory, _, names in store.walk(root):
        base = convert_to_str(directory).rstrip("/")
        prefix = base[len(root) :].lstrip("/")
        for name in names:
            relative = f"{prefix}/{convert_to_str(name)}" if prefix else convert_to_str(name)
            size, digest = _sha256(store, f"{root}/{relative}")
            files[relative] = {"size": size, "sha256": digest}
    return files


def _sha256(store: Any, path: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with store.open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
