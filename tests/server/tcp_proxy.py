"""A TCP proxy on 127.0.0.1 that a test can cut and restore, to take a server off the network.

It forwards bytes unchanged in both directions. ``cut()`` closes the listening socket (new
connections are refused) and every open connection; ``restore()`` listens on the same port
again. ``cut_when_seen(marker)`` arms it to cut itself the moment a client sends bytes that
contain ``marker`` (for an S3 endpoint: part of an object key), before forwarding them.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._marker: bytes | None = None
        self.was_cut = threading.Event()
        self.port = self._listen(0)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def _listen(self, port: int) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return int(listener.getsockname()[1])

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self.was_cut.is_set():
                    client.close()
                    upstream.close()
                    continue
                self._connections.update((client, upstream))
            for src, dst, watch in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(src, dst, watch), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, watch: bool) -> None:
        try:
            while data := src.recv(65536):
                marker = self._marker
                if watch and marker is not None and marker in data:
                    self.cut()
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._connections.difference_update((src, dst))

    def cut_when_seen(self, marker: bytes) -> None:
        """Cut as soon as a client sends ``marker`` (the triggering bytes are dropped)."""
        self._marker = marker

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        with self._lock:
            self._marker = None
            self.was_cut.set()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            connections, self._connections = self._connections, set()
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        """Accept connections on the same port again."""
        with self._lock:
            self.was_cut.clear()
        if self._listener is None:
            self._listen(self.port)

    def close(self) -> None:
        """Stop for good."""
        self.cut()
