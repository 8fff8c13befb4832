"""One client connection: TLS handshake, reading frames, a serialised thread-safe send, orderly close.

Mechanism only. What a message means is decided by the `on_message(connection, message)` callback (server.py, in this folder), run
on this connection's reader thread. Every way a connection can end (EOF, reset, framing error, auth deadline, failed
write, a close requested by the server) arrives at one place, `_finish`, which calls `on_closed(connection)` once.

All calls into the socket (and so into OpenSSL, whose objects must not be used by two threads at once) happen under
`_io_lock` on a non-blocking socket; waiting for readiness happens outside the lock.
"""

import errno
import os
import select
import socket
import sys
import threading
import time

from longreach import log
from longreach.errors import LongreachError, error_body
from longreach.wire import framing as wire

__all__ = ["Connection", "format_peer", "drop_inherited"]

_wire_log = log.get_logger("wire")
_log = log.get_logger("server")

READ_SIZE = 65536
WRITE_SLICE = 16384       # one TLS record; SSL_write is retried with the same slice after WANT_WRITE
WRITE_STALL = 30.0        # a peer that accepts no bytes for this long is treated as gone
LINGER = 1.0              # after we close: how long to drain the peer's unread bytes so our last frame arrives
LINGER_BYTES = 1 << 20
_WOULD_BLOCK = (BlockingIOError, InterruptedError)  # and ssl's two "want" errors once it is loaded (_bind_ssl)
MAX_PENDING_REQUESTS = 16  # requests before authenticating; their answers fit in any socket buffer
_GATE_READS = 16


def drop_inherited(sock):
    """In a forked child: close its copy of a socket the parent keeps using (no shutdown, so the parent's stays as
    it was), touching nothing but the socket object. None is ignored."""
    if sock is None:
        return
    try:
        fd = sock.detach()
        if fd >= 0:
            os.close(fd)
    except OSError:
        pass


def format_peer(address):
    host, port = address[0], address[1]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def _wait(sock, write, timeout):
    """Wait until `sock` is readable (or writable); False on timeout. poll() where available: no FD_SETSIZE cap."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLOUT if write else select.POLLIN)
        try:
            return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000) + 1)))
        except InterruptedError:
            return False
    if write:
        return bool(select.select([], [sock], [sock], timeout)[1])
    return bool(select.select([sock], [], [sock], timeout)[0])


class _NotLoaded(Exception):
    """Stands for ssl's classes while the ssl module is not loaded: never raised, and nothing is an instance."""


class _TLS(object):
    """The ssl classes this module needs, bound once a TLS socket can exist (the ssl module is loaded). An agent
    without TLS never imports ssl, which would load OpenSSL into the program and every process it forks."""
    Socket = WantRead = WantWrite = ZeroReturn = _NotLoaded


def _bind_ssl():
    global _WOULD_BLOCK
    ssl = sys.modules.get("ssl")
    if ssl is None or _TLS.Socket is not _NotLoaded:
        return
    try:
        names = (ssl.SSLWantReadError, ssl.SSLWantWriteError, ssl.SSLZeroReturnError, ssl.SSLSocket)
    except AttributeError:
        return  # the program is importing ssl right now: no TLS socket of ours exists yet
    _WOULD_BLOCK = (names[0], names[1], BlockingIOError, InterruptedError)
    _TLS.WantRead, _TLS.WantWrite, _TLS.ZeroReturn, _TLS.Socket = names


