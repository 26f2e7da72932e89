"""A raw HTTP/1.1 server on 127.0.0.1 for the bounds tests: each request gets the next scripted reply.

A reply is a function ``(conn, stop) -> None`` that writes whatever it likes on the socket
(drip bytes, flood, redirect); the server records each request line and, per reply, how many
bytes it managed to send before the client hung up. Every loop is bounded and ends when the
test stops the server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence

Reply = Callable[[socket.socket, threading.Event], None]

__all__ = ["LoopbackServer", "drip", "flood", "json_reply", "serve"]


def json_reply(status: int, body: bytes, headers: Sequence[str] = ()) -> Reply:
    def reply(conn: socket.socket, stop: threading.Event) -> None:
        head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *headers, "", ""]
        conn.sendall("\r\n".join(head).encode() + body)

    return reply


def drip(prefix: bytes, byte: bytes = b"a", every: float = 0.5, limit: int = 200) -> Reply:
    """Send ``prefix`` at once, then one ``byte`` every ``every`` seconds (at most ``limit``)."""

    def reply(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(prefix)
        for _ in range(limit):
            if stop.wait(every):
                return
            conn.sendall(byte)

    return reply


def flood(head: bytes, chunk: bytes, total: int, sent: list[int]) -> Reply:
    """Send ``head``, then ``chunk`` over and over up to ``total`` bytes; ``sent`` gets the count."""

    def reply(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head)
        count = 0
        try:
            while count < total and not stop.is_set():
                conn.sendall(chunk)
                count += len(chunk)
        except OSError:  # the client hung up: that is what the test wants to see
            pass
        finally:
            sent.append(count)

    return reply


class LoopbackServer:
    def __init__(self, replies: Sequence[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._connection, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _recv(self, conn: socket.socket, data: bytes, enough: Callable[[bytes], bool]) -> bytes | None:
        """Read into ``data`` until ``enough(data)``; None when the client hung up or time ran out."""
        deadline = time.monotonic() + 10
        while not enough(data):
            if time.monotonic() > deadline or self.stop.is_set():
                return None
            try:
                more = conn.recv(65536)
            except TimeoutError:
                continue
            if not more:
                return None
            data += more
        return data

    def _read_request(self, conn: socket.socket, buffered: bytes) -> tuple[bytes, bytes] | None:
        data = self._recv(conn, buffered, lambda d: b"\r\n\r\n" in d)
        if data is None:
            return None
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = self._recv(conn, rest, lambda d: len(d) >= length)
        if body is None:
            return None
        return head.split(b"\r\n")[0], body[length:]

    def _connection(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buffered = b""
        with conn:
            while not self.stop.is_set():
                try:
                    got = self._read_request(conn, buffered)
                except OSError:  # the client hung up
                    return
                if got is None:
                    return
                line, buffered = got
                self.requests.append(line)
                if not self.replies:
                    return
                conn.settimeout(10)  # sending: a slow reader is not a client that hung up
                try:
                    self.replies.pop(0)(conn, self.stop)
                except OSError:
                    return
                conn.settimeout(0.2)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self._accept.join(5)
        for thread in self.threads:
            thread.join(5)


@contextlib.contextmanager
def serve(replies: Sequence[Reply]) -> Iterator[LoopbackServer]:
    server = LoopbackServer(replies)
    server._accept.start()
    try:
        yield server
    finally:
        server.close()
