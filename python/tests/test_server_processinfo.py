import json
import os
import platform
import sys
import unittest

from longreach import processinfo


class ProcessInfo(unittest.TestCase):
    def test_fields(self):
        info = processinfo.process_info()
        self.assertEqual(info["pid"], os.getpid())
        self.assertEqual(info["argv"], sys.argv)
        self.assertEqual(info["protocol"], 1)
        self.assertEqual(info["agent"], "longreach-python")
        self.assertIsNone(info["attached"])
        self.assertEqual(json.loads(json.dumps(info)), info)
        for key in ("pid", "executable", "argv", "cwd", "runtime", "runtimeVersion", "runtimeDisplay", "os",
                    "arch", "hostname", "user", "agent", "agentVersion", "protocol", "attached"):
            self.assertIn(key, info)
        attached = {"address": "10.0.0.9:53122", "since": "2026-11-24T10:15:02Z"}
        self.assertEqual(processinfo.process_info(attached)["attached"], attached)

    def test_runtime_display(self):
        name, version, display = processinfo.runtime()
        self.assertEqual(name, platform.python_implementation())
        if name == "PyPy":
            pypy = sys.pypy_version_info
            self.assertTrue(version.startswith("%d.%d.%d" % pypy[:3]))
            self.assertEqual(display, "PyPy %s (Python %s)" % (version, platform.python_version()))
        else:
            self.assertEqual(version, platform.python_version())
            self.assertEqual(display, "CPython " + version)

    def test_node_vocabulary(self):
        self.assertEqual(processinfo.node_os("linux"), "linux")
        self.assertEqual(processinfo.node_os("darwin"), "darwin")
        self.assertEqual(processinfo.node_os("win32"), "win32")
        self.assertEqual(processinfo.node_os("freebsd13"), "freebsd")
        self.assertEqual(processinfo.node_arch("x86_64", 64), "x64")
        self.assertEqual(processinfo.node_arch("AMD64", 64), "x64")
        self.assertEqual(processinfo.node_arch("AMD64", 32), "ia32")
        self.assertEqual(processinfo.node_arch("i686", 32), "ia32")
        self.assertEqual(processinfo.node_arch("aarch64", 64), "arm64")
        self.assertEqual(processinfo.node_arch("arm64", 64), "arm64")
        self.assertEqual(processinfo.node_arch("armv7l", 32), "arm")
        self.assertEqual(processinfo.node_arch("ppc64le", 64), "ppc64")
        self.assertIn(processinfo.node_os(), ("linux", "darwin", "win32", "freebsd", "openbsd", "sunos", "aix"))
