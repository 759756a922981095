"""HTTP servers that a hostile client cannot exhaust: a fixed number of worker threads, and deadlines on reads.

``socketserver.ThreadingMixIn`` starts one thread per connection and the handlers read without a deadline, so
200 clients that connect and send nothing (or a header a byte at a time) hold 200 threads for ever. Here:

* A *gate* thread accepts into a selector and hands a connection to a worker only once its first bytes have
  arrived: idle connections cost a file descriptor, never a thread, and are closed after
  ``first_byte_timeout``. At most ``max_waiting`` idle connections are held; past that the oldest idle one is
  closed, so a flood of idle connections cannot lock out a client that sends its request at once.
* At most ``workers`` worker threads (daemon threads, started as needed). A connection whose bytes arrived while
  every worker is busy waits in line up to ``request_timeout``, then gets 503.
* A worker reads through a deadline: the request line and headers within ``request_timeout``, each read within
  ``idle_timeout``, and a body at no less than ``min_body_rate`` bytes a second; a client slower than that is
  dropped. A client trickling its headers can hold a worker for ``request_timeout`` at most.

The Web Connector endpoint and the daemon's health server use it (``BoundedServerMixIn`` before the server
class, ``BoundedHandlerMixIn`` before the handler class).
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import selectors
import socket
import threading
import time
from collections import deque

log = logging.getLogger(__name__)

BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 12\r\nConnection: close\r\n\r\nserver busy\n"
)


class _DeadlineReader(io.RawIOBase):
    """A socket's input where every read is bounded by the idle timeout and by an overall deadline."""

    def __init__(self, sock: socket.socket, deadline: float, idle_timeout: float):
        super().__init__()
        self.sock = sock
        self.deadline = deadline
        self.idle_timeout = idle_timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("client too slow: request deadline passed")
        self.sock.settimeout(min(self.idle_timeout, remaining))
        return self.sock.recv_into(buffer)


class BoundedHandlerMixIn:
    """For a ``StreamRequestHandler`` subclass: reads go through the server's deadlines."""

    # HTTP/0.9 has no status line, so a refusal of a malformed request line would reach the client as a bare
    # HTML page; every answer here carries a status line.
    default_request_version = "HTTP/1.0"

    def setup(self) -> None:
        super().setup()
        server = self.server
        self.connection.settimeout(server.idle_timeout)  # writes, too, give up on a client that stops reading
        self._deadline_reader = _DeadlineReader(
            self.connection, time.monotonic() + server.request_timeout, server.idle_timeout
        )
        self.rfile = io.BufferedReader(self._deadline_reader, buffer_size=64 * 1024)

    def parse_request(self) -> bool:
        """Once the headers are in, a declared body earns time at ``min_body_rate``; nothing else does."""
        ok = super().parse_request()
        if ok and len(set(self.headers.get_all("Content-Length") or [])) > 1:
            # two different lengths: which one a proxy in front believed is unknowable (request smuggling)
            self.send_error(400, "conflicting Content-Length headers")
            return False
        if ok:
            declared = (self.headers.get("Content-Length") or "").strip()
            if declared.isdigit() and len(declared) <= 12:
                body_bytes = min(int(declared), self.server.max_body_bytes)
                extra = self.server.request_timeout + body_bytes / self.server.min_body_rate
                self._deadline_reader.deadline = max(self._deadline_reader.deadline, time.monotonic() + extra)
        return ok


