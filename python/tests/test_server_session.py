"""The server with the real longreach.session, end to end in a child process: attach, break, inspect, detach."""

import os
import shutil
import sys
import tempfile
import unittest

from .support import Client, error_code
from .support.child import Child

PROGRAM = """\
import sys, threading
import longreach
host, port = longreach.enable_attach("s3cret", ("127.0.0.1", 0))
print(port, flush=True)
def work(n):
    total = n * 2  # line 6: breakpoint
    return total
print("configured", longreach.wait_for_attach(30), flush=True)
# A thread started after attach: every runtime traces it (PyPy cannot reach an already-running main thread).
worker = threading.Thread(target=lambda: print("result", work(21), flush=True))
worker.start()
worker.join()
sys.stdin.readline()
print("attached", longreach.is_attached(), flush=True)
"""


class RealSession(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="longreach-session-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "prog.py")
        with open(self.path, "w") as f:
            f.write(PROGRAM)

    def test_attach_break_continue_detach(self):
        child = Child("", argv=[sys.executable, self.path], cwd=self.dir)
        self.addCleanup(child.kill)
        port = int(child.line())
        client = Client(port, timeout=20)
        self.addCleanup(client.close)
        init = client.authenticate("s3cret")
        self.assertTrue(init["success"], init)
        response = client.request("attach", {"redirectOutput": False})
        self.assertTrue(response["success"], response)
        client.event("initialized")
        bps = client.request("setBreakpoints", {"source": {"path": self.path}, "breakpoints": [{"line": 6}]})
        self.assertTrue(bps["success"], bps)
        self.assertTrue(client.request("configurationDone")["success"])
        self.assertEqual(child.line(), "configured True")
        stopped = client.event("stopped")
        self.assertEqual(stopped["body"]["reason"], "breakpoint")
        trace = client.request("stackTrace", {"threadId": stopped["body"]["threadId"]})
        self.assertTrue(trace["success"], trace)
        top = trace["body"]["stackFrames"][0]
        self.assertEqual((top["name"], top["line"]), ("work", 6))
        second = Client(port, timeout=20)
        self.addCleanup(second.close)
        second.authenticate("s3cret")
        busy = second.request("attach", {})
        self.assertEqual(error_code(busy), "LR_ALREADY_ATTACHED")
        info = second.request("longreach/processInfo")
        self.assertEqual(info["body"]["pid"], child.proc.pid)
        self.assertIsNotNone(info["body"]["attached"])
        self.assertTrue(client.request("continue", {"threadId": stopped["body"]["threadId"]})["success"])
        self.assertEqual(child.line(), "result 42")
        self.assertTrue(client.request("disconnect")["success"])
        client.expect_closed()
        child.send("")
        self.assertEqual(child.line(), "attached False")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")

    def test_detach_while_stopped_resumes_program(self):
        child = Child("", argv=[sys.executable, self.path], cwd=self.dir)
        self.addCleanup(child.kill)
        client = Client(int(child.line()), timeout=20)
        self.addCleanup(client.close)
        client.authenticate("s3cret")
        client.request("attach", {})
        client.request("setBreakpoints", {"source": {"path": self.path}, "breakpoints": [{"line": 6}]})
        client.request("configurationDone")
        client.event("stopped")
        client.close()  # connection lost while the program is stopped
        self.assertEqual(child.line(), "configured True")
        self.assertEqual(child.line(), "result 42")
        child.send("")
        self.assertEqual(child.line(), "attached False")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")

    def test_program_ends_while_attached(self):
        path = os.path.join(self.dir, "short.py")
        with open(path, "w") as f:
            f.write("import longreach\nlongreach.enable_attach('s3cret', ('127.0.0.1', 0))\n"
                    "from longreach import api\nprint(api._server.address[1], flush=True)\n"
                    "print('configured', longreach.wait_for_attach(30), flush=True)\n"
                    "print('bye', flush=True)\nraise SystemExit(5)\n")
        child = Child("", argv=[sys.executable, path], cwd=self.dir)
        self.addCleanup(child.kill)
        client = Client(int(child.line()), timeout=20)
        self.addCleanup(client.close)
        client.authenticate("s3cret")
        self.assertTrue(client.request("attach", {"redirectOutput": True})["success"])
        self.assertTrue(client.request("configurationDone")["success"])
        self.assertEqual(child.line(), "configured True")
        self.assertEqual(child.line(), "bye")
        self.assertEqual(child.wait(), 5)
        self.assertEqual(child.stderr(), "")
        client.expect_closed()

    def test_the_debugging_half_loads_at_the_first_attach(self):
        # A program nobody debugs carries neither the session nor OpenSSL (hashlib, hmac, ssl) nor tempfile: every
        # process it forks would copy them. initialize still offers every capability; the first attach loads them.
        path = os.path.join(self.dir, "lazy.py")
        with open(path, "w") as f:
            f.write("import sys\n"
                    "HEAVY = ('longreach.session.core', 'longreach.tracer', 'ssl', 'hashlib', 'hmac', 'tempfile',"
                    " 'shutil')\n"
                    "def loaded():\n"
                    "    return ' '.join(m for m in HEAVY if m in sys.modules) or '-'\n"
                    "before = loaded()\n"
                    "import longreach\n"
                    "host, port = longreach.enable_attach('s3cret', ('127.0.0.1', 0))\n"
                    "print(port, before, flush=True)\n"
                    "print('listening', loaded(), flush=True)\n"
                    "sys.stdin.readline()\n"
                    "print('attached', loaded(), flush=True)\n")
        child = Child("", argv=[sys.executable, path], cwd=self.dir)
        self.addCleanup(child.kill)
        port, before = child.line().split(" ", 1)
        self.assertEqual(child.line(), "listening " + before)
        client = Client(int(port), timeout=20)
        self.addCleanup(client.close)
        init = client.initialize()
        self.assertTrue(client.authenticate("s3cret", init)["success"])
        self.assertEqual([f["filter"] for f in init["body"]["exceptionBreakpointFilters"]],
                         ["raised", "uncaught", "userUnhandled"])
        self.assertTrue(client.request("attach", {})["success"])
        self.assertTrue(client.request("configurationDone")["success"])
        child.send("")
        self.assertIn("longreach.session.core", child.line().split())
        self.assertTrue(client.request("disconnect")["success"])
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")


if __name__ == "__main__":
    unittest.main()
