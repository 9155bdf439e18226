"""A free TCP port on 127.0.0.1, for tests, benchmarks and the local server stack.

The one copy of "bind to port 0 and read back what the OS picked". Model-server ports the
deployer hands out are chosen differently (``serving.identity.free_port``: counting up from a
start without port reuse, so that a process listening with ``SO_REUSEPORT`` counts as taken).
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing was bound to on 127.0.0.1 a moment ago (the OS picks it).

    Returns:
        The port number (1024-65535). Another process may take it before the caller binds it;
        a server that fails to bind should be started again with a new port.
    """
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])