class BoundedServerMixIn:
    """For a ``socketserver.TCPServer`` subclass: bounded threads, bounded waiting connections."""

    workers = 16
    max_waiting = 512
    max_unsorted = 1024  # accepted, not yet seen by the gate: only a gate far behind refuses at the door
    first_byte_timeout = 10.0
    request_timeout = 30.0
    idle_timeout = 10.0
    min_body_rate = 64 * 1024  # bytes a second: a 32 MB body gets about eight minutes
    max_body_bytes = 64 * 1024 * 1024  # bodies longer than this are refused by the application unread
    request_queue_size = 128  # the listen backlog; socketserver's 5 drops connections under a burst

    def server_activate(self) -> None:
        super().server_activate()
        self._gate = _Gate(self)

    def process_request(self, request, client_address) -> None:
        self._gate.admit(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        gate = getattr(self, "_gate", None)
        if gate is not None:
            gate.close()

    def handle_error(self, request, client_address) -> None:
        log.exception("HTTP request from %s failed", client_address[0] if client_address else "?")


class _Gate:
    def __init__(self, server: BoundedServerMixIn):
        self.server = server
        self.selector = selectors.DefaultSelector()
        self.incoming: queue.SimpleQueue = queue.SimpleQueue()
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.waiting: dict[socket.socket, tuple] = {}  # no bytes yet: (address, since)
        self.ready: deque[tuple] = deque()  # bytes arrived, no worker free: (socket, address, since)
        self.busy = 0
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.wake_reader, self.wake_writer = socket.socketpair()
        self.wake_reader.setblocking(False)
        self.wake_writer.setblocking(False)
        self.selector.register(self.wake_reader, selectors.EVENT_READ)
        self.thread = threading.Thread(target=self._loop, name="http-gate", daemon=True)
        self.thread.start()

    # --- called from the accepting thread ------------------------------------------------------------------
    def admit(self, sock: socket.socket, address) -> None:
        # only a gate that has fallen behind refuses at the door; a full waiting room evicts its oldest instead
        if self.closed.is_set() or self.incoming.qsize() >= self.server.max_unsorted:
            _refuse(sock)
            return
        self.incoming.put((sock, address, time.monotonic()))
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # the wake-up pipe is full (the gate is awake anyway) or closed
            self.wake_writer.send(b"\0")

    # --- the gate thread -----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.closed.is_set():
            try:
                self._turn()
            except Exception:  # the gate must outlive anything one connection does
                log.exception("HTTP gate")

    def _turn(self) -> None:
        for key, _ in self.selector.select(timeout=0.25):
            if key.fileobj is self.wake_reader:
                try:
                    while self.wake_reader.recv(4096):
                        pass
                except OSError:
                    pass
                continue
            sock = key.fileobj
            self.selector.unregister(sock)
            address, since = self.waiting.pop(sock)
            self.ready.append((sock, address, time.monotonic()))
        while True:
            try:
                sock, address, since = self.incoming.get_nowait()
            except queue.Empty:
                break
            try:
                self.selector.register(sock, selectors.EVENT_READ)
            except (OSError, ValueError):  # closed under us
                _close(sock)
                continue
            self.waiting[sock] = (address, since)
        while len(self.waiting) > self.server.max_waiting:
            oldest = next(iter(self.waiting))  # dicts keep insertion order: the longest silent
            self.selector.unregister(oldest)
            del self.waiting[oldest]
            _close(oldest)
        while len(self.ready) > self.server.max_waiting:
            _refuse(self.ready.popleft()[0])
        while self.ready and self._take_worker():
            sock, address, _ = self.ready.popleft()
            self.jobs.put((sock, address))
        now = time.monotonic()
        for sock, (_, since) in list(self.waiting.items()):
            if now - since > self.server.first_byte_timeout:
                self.selector.unregister(sock)
                del self.waiting[sock]
                _close(sock)
        while self.ready and now - self.ready[0][2] > self.server.request_timeout:
            _refuse(self.ready.popleft()[0])

    def _take_worker(self) -> bool:
        with self.lock:
            if self.busy >= self.server.workers:
                return False
            self.busy += 1
            if len(self.threads) < self.busy:
                thread = threading.Thread(target=self._work, name=f"http-worker-{len(self.threads) + 1}",
                                          daemon=True)
                self.threads.append(thread)
                thread.start()
            return True

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            sock, address = job
            try:
                self.server.finish_request(sock, address)
            except OSError as exc:  # a client that vanished or was too slow: nothing to answer
                log.debug("HTTP client %s dropped: %s", address[0] if address else "?", exc)
            except Exception:
                self.server.handle_error(sock, address)
            finally:
                self.server.shutdown_request(sock)
                with self.lock:
                    self.busy -= 1
                self._wake()

    def close(self) -> None:
        self.closed.set()
        self._wake()
        self.thread.join(timeout=5)
        for sock in list(self.waiting):
            _close(sock)
        for sock, _, _ in self.ready:
            _close(sock)
        self.waiting.clear()
        self.ready.clear()
        while True:
            try:
                item = self.incoming.get_nowait()
            except queue.Empty:
                break
            _close(item[0])
        for _ in self.threads:
            self.jobs.put(None)
        self.selector.close()
        self.wake_reader.close()
        self.wake_writer.close()


def _refuse(sock: socket.socket) -> None:
    """503 without waiting on the client: a fresh socket's send buffer always takes these few bytes."""
    try:
        sock.setblocking(False)
        sock.send(BUSY_RESPONSE)
    except OSError:
        pass
    _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class ByteBudget:
    """Bytes of request bodies held at once, across workers: each worker may hold a body up to the cap, but
    not all of them at the same time. A request that does not fit waits up to ``wait`` seconds, then is
    answered 503 by its caller."""

    def __init__(self, limit: int, wait: float = 30.0):
        self.limit = limit
        self.wait = wait
        self.held = 0
        self._cond = threading.Condition()

    def acquire(self, size: int) -> bool:
        """Hold ``size`` bytes; False when they did not fit within ``wait``. A body alone always fits."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.held == 0 or self.held + size <= self.limit, self.wait):
                return False
            self.held += size
            return True

    def release(self, size: int) -> None:
        with self._cond:
            self.held -= size
            self._cond.notify_all()
