"""Where a step finds its data file: the code root, else a DVC remote on S3.

On the ``local`` and ``server`` stacks the steps run in the process that compiled the pipeline,
in the checkout, and the data file is where ``data.path`` says. In a step container
(``stacks/docker.yaml``) or pod (``stacks/cloud.yaml``) only the run's code is there: ZenML
downloads it from the artifact store into the step's source root. The code holds the DVC pointer
(``data/x.csv.dvc`` is in git) but never the data (git-ignored). So ``data.path`` stays
repository-relative, and the step:

1. resolves it against its source root (:func:`compile_data_path` keeps it relative);
2. if the file is absent and its ``.dvc`` pointer is present, pulls it with DVC's Python API
   from the stack's DVC remote, and checks the md5 against the pointer (:func:`pull_tracked`).
   The remote is ``TABULAR_DVC_REMOTE`` (a URL such as ``s3://BUCKET/dvc``, in the steps'
   environment) if set, else the ``dvc`` prefix of the bucket of the stack's S3 artifact
   store (:func:`stack_dvc_remote`: ``s3://BUCKET/zenml`` gives ``s3://BUCKET/dvc``). The endpoint
   and keys are the S3 artifact store's (:func:`stack_s3_access`: its ZenML secret, never YAML
   or git).

``python -m scripts.materialize_data --push`` fills that remote from a checkout that has the
file (:func:`push_tracked`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabular_classifier.config import resolve_path
from tabular_classifier.data_version import file_md5, read_dvc_md5
from tabular_classifier.errors import DataValidationError

DVC_REMOTE_ENV = "TABULAR_DVC_REMOTE"
# The name the remote gets in the DVC config DVC builds in memory (never written to a file).
_REMOTE_NAME = "tabular_stack"
_logger = logging.getLogger(__name__)


def _transfer_errors() -> tuple[type[BaseException], ...]:
    """What a pull or push can raise: DVC's errors, I/O, and S3's (no credentials, denied)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from dvc.exceptions import DvcException

    return (DvcException, OSError, ValueError, BotoCoreError, ClientError)


@dataclass(frozen=True)
class S3Access:
    """How to reach an S3 (or S3-compatible) service.

    None fields fall back to boto's chain (``AWS_*`` variables, instance or pod roles).

    Attributes:
        endpoint_url: The service's URL (moto, MinIO), or None for AWS.
        key: The access key id.
        secret: The secret access key.
        token: A session token.
        region: The region name.
    """

    endpoint_url: str | None = None
    key: str | None = None
    secret: str | None = None
    token: str | None = None
    region: str | None = None

    def dvc_options(self) -> dict[str, str]:
        """The options of a DVC S3 remote (``dvc-s3``'s names) for the fields that are set."""
        names = {
            "endpointurl": self.endpoint_url,
            "access_key_id": self.key,
            "secret_access_key": self.secret,
            "session_token": self.token,
            "region": self.region,
        }
        return {name: value for name, value in names.items() if value}


def stack_s3_access() -> S3Access:
    """The endpoint and keys of the active stack's artifact store, if it is an S3 store.

    The keys come from the store's ZenML secret (``authentication_secret``, or ``{{secret.key}}``
    references) through ``S3ArtifactStore.get_credentials``; the endpoint from its
    ``client_kwargs.endpoint_url``.

    Returns:
        The access; all fields None when the store is not on S3 (boto's own chain then applies).
    """
    from zenml.client import Client

    store = Client().active_stack.artifact_store
    if store.flavor != "s3":
        return S3Access()
    key, secret, token, region = store.get_credentials()  # type: ignore[attr-defined]
    client_kwargs = getattr(store.config, "client_kwargs", None) or {}
    return S3Access(
        endpoint_url=client_kwargs.get("endpoint_url"),
        key=key,
        secret=secret,
        token=token,
        region=region or client_kwargs.get("region_name"),
    )


