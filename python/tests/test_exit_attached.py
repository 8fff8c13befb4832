"""The program ending while a debugger is attached: the client gets `exited` (with the real status when the agent
can know it) then `terminated` before the connection closes; the exit neither hangs nor prints anything."""

import os
import shutil
import socket
import sys
import tempfile
import textwrap
import time
import unittest

from .support import Client
from .support.child import Child


def _free_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _connect(port):
    for _ in range(1000):
        try:
            return Client(port, timeout=20)
        except OSError:
            time.sleep(0.02)
    raise AssertionError("the program never listened on %d" % port)


class ExitWhileAttached(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lr-exit-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def check(self, source, launcher_args, want_code, want_status=None, stderr_has=None):
        path = os.path.join(self.dir, "prog.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))
        port = _free_port()
        if launcher_args is None:
            argv = [sys.executable, path, str(port)]
        else:
            argv = [sys.executable, "-m", "longreach", "--listen", "127.0.0.1:%d" % port, "--no-secret",
                    "--wait", path] + launcher_args
        child = Child("", argv=argv, cwd=self.dir)
        self.addCleanup(child.kill)
        client = _connect(port)
        self.addCleanup(client.close)
        client.initialize()
        self.assertTrue(client.request("attach", {"redirectOutput": False})["success"])
        self.assertTrue(client.request("setExceptionBreakpoints", {"filters": []})["success"])
        self.assertTrue(client.request("configurationDone")["success"])
        seen = [m for m in client.expect_closed() if m.get("type") == "event"]
        names = [m["event"] for m in seen if m["event"] in ("exited", "terminated")]
        self.assertEqual(names, ["exited", "terminated"], [m["event"] for m in seen])
        exited = [m for m in seen if m["event"] == "exited"][0]
        self.assertEqual(exited["body"], {"exitCode": want_code})
        status = child.wait()
        self.assertEqual(status, want_code if want_status is None else want_status)
        err = child.stderr()
        if stderr_has is None:
            self.assertEqual(err, "")
        else:
            self.assertIn(stderr_has, err)
            self.assertNotIn("longreach", err)
        self.assertEqual(child.rest_of_stdout(), "done\n")

    def test_launcher_normal_end(self):
        self.check("print('done')\n", [], 0)

    def test_launcher_sys_exit(self):
        self.check("import sys\nprint('done')\nsys.exit(int(sys.argv[1]))\n", ["3"], 3)

    def test_launcher_sys_exit_message(self):
        self.check("import sys\nprint('done')\nsys.exit('bye')\n", [], 1, stderr_has="bye")

    def test_launcher_uncaught_exception(self):
        self.check("print('done')\nraise ValueError('boom')\n", [], 1, stderr_has="ValueError: boom")

    def test_enable_attach_uncaught_exception(self):
        self.check("""\
            import sys
            import longreach
            longreach.enable_attach(None, address=("127.0.0.1", int(sys.argv[1])))
            longreach.wait_for_attach()
            print('done')
            raise ValueError('boom')
            """, None, 1, stderr_has="ValueError: boom")

    def test_enable_attach_normal_end(self):
        self.check("""\
            import sys
            import longreach
            longreach.enable_attach(None, address=("127.0.0.1", int(sys.argv[1])))
            longreach.wait_for_attach()
            print('done')
            """, None, 0)


if __name__ == "__main__":
    unittest.main()
