"""The relay between a client's connection (already authenticated at the gateway) and the session a process of the
job opened for it. Client -> process: every message the client sends after selectProcess, re-framed as it came.
Process -> client: every message, sent with the client connection's own sequence numbers.

When the process's side ends without the session having ended (the process was killed, or exited while stopped),
the client is told so (an `output` line and `terminated`) and its connection closes; when the client goes, the
process's session socket is closed, which detaches there.
"""

import threading

from longreach import log

__all__ = ["Relay"]

_log = log.get_logger("job")


class Relay(object):
    def __init__(self, conn, link, pid):
        self.conn = conn
        self.link = link
        self.pid = pid
        self._closed = threading.Event()
        self._ended = False      # the process's session said terminated, or answered disconnect

    def to_child(self, message):
        """A message from the client (called on the client connection's reader thread)."""
        if not self.link.send(message):
            _log.info("process %d is gone; closing the client's connection", self.pid)
            self.conn.abort()

    def run(self):
        """Process -> client, until either side ends (on the gateway's thread for this session link)."""
        try:
            while not self._closed.is_set():
                message = self.link.recv()
                if message is None:
                    break
                if message.get("type") == "event" and message.get("event") == "terminated":
                    self._ended = True
                elif message.get("type") == "response" and message.get("command") in ("disconnect", "terminate"):
                    self._ended = True
                message.pop("seq", None)
                self.conn.send(message)
        finally:
            if not self._closed.is_set() and not self._ended:
                self.conn.send({"type": "event", "event": "output", "body": {
                    "category": "console",
                    "output": "longreach: process %d ended while attached (its session closed)\n" % self.pid}})
                self.conn.send({"type": "event", "event": "terminated", "body": {}})
            self.link.close()
            self.conn.abort()

    def close(self):
        """The client went away: end the process's session (it detaches there)."""
        self._closed.set()
        self.link.close()
