"""The benchmarks' shared harness: subprocesses, child results, machine and git facts, files."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from benchmarks import harness
from scripts.ports import free_port


def test_run_timed_returns_output_and_wall_time_and_logs(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    code = "import time; time.sleep(0.3); print('out'); import sys; print('err', file=sys.stderr)"
    done = harness.run_timed([sys.executable, "-c", code], cwd=tmp_path, log=log, echo=False)
    assert done.stdout == "out\n"
    assert done.stderr == "err\n"
    assert 0.3 <= done.seconds < 30
    assert log.read_text().startswith(f"$ {sys.executable} -c ")
    assert "out\n" in log.read_text() and "err\n" in log.read_text()


def test_run_timed_failure_names_command_status_and_output_tail(tmp_path: Path) -> None:
    code = "import sys; print('x' * 5000 + 'LAST-OUT'); sys.exit('boom on stderr')"
    with pytest.raises(harness.CommandFailed) as raised:
        harness.run_timed([sys.executable, "-c", code], cwd=tmp_path, echo=False)
    error = raised.value
    assert error.returncode == 1
    assert error.cmd[0] == sys.executable
    message = str(error)
    assert "exited 1" in message
    assert "LAST-OUT" in message and "boom on stderr" in message
    assert "x" * harness.TAIL_CHARS not in message  # the tail only, not the whole stdout


def test_child_result_line_read_back_from_a_real_module_child(tmp_path: Path) -> None:
    code = (
        "from benchmarks.harness import emit_result; print('noise'); "
        "emit_result({'n': 1}); emit_result({'n': 2, 'x': [1.5]}); print('after')"
    )
    done = harness.run_timed([sys.executable, "-c", code], cwd=harness.REPO, echo=False)
    assert harness.read_result(done.stdout) == {"n": 2, "x": [1.5]}  # the last tagged line wins


def test_read_result_without_a_result_line_raises() -> None:
    with pytest.raises(harness.ResultMissing, match="BENCH_RESULT"):
        harness.read_result("Traceback (most recent call last):\n  ...\n")


def test_module_command_runs_a_benchmark_module_from_the_repository_root() -> None:
    cmd = harness.module_command("row_contract", "--help")
    assert cmd == [sys.executable, "-m", "benchmarks.row_contract", "--help"]


def test_machine_info_fields_in_the_order_asked() -> None:
    info = harness.machine_info("python", "cpus")
    assert list(info) == ["python", "cpus"]
    assert info["cpus"] == os.cpu_count()
    assert info["python"] == ".".join(str(v) for v in sys.version_info[:3])
    assert set(harness.machine_info()) <= set(harness.MACHINE_FIELDS)
    with pytest.raises(ValueError, match="cpu_count"):
        harness.machine_info("cpus", "cpu_count")


def test_package_versions_marks_missing_distributions() -> None:
    versions = harness.package_versions(["pytest", "no-such-distribution-xyz"], missing="absent")
    assert versions == {"pytest": pytest.__version__, "no-such-distribution-xyz": "absent"}


def test_git_state_of_the_checkout_and_of_a_plain_folder(tmp_path: Path) -> None:
    state = harness.git_state()
    assert len(state.commit) == 40 and state.commit.startswith(state.short_commit)
    assert state.dirty == bool(state.uncommitted)
    outside = harness.git_state(tmp_path)
    assert (outside.commit, outside.short_commit, outside.uncommitted) == ("", "", ())
    assert not outside.dirty


def test_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_checkout_env_isolates_store_and_drops_checkout_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABULAR_SERVING_STATE", "/somewhere/route.json")
    env = harness.checkout_env(tmp_path, tmp_path / "repo", tmpdir=tmp_path / "tmp", EXTRA="1")
    assert "TABULAR_SERVING_STATE" not in env
    assert env["ZENML_CONFIG_PATH"] == str(tmp_path / "zenml")
    assert env["PYTHONPATH"] == str(tmp_path / "repo")
    assert env["TMPDIR"] == str(tmp_path / "tmp")
    assert env["EXTRA"] == "1"
    assert env["ZENML_ANALYTICS_OPT_IN"] == "false"
    assert env["PATH"].split(os.pathsep)[0] == str(harness.BIN)


def test_write_results_keeps_the_numbers_when_the_table_fails(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "result.json"

    def broken(result: dict[str, object]) -> str:
        raise KeyError("missing cell")

    with pytest.raises(KeyError):
        harness.write_results(path, {"seconds": 1.5}, broken)
    assert json.loads(path.read_text()) == {"seconds": 1.5}
    result: dict[str, object] = {"seconds": 2.0}
    table = harness.write_results(path, result, lambda r: f"| {r['seconds']} |", indent=2)
    assert table == "| 2.0 |"
    assert json.loads(path.read_text()) == {"seconds": 2.0, "markdown": "| 2.0 |"}
    assert path.read_text().startswith('{\n  "seconds"')
