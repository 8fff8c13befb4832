"""Helpers for the breakpoint() tests: programs written to a temporary folder (so their lines are known), run as real
child processes, and a DAP client that lists them, attaches and reads where they stopped."""

import os
import shutil
import socket
import sys
import tempfile
import textwrap
import time
import unittest

from .support import Client, wait_until
from .support.child import Child

# Every variable the hook reads, cleared for the child unless a test sets it (the runner's own environment must not
# leak in); an empty value means unset to the agent, and to Python for PYTHONBREAKPOINT.
CLEAN_ENV = dict((name, "") for name in (
    "PYTHONBREAKPOINT", "LONGREACH_LISTEN", "LONGREACH_CONNECT", "LONGREACH_SECRET_FILE", "LONGREACH_SECRET",
    "LONGREACH_NO_SECRET", "LONGREACH_CERTFILE", "LONGREACH_KEYFILE", "LONGREACH_BREAKPOINT_WAIT", "LONGREACH_CA",
    "LONGREACH_FINGERPRINT"))

# The function every program calls; BP_LINE is its breakpoint() line, NEXT_LINE the one after.
MAIN = """\
def main():
    total = 40
    breakpoint()
    total += 2
    print("after %d" % total, flush=True)  # the text in one write: two threads cannot split "after 42"
"""
BP_LINE, NEXT_LINE = 3, 4

PROBE = """\
import socket
def probe(port):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        return "listening"
    except OSError:
        return "nothing"
    finally:
        s.close()
"""


def free_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def held_port(case):
    """A free port kept bound (SO_REUSEADDR, not listening) until the test ends: no other process's port-0 bind nor
    a probe's own connect gets it, so only the program under test can listen there (it binds with SO_REUSEADDR)."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    case.addCleanup(holder.close)
    return holder.getsockname()[1]


def connect(port, tls=None, timeout=20, child=None):
    """A Client once the port listens (bounded)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return Client(port, tls=tls, timeout=timeout)
        except OSError:
            if child is not None and child.proc.poll() is not None:
                raise AssertionError("the program ended (rc=%s) before listening; stderr: %s"
                                     % (child.proc.returncode, child.stderr()))
            if time.monotonic() > deadline:
                raise AssertionError("nothing listened on %d" % port)
            time.sleep(0.02)


class ProgramCase(unittest.TestCase):
    """A temporary folder per test, and programs run from it."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lr-bp-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, source):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))
        return path

    def program(self, tail, name="prog.py"):
        """A program whose first lines are MAIN (so BP_LINE is its breakpoint() line), then `tail`."""
        return self.write(name, MAIN + PROBE + textwrap.dedent(tail))

    def run_program(self, path, env=None, args=()):
        full = dict(CLEAN_ENV)
        full.update(env or {})
        child = Child("", argv=[sys.executable, path] + list(args), env=full, cwd=self.dir)
        self.addCleanup(child.kill)
        return child

    def secret_file(self, text="s3cret-for-tests\n"):
        return self.write("secret.txt", text)

    # ---- DAP ---------------------------------------------------------------------------------------------------
    def info(self, port, secret=None, tls=None):
        with connect(port, tls=tls) as client:
            if secret is None:
                client.initialize()
            else:
                self.assertTrue(client.authenticate(secret)["success"])
            reply = client.request("longreach/processInfo")
            self.assertTrue(reply["success"], reply)
            return reply["body"]

    def wait_listed_waiting(self, port, secret=None, tls=None):
        """processInfo's `waiting` once it is set (bounded)."""
        seen = []

        def waiting():
            seen.append(self.info(port, secret, tls)["waiting"])
            return seen[-1] is not None

        wait_until(waiting, timeout=20, what="the program to be listed as waiting")
        return seen[-1]

    def attach(self, port, secret=None, tls=None):
        """An attached, configured client."""
        client = connect(port, tls=tls)
        self.addCleanup(client.close)
        if secret is None:
            client.initialize()
        else:
            self.assertTrue(client.authenticate(secret)["success"])
        self.assertTrue(client.request("attach", {"redirectOutput": False})["success"])
        self.assertTrue(client.request("configurationDone")["success"])
        return client

    def top_frame(self, client, stopped):
        reply = client.request("stackTrace", {"threadId": stopped["body"]["threadId"], "levels": 1})
        self.assertTrue(reply["success"], reply)
        return reply["body"]["stackFrames"][0]

    def assert_stopped_at(self, client, path, line, reason="pause"):
        stopped = client.event("stopped")
        self.assertEqual(stopped["body"]["reason"], reason)
        frame = self.top_frame(client, stopped)
        self.assertEqual((frame["name"], frame["line"]), ("main", line))
        self.assertEqual(os.path.normcase(os.path.realpath(frame["source"]["path"])),
                         os.path.normcase(os.path.realpath(path)))
        return stopped

    def finish(self, child, stdout_has="after 42", code=0):
        """The program ends by itself with `code`, printing `stdout_has`; returns its stderr."""
        rc = child.wait()
        self.assertIn(stdout_has, "".join(child.stdout_lines) + child.rest_of_stdout())
        self.assertEqual(rc, code, child.stderr())
        return child.stderr()
