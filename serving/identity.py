"""Which process answers on a model server's port, and whether it is the one a deployment started.

A health check and a smoke test cannot tell our model server from another process on the same
port that serves the same data (ZenML's local deployer counts ports up from 8000 and probes them
with ``SO_REUSEPORT``, so it can hand out a port another process listens on; the new server then
dies and the other process answers). So a deployment records *which process* listens on the
server's port, and everything that routes to it checks that process, not just the answer:

* at deployment, :func:`identify_listener` finds every process listening on the port; each must
  be the deployer's daemon process or one of its descendants, else the deployment fails;
* the route stores that process as :class:`ServerProcess` (PID and start time, so that a reused
  PID does not pass);
* the gateway checks :func:`check_listener` (every listener on the port is that process) when it
  loads a route and periodically, and :func:`still_running` (the PID still has that start time)
  on every request.

Linux and macOS (psutil); a listener owned by another user shows no PID and is never ours.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import psutil

# Start times (psutil ``create_time``, seconds since the epoch) computed by two processes for the
# same PID can differ by clock-tick rounding; a reused PID starts far later than this.
START_TIME_TOLERANCE_S = 0.05


class UnidentifiedServer(RuntimeError):
    """The process answering on a port is not the model server that was started for it."""


@dataclass(frozen=True)
class ServerProcess:
    """A model server process: its PID and start time.

    Attributes:
        pid: The process id of the process listening on the server's port.
        started_at: Its start time, seconds since the epoch (psutil ``create_time``).
    """

    pid: int
    started_at: float


def listening_pids(port: int) -> list[int | None]:
    """The processes with a TCP socket listening on ``port`` (any local address).

    Args:
        port: The TCP port.

    Returns:
        One entry per listening socket: its owner's PID, or ``None`` for a socket whose owner
        this user cannot see (another user's process). Empty when nothing listens.
    """
    return [
        conn.pid
        for conn in psutil.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port
    ]


def _describe(pid: int | None) -> str:
    if pid is None:
        return "a process of another user"
    try:
        command = " ".join(psutil.Process(pid).cmdline())[:160]
    except psutil.Error:
        command = "?"
    return f"PID {pid} ({command})"


def process_of(pid: int) -> ServerProcess:
    """The :class:`ServerProcess` of a running ``pid``.

    Raises:
        UnidentifiedServer: If no such process runs.
    """
    try:
        return ServerProcess(pid=pid, started_at=psutil.Process(pid).create_time())
    except psutil.Error as exc:
        raise UnidentifiedServer(f"process {pid} is not running") from exc


def identify_listener(port: int, owner_pid: int) -> ServerProcess:
    """The process serving ``port``, which must be ``owner_pid`` or one of its descendants.

    Args:
        port: The model server's TCP port.
        owner_pid: The PID of the process the deployer started (ZenML's service daemon).

    Returns:
        The outermost listening process (the one whose parent is not itself a listener).

    Raises:
        UnidentifiedServer: If nothing listens on the port, or any listener is not
            ``owner_pid`` or its descendant (the message names the port and the foreign
            process).
    """
    pids = listening_pids(port)
    if not pids:
        raise UnidentifiedServer(f"nothing listens on port {port}; the model server did not start")
    try:
        ours = {owner_pid} | {child.pid for child in psutil.Process(owner_pid).children(True)}
    except psutil.Error as exc:
        raise UnidentifiedServer(
            f"the model server's daemon (PID {owner_pid}) is not running; port {port} is "
            f"answered by {_describe(pids[0])}"
        ) from exc
    foreign = [pid for pid in pids if pid not in ours]
    if foreign:
        raise UnidentifiedServer(
            f"port {port} is answered by {_describe(foreign[0])}, not by the model server this "
            f"deployment started (daemon PID {owner_pid}); another program took the port"
        )
    listeners = {pid for pid in pids if pid is not None}
    outermost = next(
        pid for pid in sorted(listeners) if psutil.Process(pid).ppid() not in listeners
    )
    return process_of(outermost)


def still_running(server: ServerProcess) -> bool:
    """Whether ``server``'s PID still runs the same process (same start time, not a zombie)."""
    try:
        process = psutil.Process(server.pid)
        started = process.create_time()
        if process.status() == psutil.STATUS_ZOMBIE:  # killed, not yet reaped by its parent
            return False
    except psutil.Error:
        return False
    return abs(started - server.started_at) <= START_TIME_TOLERANCE_S


def check_listener(port: int, server: ServerProcess) -> str | None:
    """Why ``port`` is not served by ``server`` alone, or ``None`` when it is.

    Every socket listening on ``port`` must belong to ``server`` (same PID and start time).

    Returns:
        ``None``, or a one-line reason naming the port and the process found.
    """
    if server.pid <= 0:
        return "the route records no model server process; redeploy this version"
    if not still_running(server):
        return f"model server process {server.pid} is no longer running"
    pids = listening_pids(port)
    if not pids:
        return f"nothing listens on port {port}"
    foreign = [pid for pid in pids if pid != server.pid]
    if foreign:
        return f"port {port} is also answered by {_describe(foreign[0])}, not the model server"
    return None


def free_port(start: int, host: str = "127.0.0.1", attempts: int = 1000) -> int:
    """The first port from ``start`` up that nothing is bound to, probed without port reuse.

    Unlike ZenML's probe (``SO_REUSEPORT``), a port another process listens on with
    ``SO_REUSEPORT`` counts as taken.

    Raises:
        OSError: If none of ``attempts`` ports is free.
    """
    for port in range(start, start + attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free TCP port in {start}-{start + attempts - 1}")
