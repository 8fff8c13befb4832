"""A failed write must end the connection, never deadlock the writing thread (the program's own thread at exit)."""

import socket
import threading
import unittest

from longreach.wire.connection import Connection


class FailedWrite(unittest.TestCase):
    def test_send_to_a_vanished_peer_returns_promptly(self):
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        theirs.close()
        conn = Connection(ours, ("127.0.0.1", 1), lambda conn, message: None, lambda conn: None)
        sender = threading.Thread(target=conn.send, args=({"type": "event", "event": "exited", "body": {"exitCode": 0}},))
        sender.daemon = True
        sender.start()
        sender.join(10)
        self.assertFalse(sender.is_alive(), "send() deadlocked after the write failed")
        ours.close()


if __name__ == "__main__":
    unittest.main()