class Connection(object):
    def __init__(self, sock, address, on_message, on_closed, tls_context=None, auth_timeout=10.0,
                 body_limit=wire.DEFAULT_BODY_LIMIT):
        self.peer = format_peer(address)
        self.ip = address[0]
        self.is_tls = tls_context is not None
        self.authenticated = False
        self.state = {}  # the server's per-connection bookkeeping
        self.thread = None  # the reader thread's handle, set by the server
        self._sock = sock
        self._tls_context = tls_context
        self._on_message = on_message
        self._on_closed = on_closed
        self._deadline = time.monotonic() + auth_timeout
        self._auth_timeout = auth_timeout
        self._body_limit = body_limit
        self._out_limit = wire.PRE_AUTH_BODY_LIMIT
        self._decoder = wire.FrameDecoder()
        self._io_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._seq = 0
        self._stop = False        # set when we decided to close; the reader loop ends
        self._dead = False        # set when nothing more may be written
        self._eof = False
        self._closed_once = threading.Lock()
        self._closed_called = False
        self._write_stall = WRITE_STALL
        self._handshaken = tls_context is None
        self._held = None         # a request the gate read but left for this connection's own thread
        self._pending_requests = 0
        if _TLS.Socket is _NotLoaded:
            _bind_ssl()

    # ---- called by the server (policy) ----------------------------------------------------------------------
    def mark_authenticated(self):
        """Lift the 64 KiB frame limit and the authentication deadline."""
        self.authenticated = True
        self._decoder.set_body_limit(self._body_limit, authenticated=True)
        self._out_limit = self._body_limit

    def finish(self):
        """Close after the current message (called from a handler, on the reader thread)."""
        self._stop = True

    def fail(self, code, message):
        """Send one longreach/error event, then close (framing errors, auth deadline)."""
        _log.info("closing %s: %s %s", self.peer, code, message)
        self.send({"type": "event", "event": "longreach/error", "body": {"code": code, "message": message}})
        self._stop = True

    def abort(self):
        """Close from any thread: no more writes; the reader wakes up and finishes."""
        self._stop = True
        self._dead = True
        with self._io_lock:
            try:
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def forget(self):
        """After fork, in the child: drop the inherited descriptor without touching the parent's connection."""
        self._dead = True
        self._stop = True
        self._closed_called = True
        try:
            socket.socket.close(self._sock)
        except OSError:
            pass

    @property
    def closed(self):
        return self._dead

    # ---- gate mode (pending.py): driven without a thread until authenticated -----------------------------------
    @property
    def needs_handshake(self):
        return not self._handshaken

    @property
    def deadline(self):
        return self._deadline

    def fileno(self):
        return self._sock.fileno()

    def set_write_stall(self, seconds):
        """How long one write may wait for the peer to take bytes (None: the normal WRITE_STALL)."""
        self._write_stall = WRITE_STALL if seconds is None else seconds

    def handshake_step(self):
        """One non-blocking step of the TLS handshake: "done", "read", "write" or "failed"."""
        if not isinstance(self._sock, _TLS.Socket) and not self._wrap():
            return "failed"
        with self._io_lock:
            try:
                self._sock.do_handshake()
            except _TLS.WantRead:
                return "read"
            except _TLS.WantWrite:
                return "write"
            except (OSError, ValueError) as err:
                _log.info("TLS handshake with %s failed: %s", self.peer, err)
                return "failed"
        self._handshaken = True
        return "done"

    def pump(self):
        """Read what has arrived, without waiting, and handle every complete message. Returns "read" or "write"
        (wait for that), "handover" (the connection needs its own thread: `run()` goes on where this stopped) or
        "closed" (call `end_pending()`)."""
        for _ in range(_GATE_READS):
            if self._stop:
                return "closed"
            with self._io_lock:
                try:
                    data = self._sock.recv(READ_SIZE)
                except _TLS.WantWrite:
                    return "write"
                except _WOULD_BLOCK:
                    return "read"
                except _TLS.ZeroReturn:
                    data = b""
                except (OSError, ValueError):
                    data = b""
            if not data:
                self._eof = True
                return "closed"
            step = self._pump_messages(data)
            if step is not None:
                return step
            if not self._buffered():
                return "read"
        return "read"

    def _pump_messages(self, data):
        try:
            for message in self._decoder.feed(data):
                if _wire_log.isEnabledFor(10):
                    _wire_log.debug("<- %s %r", self.peer, log.redact(message))
                if self._wants_thread(message):
                    self._held = message  # checks the secret and starts a session: on a thread of its own
                    return "handover"
                self._pending_requests += 1
                if self._pending_requests > MAX_PENDING_REQUESTS:
                    self.fail("LR_BAD_REQUEST", "more than %d requests before authenticating; send initialize, "
                              "then authenticate" % MAX_PENDING_REQUESTS)
                    return "closed"
                self._on_message(self, message)
                if self._stop or self._dead:
                    return "closed"
                if self.authenticated:
                    return "handover"
        except LongreachError as err:
            self.fail(err.code, err.message)
            return "closed"
        return None

    def _wants_thread(self, message):
        if not isinstance(message, dict) or message.get("command") != "attach":
            return False
        args = message.get("arguments")
        return self.authenticated or (isinstance(args, dict) and "secret" in args)

    def time_out(self):
        self.fail("LR_TIMEOUT", "authentication did not complete within %g s of connecting; send initialize and "
                  "authenticate promptly" % self._auth_timeout)

    def end_pending(self):
        """End a connection at the gate without waiting: the server hears of it once; returns the half-closed
        socket to drain for a moment (so our last frame is not lost to a reset), or None when it is closed."""
        self._dead = True
        self._call_on_closed()
        if not self._eof:
            with self._io_lock:
                try:
                    socket.socket.shutdown(self._sock, socket.SHUT_WR)
                    return self._sock
                except OSError:
                    pass
        try:
            self._sock.close()
        except OSError:
            pass
        return None

    def send(self, message):
        """Send one DAP message (the seq is filled in). Thread-safe; never raises; a no-op once closed."""
        if self._dead:
            return
        try:
            with self._send_lock:
                if self._dead:
                    return
                self._seq += 1
                message = dict(message)
                message["seq"] = self._seq
                frame = self._encode(message)
                if frame is None:
                    return
                if _wire_log.isEnabledFor(10):
                    _wire_log.debug("-> %s %r", self.peer, log.redact(message))
                self._write(frame)
        except Exception:
            _log.exception("send to %s failed", self.peer)
            self._write_failed()

    # ---- reader thread -------------------------------------------------------------------------------------
    def run(self):
        try:
            if not self._handshaken and not self._handshake():
                return
            held, self._held = self._held, None
            if held is not None:
                self._on_message(self, held)
            if not self._stop and self._decoder.pending and self._feed(b""):
                return
            self._loop()
        except Exception:
            _log.exception("connection %s failed", self.peer)
        finally:
            self._finish()

    def _wrap(self):
        try:
            self._sock = self._tls_context.wrap_socket(self._sock, server_side=True, do_handshake_on_connect=False)
        except (OSError, ValueError) as err:
            _log.info("TLS setup for %s failed: %s", self.peer, err)
            return False
        return True

    def _handshake(self):
        if not isinstance(self._sock, _TLS.Socket) and not self._wrap():
            return False
        while not self._stop:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                _log.info("TLS handshake with %s timed out", self.peer)
                return False
            with self._io_lock:
                try:
                    self._sock.do_handshake()
                    self._handshaken = True
                    return True
                except _TLS.WantRead:
                    write = False
                except _TLS.WantWrite:
                    write = True
                except (OSError, ValueError) as err:
                    _log.info("TLS handshake with %s failed: %s", self.peer, err)
                    return False
            _wait(self._sock, write, remaining)
        return False

    def _loop(self):
        while not self._stop:
            timeout = None
            if not self.authenticated:
                timeout = self._deadline - time.monotonic()
                if timeout <= 0:
                    self.fail("LR_TIMEOUT", "authentication did not complete within %g s of connecting; "
                              "send initialize and authenticate promptly" % self._auth_timeout)
                    return
            if not self._buffered() and not _wait(self._sock, False, timeout):
                continue
            data = self._recv()
            if data is None:
                continue
            if not data:
                self._eof = True
                if self._decoder.pending:
                    _log.info("%s closed the connection in the middle of a frame", self.peer)
                return
            if self._feed(data):
                return

    def _feed(self, data):
        """Handle every complete message in `data` (and what was buffered); True when the connection should end."""
        try:
            for message in self._decoder.feed(data):
                if _wire_log.isEnabledFor(10):
                    _wire_log.debug("<- %s %r", self.peer, log.redact(message))
                self._on_message(self, message)
                if self._stop:
                    return True
        except LongreachError as err:
            self.fail(err.code, err.message)
            return True
        return False

    def _buffered(self):
        """True when TLS already holds decrypted bytes the socket's readiness would not announce."""
        if not self.is_tls:
            return False
        with self._io_lock:
            try:
                return self._sock.pending() > 0
            except (OSError, ValueError, AttributeError):
                return False

    def _recv(self):
        """Bytes read; b"" at end of stream; None when nothing could be read yet."""
        with self._io_lock:
            try:
                return self._sock.recv(READ_SIZE)
            except _WOULD_BLOCK:
                return None
            except _TLS.ZeroReturn:
                return b""
            except (OSError, ValueError) as err:
                if getattr(err, "errno", None) not in (errno.ECONNRESET, errno.EPIPE, None):
                    _log.info("read from %s failed: %s", self.peer, err)
                return b""

    def _encode(self, message):
        try:
            return wire.encode(message, self._out_limit)
        except (LongreachError, ValueError, TypeError) as err:
            _log.error("cannot send %s %r to %s: %s", message.get("type"),
                       message.get("command") or message.get("event"), self.peer, err)
            if message.get("type") != "response":
                return None
            text = "the response to %r could not be sent: %s" % (message.get("command"), err)
            fallback = {"seq": message["seq"], "type": "response", "request_seq": message.get("request_seq"),
                        "command": message.get("command"), "success": False, "message": "LR_INTERNAL",
                        "body": error_body("LR_INTERNAL", text[:500])}
            return wire.encode(fallback)

    def _write(self, frame):
        view = memoryview(frame)
        stall_deadline = time.monotonic() + self._write_stall
        while view:
            chunk = view[:WRITE_SLICE]
            write = True
            failed = False
            with self._io_lock:
                if self._dead:
                    return
                try:
                    sent = self._sock.send(chunk)
                except _TLS.WantRead:
                    sent, write = 0, False
                except _WOULD_BLOCK:
                    sent = 0
                except (OSError, ValueError) as err:
                    _log.info("write to %s failed: %s", self.peer, err)
                    failed = True
            if failed:
                self._write_failed()  # outside _io_lock: abort() takes it, and the lock is not re-entrant
                return
            if sent:
                view = view[sent:]
                stall_deadline = time.monotonic() + self._write_stall
                continue
            remaining = stall_deadline - time.monotonic()
            if remaining <= 0:
                _log.info("%s accepted no data for %g s; closing", self.peer, self._write_stall)
                self._write_failed()
                return
            if write:
                _wait(self._sock, True, min(remaining, 1.0))
            else:
                time.sleep(0.005)

    def _write_failed(self):
        """The one place a failed write lands: stop writing and wake the reader, which closes."""
        if not self._dead:
            self.abort()

    def _finish(self):
        self._dead = True
        self._call_on_closed()
        if not self._eof:
            self._linger()
        try:
            self._sock.close()
        except OSError:
            pass

    def _call_on_closed(self):
        first = False
        with self._closed_once:
            if not self._closed_called:
                self._closed_called = first = True
        if first:
            try:
                self._on_closed(self)
            except Exception:
                _log.exception("on_closed for %s failed", self.peer)

    def _linger(self):
        """We close first: half-close, then drain what the peer still sends, so our last frame is not lost to a
        reset caused by unread bytes."""
        with self._io_lock:
            try:
                socket.socket.shutdown(self._sock, socket.SHUT_WR)
            except OSError:
                return
        deadline = time.monotonic() + LINGER
        drained = 0
        while drained < LINGER_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not _wait(self._sock, False, remaining):
                return
            try:
                data = socket.socket.recv(self._sock, READ_SIZE)
            except _WOULD_BLOCK:
                continue
            except OSError:
                return
            if not data:
                return
            drained += len(data)
