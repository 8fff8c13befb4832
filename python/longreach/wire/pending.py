"""Connections that have not authenticated yet: one agent thread with a selector serves them all.

docs/protocol.md section 4.6. A connection that has not proved it knows the secret costs the program a descriptor
and a few hundred bytes, never a thread: `Gate` runs their TLS handshakes, reads their frames and lets the server
answer `initialize` / `authenticate` on its one thread, and hands a connection to a thread of its own
(`hand_over(connection)`) only once it has authenticated, or when it sends `attach` (which may carry the secret and
starts a debug session). `Admission` decides who may wait at the gate at all, in the manner of OpenSSH's
MaxStartups: a cap per source address, and beyond `start` pending connections a random early drop whose probability
rises from `rate` to 1 at `full`. A connection keeps its place until it authenticates or closes, so threads spent on
`attach` requests that carry a wrong secret stay within the same caps. An authenticated session is never displaced.
"""

import random
import selectors
import socket
import threading
import time

from longreach import log
from longreach._threads import start_agent_thread

__all__ = ["Gate", "Admission", "PER_SOURCE"]

_log = log.get_logger("server")

PER_SOURCE = 8             # pending connections one address may hold
PENDING_WRITE_STALL = 0.5  # the gate thread never waits longer than this for one pending peer to take bytes
LINGER = 1.0               # after we close a pending connection: drain its unread bytes so our last frame arrives
LINGER_BYTES = 1 << 16
_READS_PER_TURN = 16


class Admission(object):
    """Who may hold a pending connection. Thread-safe; random draws never touch the program's `random` state."""

    def __init__(self, per_source=PER_SOURCE, start=16, rate=0.3, full=48, rng=None):
        self.per_source = per_source
        self.start = start
        self.rate = rate
        self.full = max(full, start)
        self._rng = rng or random.SystemRandom()
        self._lock = threading.Lock()
        self._by_source = {}   # ip -> pending connections from it
        self._total = 0

    def admit(self, ip):
        """True (and counted) when a new pending connection from `ip` may wait at the gate."""
        with self._lock:
            mine = self._by_source.get(ip, 0)
            if mine >= self.per_source or self._total >= self.full:
                return False
            if self._total >= self.start:
                span = max(1, self.full - self.start)
                refuse = self.rate + (1.0 - self.rate) * (self._total - self.start) / span
                if self._rng.random() < refuse:
                    return False
            self._by_source[ip] = mine + 1
            self._total += 1
            return True

    def release(self, ip):
        with self._lock:
            mine = self._by_source.get(ip, 0)
            if mine <= 1:
                self._by_source.pop(ip, None)
            else:
                self._by_source[ip] = mine - 1
            if mine:
                self._total -= 1

    @property
    def pending(self):
        return self._total


class _Entry(object):
    __slots__ = ("conn", "stage", "deadline", "sock", "drained")

    def __init__(self, conn, stage, deadline):
        self.conn = conn
        self.stage = stage       # "tls", "frames" or "drain"
        self.deadline = deadline
        self.sock = None         # while draining: the half-closed socket
        self.drained = 0


