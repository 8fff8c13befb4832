"""Connections that have not authenticated: one gate thread for all of them, caps per source, no lock-out by a flood.

Real sockets; the flooding peers connect from 127.0.0.2 (Linux routes all of 127/8 to the loopback device).
"""

import random
import resource
import socket
import unittest

from longreach._threads import AGENT_THREAD_IDS
from longreach.wire import pending
from longreach.wire.pending import Admission

from .support import Client, FakeSession, error_code, wait_until
from .test_server import SECRET, ServerTestCase


def half_header(port, source="127.0.0.2"):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"Content-Len")
    return sock


def closed_by_server(sock, within=2.0):
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


class Flood(ServerTestCase):
    def setUp(self):
        super(Flood, self).setUp()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1200:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        self.flood = []
        self.addCleanup(lambda: [s.close() for s in self.flood])

    def test_idle_flood_does_not_lock_out_or_cost_threads(self):
        for _ in range(500):
            self.flood.append(half_header(self.port))
        wait_until(lambda: self.server._gate.admission.pending == pending.PER_SOURCE,
                   what="the gate to hold exactly the per-source cap of the flood")
        lister = self.connect()
        self.assertTrue(lister.authenticate(SECRET)["success"])
        self.assertTrue(lister.request("longreach/processInfo")["success"])
        client = self.attached_client()
        self.assertTrue(client.request("echo")["success"])
        # listener, gate, the attached client's reader, maybe the lister's reader on its way out
        self.assertLessEqual(len(AGENT_THREAD_IDS), 4, AGENT_THREAD_IDS)
        self.assertEqual(self.server._gate.admission.pending, pending.PER_SOURCE)

    def test_beyond_the_per_source_cap_is_closed_at_once(self):
        held = [half_header(self.port) for _ in range(pending.PER_SOURCE)]
        self.flood.extend(held)
        wait_until(lambda: self.server._gate.admission.pending == pending.PER_SOURCE, what="the flood to be held")
        extra = half_header(self.port)
        self.flood.append(extra)
        self.assertTrue(closed_by_server(extra))
        self.assertFalse(closed_by_server(held[0], within=0.2))
        # another address is not affected
        other = self.connect()
        self.assertTrue(other.authenticate(SECRET)["success"])

    def test_authenticating_gives_the_place_back(self):
        for _ in range(3):
            self.assertTrue(self.connect().authenticate(SECRET)["success"])
        wait_until(lambda: self.server._gate.admission.pending == 0, what="places to be given back")
        for _ in range(pending.PER_SOURCE + 2):
            self.assertTrue(self.attached_or_listed())

    def attached_or_listed(self):
        client = self.connect()
        ok = client.authenticate(SECRET)["success"] and client.request("longreach/processInfo")["success"]
        client.request("disconnect")
        client.expect_closed()
        return ok


class PendingLimits(ServerTestCase):
    server_options = {"auth_timeout": 0.5}

    def test_deadline_applies_at_the_gate(self):
        client = self.connect()
        client.send_raw(b"Content-Length: 10\r\n")
        messages = client.expect_closed()
        self.assertEqual([m["body"]["code"] for m in messages], ["LR_TIMEOUT"])
        wait_until(lambda: self.server._gate.admission.pending == 0, what="the place to be given back")

    def test_too_many_requests_before_authenticating(self):
        client = self.connect()
        for _ in range(16):
            self.assertEqual(error_code(client.request("threads")), "LR_AUTH_REQUIRED")
        client.send({"seq": 99, "type": "request", "command": "threads"})
        messages = client.expect_closed()
        self.assertEqual([m.get("body", {}).get("code") for m in messages], ["LR_BAD_REQUEST"])
        self.assertIn("before authenticating", messages[0]["body"]["message"])

    def test_attach_with_secret_is_handled_on_a_thread(self):
        client = self.connect()
        client.initialize()
        response = client.request("attach", {"secret": SECRET})
        self.assertEqual(error_code(response), "LR_INSECURE_SECRET")  # plain TCP: refused, but answered
        client.expect_closed()
        self.assertEqual(FakeSession.instances, [])


class AdmissionPolicy(unittest.TestCase):
    def test_per_source_and_release(self):
        admission = Admission(per_source=2, start=10, full=20)
        self.assertTrue(admission.admit("a"))
        self.assertTrue(admission.admit("a"))
        self.assertFalse(admission.admit("a"))
        self.assertTrue(admission.admit("b"))
        admission.release("a")
        self.assertTrue(admission.admit("a"))
        admission.release("nobody")  # unknown addresses are ignored
        self.assertEqual(admission.pending, 3)

    def test_random_early_drop_between_start_and_full(self):
        admission = Admission(per_source=1000, start=10, rate=0.3, full=20, rng=random.Random(7))
        admitted = sum(admission.admit("ip%d" % i) for i in range(10))
        self.assertEqual(admitted, 10)  # below start: everyone
        tries = 0
        while admission.pending < 20 and tries < 10000:
            tries += 1
            admission.admit("x%d" % tries)
        self.assertEqual(admission.pending, 20)
        self.assertGreater(tries, 10)  # some were dropped on the way
        self.assertFalse(any(admission.admit("y%d" % i) for i in range(100)))  # full: nobody


class GateThreadOnlyWhenNeeded(ServerTestCase):
    def test_no_gate_thread_before_the_first_connection(self):
        self.assertIsNone(self.server._gate._thread)
        client = Client(self.port)
        self.addCleanup(client.close)
        client.initialize()
        self.assertIsNotNone(self.server._gate._thread)
        self.server.close()
        wait_until(lambda: not self.server._gate._thread.is_alive(), what="the gate thread to end")


if __name__ == "__main__":
    unittest.main()