def dvc_remote_for_store(store_path: str) -> str | None:
    """The DVC remote that goes with an artifact store: the ``dvc`` prefix of its S3 bucket.

    Args:
        store_path: The artifact store's ``path`` (``s3://BUCKET/PREFIX``).

    Returns:
        ``s3://BUCKET/dvc``, or None for a store that is not on S3.
    """
    if not store_path.startswith("s3://"):
        return None
    bucket = store_path[len("s3://") :].split("/", 1)[0]
    return f"s3://{bucket}/dvc" if bucket else None


def stack_dvc_remote() -> str | None:
    """:func:`dvc_remote_for_store` of the active stack's artifact store (None off S3)."""
    from zenml.client import Client

    return dvc_remote_for_store(str(Client().active_stack.artifact_store.path))


def compile_data_path(path: str, roots: Sequence[str | Path]) -> tuple[str, Path]:
    """The data path as the steps get it, and the file on this host to fingerprint.

    A relative path whose file, or ``.dvc`` pointer, is under the first root (the source root,
    which is also the step's, in a container or pod) stays relative, as does one found nowhere
    (the step then reports it missing under its source root). A relative path found only under
    the working directory or a later root is made absolute: it then works on this host only.

    Args:
        path: ``data.path`` as configured.
        roots: Directories relative paths are tried under; the first is the source root.

    Returns:
        ``(path for the steps, host file)``; the host file may not exist.
    """
    candidate = Path(path)
    if candidate.is_absolute():
        return path, candidate
    if roots:
        under_root = Path(roots[0]) / candidate
        if under_root.is_file() or under_root.with_name(under_root.name + ".dvc").is_file():
            return candidate.as_posix(), under_root
    found = resolve_path(path, roots)
    if found == path and not candidate.exists():
        # Found nowhere: keep it relative, so that the step names it and the source root.
        return candidate.as_posix(), (Path(roots[0]) / candidate) if roots else candidate
    resolved = Path(found).resolve()
    return str(resolved), resolved


def locate_data_file(
    path: str,
    root: Path,
    remote_url: str | None = None,
    stack_remote: Callable[[], str | None] = stack_dvc_remote,
) -> tuple[Path, str]:
    """Make the data file present in this process and return it, pulling it if needed.

    Args:
        path: ``data.path`` as compiled (:func:`compile_data_path`).
        root: The step's source root (ZenML's ``source_utils.get_source_root()``).
        remote_url: The DVC remote URL; None reads ``TABULAR_DVC_REMOTE``, else asks
            ``stack_remote``.
        stack_remote: The stack's default remote, asked only when the file must be pulled and
            no URL is set (:func:`stack_dvc_remote`).

    Returns:
        ``(file, where it came from)``: ``"checkout"`` when it was there, else the remote URL.

    Raises:
        DataValidationError: Naming ``path``: an absolute path that this host lacks; a file
            with neither the file nor its pointer; a pointer but no remote configured; a pull
            that fails or yields other bytes than the pointer records (nothing is left behind).
    """
    given = Path(path)
    file = given if given.is_absolute() else root / given
    if file.is_file():
        return file, "checkout"
    if given.is_absolute():
        raise DataValidationError(
            path,
            None,
            "file not found: an absolute path is read only on the host that has it; a step "
            "container or pod gets the code, not the data, so use a repository-relative path "
            "to a DVC-tracked file (README, 'How the data reaches a container')",
        )
    pointer = file.with_name(file.name + ".dvc")
    if not pointer.is_file():
        # The quickstart table is exported by a script, not pulled: say so only for it.
        quickstart = Path(path).as_posix().endswith("data/breast_cancer.csv")
        hint = (
            " (for the quickstart data run `uv run python -m scripts.materialize_data`)"
            if quickstart
            else "; check data.path, which is relative to the repository root"
        )
        raise DataValidationError(
            path, None, f"file not found under {root}, and no DVC pointer {path}.dvc either{hint}"
        )
    url = remote_url or os.environ.get(DVC_REMOTE_ENV) or stack_remote()
    if not url:
        raise DataValidationError(
            path,
            None,
            f"file not found under {root}; its DVC pointer is here but there is no DVC remote "
            f"to pull it from: set {DVC_REMOTE_ENV} (s3://BUCKET/PREFIX), or use a stack whose "
            "artifact store is on S3 (its bucket's dvc/ prefix). In a checkout run `uv run "
            "python -m scripts.materialize_data`, or `dvc pull`",
        )
    access = stack_s3_access() if url.startswith("s3://") else S3Access()
    pull_tracked(root, Path(path), url, access)
    return file, url


