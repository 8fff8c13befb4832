"""A blocking, framed connection between two processes of one job (a Unix socket): the same Content-Length frames
as the wire (longreach.wire.framing), one reader, thread-safe sends."""

import select
import socket
import threading

from longreach.errors import LongreachError
from longreach.wire import framing

__all__ = ["Link", "HELLO_LIMIT"]

HELLO_LIMIT = 65536   # a frame before the peer proved it belongs to the job


class Link(object):
    def __init__(self, sock, body_limit=HELLO_LIMIT):
        self.sock = sock
        self._decoder = framing.FrameDecoder(body_limit, authenticated=False)
        self._ready = []
        self._send_lock = threading.Lock()
        self.closed = False

    def trust(self):
        """The peer proved it belongs to the job: lift the small frame limit."""
        self._decoder.set_body_limit(framing.DEFAULT_BODY_LIMIT, authenticated=True)

    def send(self, message):
        """Send one message; False when the link is gone (never raises)."""
        try:
            frame = framing.encode(message)
        except (LongreachError, ValueError, TypeError):
            return False
        return self.send_frame(frame)

    def send_frame(self, frame):
        with self._send_lock:
            if self.closed:
                return False
            try:
                self.sock.sendall(frame)
                return True
            except OSError:
                self.closed = True
                return False

    def recv(self, timeout=None):
        """The next message; None at the end of the stream, on a framing error, or when `timeout` passed."""
        while not self._ready:
            if timeout is not None and not _readable(self.sock, timeout):
                return None
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return None
            try:
                self._ready.extend(self._decoder.feed(data))
            except LongreachError:
                self.close()
                return None
        return self._ready.pop(0)

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def forget(self):
        """After fork, in the child: drop the inherited descriptor without disturbing the parent's link."""
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


def _readable(sock, timeout):
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))
    except (OSError, ValueError):
        return True  # let recv() report it
