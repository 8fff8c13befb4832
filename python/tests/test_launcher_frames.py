"""A program started by the launcher looks like itself: the stack ends at its <module> (no launcher or runpy frames)
and the process event / processInfo describe the program, not longreach/__main__.py."""

import os
import shutil
import sys
import tempfile
import unittest

from .support.child import Child
from .test_exit_attached import _connect, _free_port

PROGRAM = """\
def inner():
    value = 1
    return value


inner()
"""


class LauncherLooksLikeTheProgram(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lr-frames-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.makedirs(os.path.join(self.dir, "pkg"))
        for name in ("prog.py", os.path.join("pkg", "tool.py")):
            with open(os.path.join(self.dir, name), "w", encoding="utf-8") as f:
                f.write(PROGRAM)
        with open(os.path.join(self.dir, "pkg", "__init__.py"), "w", encoding="utf-8") as f:
            f.write("")

    def stop_in_inner(self, program, breakpoint_file):
        port = _free_port()
        child = Child("", argv=[sys.executable, "-m", "longreach", "--listen", "127.0.0.1:%d" % port, "--no-secret",
                                "--wait"] + program, cwd=self.dir)
        self.addCleanup(child.kill)
        client = _connect(port)
        self.addCleanup(client.close)
        client.initialize()
        info = client.request("longreach/processInfo")["body"]
        self.assertTrue(client.request("attach", {})["success"])
        process = client.event("process")["body"]
        path = os.path.join(self.dir, breakpoint_file)
        reply = client.request("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": 2}]})
        self.assertTrue(reply["body"]["breakpoints"][0]["verified"], reply)
        self.assertTrue(client.request("configurationDone")["success"])
        stopped = client.event("stopped")["body"]
        trace = client.request("stackTrace", {"threadId": stopped["threadId"]})["body"]
        names = [frame["name"] for frame in trace["stackFrames"]]
        self.assertTrue(client.request("continue", {"threadId": stopped["threadId"]})["success"])
        client.expect_closed()
        self.assertEqual(child.wait(), 0, child.stderr())
        return names, trace["totalFrames"], info["argv"], process["name"]

    def test_script(self):
        names, total, argv, name = self.stop_in_inner(["prog.py", "a1"], "prog.py")
        self.assertEqual(names, ["inner", "<module>"])
        self.assertEqual(total, 2)
        self.assertEqual(argv, ["prog.py", "a1"])
        self.assertEqual(name, "prog.py")

    def test_module(self):
        names, total, argv, name = self.stop_in_inner(["-m", "pkg.tool", "a1"], os.path.join("pkg", "tool.py"))
        self.assertEqual(names, ["inner", "<module>"])
        self.assertEqual(total, 2)
        self.assertEqual(argv, ["-m", "pkg.tool", "a1"])
        self.assertEqual(name, "-m pkg.tool")


if __name__ == "__main__":
    unittest.main()