def _open_repo(root: Path, url: str, access: S3Access) -> Any:
    from dvc.repo import Repo

    if not (root / ".dvc").is_dir():
        raise DataValidationError(
            str(root / ".dvc"), None, "no DVC repository here, so no DVC-tracked file can be pulled"
        )
    return Repo(
        str(root),
        # No git in a step container; a checkout's .gitignore needs no change to pull or push.
        config={"core": {"no_scm": True}},
        remote=_REMOTE_NAME,
        remote_config={"url": url, **access.dvc_options()},
    )


def pull_tracked(root: Path, data: Path, url: str, access: S3Access) -> str:
    """Pull a DVC-tracked file from a remote and check it against its pointer.

    Args:
        root: The DVC repository's root (holding ``.dvc/``).
        data: The data file, relative to ``root``; ``data + ".dvc"`` is its pointer.
        url: The remote's URL (``s3://BUCKET/PREFIX``, or a directory).
        access: The S3 endpoint and keys for an ``s3://`` URL.

    Returns:
        The md5 of the pulled file (the pointer's).

    Raises:
        DataValidationError: Naming the file, the remote and the md5 if the pull fails or
            yields other bytes; the file is then removed.
    """
    target = root / data
    pointer = target.with_name(target.name + ".dvc")
    expected = read_dvc_md5(pointer)
    try:
        with _open_repo(root, url, access) as repo:
            result = repo.pull(targets=[str(pointer)], remote=_REMOTE_NAME)
    except _transfer_errors() as exc:
        target.unlink(missing_ok=True)
        raise DataValidationError(
            str(data),
            None,
            f"md5 {expected} (recorded in {data}.dvc) could not be pulled from the DVC remote "
            f"{url}: {type(exc).__name__}: {exc}. Push it from a checkout that has the file: "
            f"`python -m scripts.materialize_data --push {url}`",
        ) from exc
    if not target.is_file():
        raise DataValidationError(str(data), None, f"pulled from {url}, yet the file is not there")
    # dvc.repo.pull returns {"stats": {"fetched": files downloaded, ...}, ...}.
    fetched = result.get("stats", {}).get("fetched", 0) if isinstance(result, dict) else 0
    _logger.info(
        "%s: %s",
        data,
        f"downloaded from the DVC remote {url}"
        if fetched
        else f"checked out from the local DVC cache (nothing downloaded from {url})",
    )
    md5 = file_md5(target)
    if md5 != expected:
        target.unlink()
        raise DataValidationError(
            str(data),
            None,
            f"pulled from the DVC remote {url} with md5 {md5}, not the {expected} recorded in "
            f"{data}.dvc; removed it (the remote holds damaged data)",
        )
    return md5


def push_tracked(root: Path, data: Path, url: str, access: S3Access) -> int:
    """Push a DVC-tracked file (from the local DVC cache) to a remote.

    Args:
        root: The DVC repository's root.
        data: The data file, relative to ``root``, present in the DVC cache.
        url: The remote's URL.
        access: The S3 endpoint and keys for an ``s3://`` URL.

    Returns:
        The number of objects uploaded (0 when the remote had them).

    Raises:
        DataValidationError: Naming the file and the remote if the push fails.
    """
    pointer = root / data.with_name(data.name + ".dvc")
    try:
        with _open_repo(root, url, access) as repo:
            return int(repo.push(targets=[str(pointer)], remote=_REMOTE_NAME))
    except _transfer_errors() as exc:
        raise DataValidationError(
            str(data), None, f"could not be pushed to the DVC remote {url}: {exc}"
        ) from exc
