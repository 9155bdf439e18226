"""Issue 14: a step finds its data under its source root, or pulls it from the stack's DVC remote.

The repositories here have no git (as in a step container, where ZenML extracts the code) and
the remotes are real DVC remotes in directories; the S3 remote is exercised by
``tests/docker/test_docker_stack.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dvc.repo import Repo

from tabular_classifier.data_source import (
    DVC_REMOTE_ENV,
    S3Access,
    compile_data_path,
    dvc_remote_for_store,
    locate_data_file,
    push_tracked,
)
from tabular_classifier.data_version import compile_fingerprint, file_md5
from tabular_classifier.errors import DataValidationError

CSV = "x,target\n1.5,1\n2.5,0\n"
DATA = Path("data/t.csv")


@pytest.fixture
def code_root(tmp_path: Path) -> Path:
    """A DVC repository without git holding ``data/t.csv`` and its pointer, pushed nowhere."""
    root = tmp_path / "code"
    (root / "data").mkdir(parents=True)
    (root / DATA).write_text(CSV)
    Repo.init(str(root), no_scm=True).close()
    with Repo(str(root)) as repo:
        repo.add(str(root / DATA))
    assert (root / "data" / "t.csv.dvc").is_file()
    return root


def _forget_data(root: Path) -> None:
    (root / DATA).unlink()
    shutil.rmtree(root / ".dvc" / "cache", ignore_errors=True)


def test_a_path_under_the_source_root_stays_relative(code_root: Path, tmp_path: Path) -> None:
    assert compile_data_path("data/t.csv", [code_root]) == ("data/t.csv", code_root / DATA)
    # Only the pointer is here (the data lives in a DVC remote): still relative, and the
    # fingerprint is the pointer's md5, the md5 the file will have once pulled.
    md5 = file_md5(code_root / DATA)
    _forget_data(code_root)
    assert compile_data_path("data/t.csv", [code_root]) == ("data/t.csv", code_root / DATA)
    assert compile_fingerprint(code_root / DATA) == f"{md5}:dvc=True"
    # A file under a later root only works on this host: it becomes absolute.
    other = tmp_path / "other"
    (other / "data").mkdir(parents=True)
    (other / "data" / "o.csv").write_text(CSV)
    path, host = compile_data_path("data/o.csv", [code_root, other])
    assert path == str((other / "data" / "o.csv").resolve()) and host.is_file()
    # Found nowhere: stays relative, and the step reports it under its own source root.
    assert compile_data_path("data/typo.cvs", [code_root]) == (
        "data/typo.cvs",
        code_root / "data" / "typo.cvs",
    )


def test_a_missing_file_is_pulled_from_the_remote_and_checked(
    code_root: Path, tmp_path: Path
) -> None:
    remote = str(tmp_path / "remote")
    assert push_tracked(code_root, DATA, remote, S3Access()) == 1
    md5 = file_md5(code_root / DATA)
    _forget_data(code_root)
    file, origin = locate_data_file("data/t.csv", code_root, remote)
    assert (file, origin) == (code_root / DATA, remote)
    assert file_md5(file) == md5 and file.read_text() == CSV
    # Present now: read from the checkout, nothing pulled.
    assert locate_data_file("data/t.csv", code_root, remote) == (code_root / DATA, "checkout")


def test_damaged_remote_bytes_are_refused_and_removed(code_root: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    push_tracked(code_root, DATA, str(remote), S3Access())
    md5 = file_md5(code_root / DATA)
    _forget_data(code_root)
    stored = remote / "files" / "md5" / md5[:2] / md5[2:]
    stored.chmod(0o644)
    stored.write_text("x,target\n9,9\n")
    # DVC verifies what it fetches and refuses the object (pull_tracked would also catch bytes
    # that pass DVC: it checks the md5 against the pointer): nothing is left behind.
    with pytest.raises(DataValidationError, match=f"md5 {md5}") as caught:
        locate_data_file("data/t.csv", code_root, str(remote))
    assert str(caught.value).startswith("data/t.csv:")
    assert not (code_root / DATA).exists()


def test_an_unpushed_file_names_the_remote_and_how_to_push(code_root: Path, tmp_path: Path) -> None:
    remote = str(tmp_path / "empty-remote")
    _forget_data(code_root)
    with pytest.raises(DataValidationError, match="could not be pulled") as caught:
        locate_data_file("data/t.csv", code_root, remote)
    assert remote in str(caught.value) and "--push" in str(caught.value)
    assert not (code_root / DATA).exists()


def test_without_a_remote_the_error_names_the_variable(
    code_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DVC_REMOTE_ENV, raising=False)
    _forget_data(code_root)
    # No variable and a stack off S3 (its artifact store gives no remote).
    with pytest.raises(DataValidationError, match=DVC_REMOTE_ENV) as caught:
        locate_data_file("data/t.csv", code_root, stack_remote=lambda: None)
    assert str(caught.value).startswith("data/t.csv:")
    # The variable wins over the stack's remote.
    remote = tmp_path / "env-remote"
    monkeypatch.setenv(DVC_REMOTE_ENV, str(remote))
    with pytest.raises(DataValidationError, match=str(remote)):
        locate_data_file("data/t.csv", code_root, stack_remote=lambda: "s3://elsewhere/dvc")


def test_the_stack_remote_is_the_dvc_prefix_of_the_artifact_stores_bucket() -> None:
    assert dvc_remote_for_store("s3://tabular-mlops/zenml") == "s3://tabular-mlops/dvc"
    assert dvc_remote_for_store("s3://bucket") == "s3://bucket/dvc"
    assert dvc_remote_for_store("/home/me/.config/zenml/local_stores/abc") is None
    assert dvc_remote_for_store("gs://bucket/zenml") is None


def test_an_untracked_missing_file_and_a_foreign_absolute_path_are_named(
    code_root: Path, tmp_path: Path
) -> None:
    with pytest.raises(DataValidationError, match=r"no DVC pointer data/none.csv.dvc") as info:
        locate_data_file("data/none.csv", code_root, str(tmp_path / "remote"))
    # Walkthrough: every missing file advised the quickstart's materialize_data script.
    assert "materialize_data" not in str(info.value)
    assert str(info.value).endswith("check data.path, which is relative to the repository root")
    absent = str(tmp_path / "elsewhere.csv")
    with pytest.raises(DataValidationError, match="repository-relative path") as caught:
        locate_data_file(absent, code_root, str(tmp_path / "remote"))
    assert str(caught.value).startswith(absent)


def test_s3_access_gives_dvc_only_the_options_that_are_set() -> None:
    access = S3Access(endpoint_url="http://127.0.0.1:9000", key="k", secret="s")
    assert access.dvc_options() == {
        "endpointurl": "http://127.0.0.1:9000",
        "access_key_id": "k",
        "secret_access_key": "s",
    }
    assert S3Access().dvc_options() == {}


def test_the_log_says_whether_the_bytes_came_from_the_cache_or_the_remote(
    code_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Walkthrough finding: a file deleted from the checkout but still in the local DVC cache was
    # logged as pulled from a remote that held nothing.
    empty_remote = str(tmp_path / "empty")
    (code_root / DATA).unlink()
    with caplog.at_level("INFO", logger="tabular_classifier.data_source"):
        locate_data_file("data/t.csv", code_root, empty_remote)
    assert "checked out from the local DVC cache (nothing downloaded from" in caplog.text
    remote = str(tmp_path / "remote")
    push_tracked(code_root, DATA, remote, S3Access())
    _forget_data(code_root)
    caplog.clear()
    with caplog.at_level("INFO", logger="tabular_classifier.data_source"):
        locate_data_file("data/t.csv", code_root, remote)
    assert f"downloaded from the DVC remote {remote}" in caplog.text


def test_a_push_to_s3_without_credentials_is_a_clear_error(
    code_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Walkthrough finding: `materialize_data --push s3://...` with no S3 stack printed botocore's
    # NoCredentialsError as a 341-line traceback. No credentials anywhere, no metadata service:
    # botocore refuses before any request leaves the machine.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(DataValidationError) as caught:
        push_tracked(code_root, DATA, "s3://no-such-bucket/dvc", S3Access())
    message = str(caught.value)
    assert message.startswith("data/t.csv:")
    assert "could not be pushed to the DVC remote s3://no-such-bucket/dvc" in message
    assert "credentials" in message.lower()