class Gate(object):
    """The pending connections' one thread. `add()` from any thread; the gate calls `hand_over(conn)` (on its own
    thread) when a connection needs a thread of its own, and `conn.end_pending()` when one ends at the gate."""

    def __init__(self, hand_over, admission=None):
        self.admission = admission or Admission()
        self._hand_over = hand_over
        self._lock = threading.Lock()
        self._incoming = []
        self._counted = {}        # Connection -> ip while it holds an admission place
        self._thread = None
        self._wake = None
        self._selector = None
        self._closing = False

    # ---- any thread ------------------------------------------------------------------------------------------
    def admit(self, conn):
        """Count `conn` against the admission caps; False when it must be refused."""
        if not self.admission.admit(conn.ip):
            return False
        with self._lock:
            self._counted[conn] = conn.ip
        return True

    def release(self, conn):
        """`conn` authenticated or closed: give back its place (idempotent)."""
        with self._lock:
            ip = self._counted.pop(conn, None)
        if ip is not None:
            self.admission.release(ip)

    def add(self, conn):
        """Serve `conn` at the gate until it authenticates, sends attach, or ends."""
        conn.set_write_stall(PENDING_WRITE_STALL)
        with self._lock:
            if self._closing:
                closing = True
            else:
                closing = False
                self._incoming.append(conn)
                if self._thread is None:
                    self._wake = socket.socketpair()
                    for sock in self._wake:
                        sock.setblocking(False)
                    self._selector = selectors.DefaultSelector()
                    self._selector.register(self._wake[0], selectors.EVENT_READ, None)
                    self._thread = start_agent_thread(self._loop, "longreach-gate")
        if closing:
            conn.abort()
            _close(self._end(_Entry(conn, "frames", 0)))
            return
        self._poke()

    def close(self, timeout=1.0):
        with self._lock:
            self._closing = True
            thread = self._thread
        self._poke()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def forget(self):
        """After fork, in the child: drop the inherited selector and wake pair (the connections are the server's)."""
        self._closing = True
        if self._selector is None and self._wake is None:
            return  # (never started, as in an idle server: a fork child makes no list here, each one a page copied)
        for thing in [self._selector] + list(self._wake or ()):
            if thing is not None:
                try:
                    thing.close()
                except OSError:
                    pass

    def _poke(self):
        wake = self._wake
        if wake is not None:
            try:
                wake[1].send(b"x")
            except OSError:
                pass

    # ---- the gate thread -------------------------------------------------------------------------------------
    def _loop(self):
        selector = self._selector
        entries = set()
        try:
            while not self._closing:
                now = time.monotonic()
                nearest = min([e.deadline for e in entries], default=None)
                timeout = None if nearest is None else max(0.0, nearest - now)
                for key, _mask in selector.select(timeout):
                    entry = key.data
                    if entry is None:
                        self._take_incoming(entries)
                    elif entry in entries:
                        self._service(entry, entries)
                now = time.monotonic()
                for entry in [e for e in entries if e.deadline <= now]:
                    self._expire(entry, entries)
        except Exception:
            _log.exception("the pending-connection gate failed")
        finally:
            with self._lock:
                self._closing = True
                leftover = self._incoming
                self._incoming = []
            for conn in leftover:
                conn.abort()
                _close(self._end(_Entry(conn, "frames", 0)))
            for entry in list(entries):
                self._drop(entry, entries, quietly=True)
            for thing in [selector] + list(self._wake or ()):
                try:
                    thing.close()
                except OSError:
                    pass

    def _take_incoming(self, entries):
        try:
            while self._wake[0].recv(4096):
                pass
        except OSError:
            pass
        with self._lock:
            incoming, self._incoming = self._incoming, []
        for conn in incoming:
            entry = _Entry(conn, "tls" if conn.needs_handshake else "frames", conn.deadline)
            entries.add(entry)
            try:
                self._selector.register(conn.fileno(), selectors.EVENT_READ, entry)
            except (OSError, ValueError, KeyError):
                self._drop(entry, entries, quietly=True)
                continue
            self._service(entry, entries)

    def _service(self, entry, entries):
        conn = entry.conn
        if entry.stage == "drain":
            self._drain(entry, entries)
            return
        if conn.closed:
            self._drop(entry, entries)
            return
        if entry.stage == "tls":
            step = conn.handshake_step()
            if step == "done":
                entry.stage = "frames"
                step = conn.pump()
        else:
            step = conn.pump()
        if step in ("read", "write"):
            self._want(entry, step)
        elif step == "handover":
            self._unregister(entry, entries)
            if conn.authenticated:
                self.release(conn)
            conn.set_write_stall(None)
            self._hand_over(conn)
        else:
            self._drop(entry, entries)

    def _expire(self, entry, entries):
        if entry.stage == "drain":
            self._close_sock(entry, entries)
        elif entry.stage == "tls":
            _log.info("TLS handshake with %s timed out", entry.conn.peer)
            self._drop(entry, entries, quietly=True)
        else:
            entry.conn.time_out()
            self._drop(entry, entries)

    def _want(self, entry, step):
        events = selectors.EVENT_WRITE if step == "write" else selectors.EVENT_READ
        try:
            if self._selector.get_key(entry.conn.fileno()).events != events:
                self._selector.modify(entry.conn.fileno(), events, entry)
        except (OSError, ValueError, KeyError):
            pass

    def _unregister(self, entry, entries):
        entries.discard(entry)
        try:
            self._selector.unregister(entry.sock if entry.sock is not None else entry.conn.fileno())
        except (OSError, ValueError, KeyError):
            pass

    def _drop(self, entry, entries, quietly=False):
        """The connection ends at the gate: the server hears of it, and our last frame gets a moment to arrive."""
        self._unregister(entry, entries)
        sock = self._end(entry)
        if sock is None or quietly or self._closing:
            if sock is not None:
                _close(sock)
            return
        entry.stage, entry.sock, entry.deadline = "drain", sock, time.monotonic() + LINGER
        try:
            self._selector.register(sock, selectors.EVENT_READ, entry)
        except (OSError, ValueError, KeyError):
            _close(sock)
            return
        entries.add(entry)

    def _end(self, entry):
        self.release(entry.conn)
        try:
            return entry.conn.end_pending()
        except Exception:
            _log.exception("closing pending connection %s failed", entry.conn.peer)
            return None

    def _drain(self, entry, entries):
        try:
            data = socket.socket.recv(entry.sock, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        entry.drained += len(data)
        if not data or entry.drained >= LINGER_BYTES:
            self._close_sock(entry, entries)

    def _close_sock(self, entry, entries):
        self._unregister(entry, entries)
        _close(entry.sock)


def _close(sock):
    if sock is None:
        return
    try:
        sock.close()
    except OSError:
        pass
