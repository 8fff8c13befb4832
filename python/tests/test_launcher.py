"""python -m longreach: runs script / -m module / -c code exactly as python would; refuses bad options."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from .support import Client, error_code
from .support.child import Child, child_env

SCRIPT = """\
import sys
print(__name__, __file__, sys.argv, sys.path[0], __package__, getattr(__spec__, "name", None),
      sys.modules["__main__"] is sys.modules[__name__])
print(sorted(k for k in globals() if k.startswith("__")))
def fail():
    raise ValueError("boom \u00e9")
if "fail" in sys.argv:
    fail()
sys.exit(int(sys.argv[-1]) if sys.argv[-1].isdigit() else 0)
"""


def launcher(*args):
    return [sys.executable, "-m", "longreach", "--listen", "127.0.0.1:0", "--no-secret"] + list(args)


class LauncherTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="longreach-launch-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.makedirs(os.path.join(self.dir, "app", "pkg"))
        self.write("app/prog.py", SCRIPT)
        self.write("app/pkg/__init__.py", "")
        self.write("app/pkg/tool.py", SCRIPT)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def run_(self, command, env=None):
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.dir,
                              env=child_env(env), timeout=60)
        return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")

    def assertSameAsPython(self, *args):
        plain = self.run_([sys.executable] + list(args))
        launched = self.run_(launcher(*args))
        self.assertEqual(launched, plain)
        return plain


class RunsLikePython(LauncherTestCase):
    def test_script(self):
        rc, out, err = self.assertSameAsPython("app/prog.py", "a b", "4")
        self.assertEqual(rc, 4)
        self.assertIn("__main__ ", out)
        self.assertIn("['app/prog.py', 'a b', '4']", out)

    def test_script_uncaught_exception(self):
        rc, out, err = self.assertSameAsPython("app/prog.py", "fail")
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith("Traceback (most recent call last):\n"), err)
        self.assertNotIn("__main__.py", err)
        self.assertNotIn("runpy", err)
        self.assertIn("ValueError: boom \u00e9", err)

    def test_module(self):
        rc, out, err = self.assertSameAsPython("-m", "app.pkg.tool", "x", "6")
        self.assertEqual(rc, 6)
        self.assertIn("app.pkg.tool", out)

    def test_module_run_from_app_dir_and_exception(self):
        plain = self.run_([sys.executable, "-m", "app.prog", "fail"])
        launched = self.run_(launcher("-m", "app.prog", "fail"))
        self.assertEqual(launched, plain)
        self.assertEqual(plain[0], 1)
        self.assertNotIn("longreach/__main__.py", launched[2])

    def test_code(self):
        code = "import sys; print(__name__, sys.argv, repr(sys.path[0]), sorted(globals())); sys.exit(9)"
        rc, out, err = self.assertSameAsPython("-c", code, "arg")
        self.assertEqual(rc, 9)
        self.assertIn("['-c', 'arg']", out)

    def test_code_exception_and_system_exit_message(self):
        self.assertSameAsPython("-c", "1/0")
        rc, out, err = self.assertSameAsPython("-c", "raise SystemExit('bye')")
        self.assertEqual((rc, err), (1, "bye\n"))

    def test_missing_script_and_module(self):
        rc, out, err = self.run_(launcher("nope.py"))
        self.assertEqual(rc, 2)
        self.assertIn("can't open file", err)
        rc, out, err = self.run_(launcher("-m", "no_such_module_here"))
        self.assertEqual(rc, 1)
        self.assertIn("No module named no_such_module_here", err)


class UsageErrors(LauncherTestCase):
    def usage_error(self, *args, **kw):
        rc, out, err = self.run_([sys.executable, "-m", "longreach"] + list(args), env=kw.get("env"))
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertTrue(err.startswith("usage: python -m longreach"), err)
        return err.splitlines()[-1]

    def test_secret_on_command_line_refused(self):
        for form in (["--secret", "hunter2"], ["--secret=hunter2"]):
            line = self.usage_error("--listen", "0", *(form + ["app/prog.py"]))
            self.assertIn("there is no --secret option", line)
            self.assertIn("--secret-env VAR or --secret-file FILE", line)
            self.assertNotIn("hunter2", line)

    def test_errors(self):
        cases = [
            ([], "--listen [HOST:]PORT is required"),
            (["--listen", "0", "app/prog.py"], "choose how to get the secret"),
            (["--listen", "0", "--no-secret"], "missing the program to run"),
            (["--listen", "abc", "--no-secret", "x.py"], "expected [HOST:]PORT"),
            (["--listen", "::1:5", "--no-secret", "x.py"], "[ADDR]:PORT"),
            (["--listen", "99999", "--no-secret", "x.py"], "expected [HOST:]PORT"),
            (["--listen", "0", "--no-secret", "--secret-env", "X", "x.py"], "only one of"),
            (["--listen", "0", "--secret-env", "LONGREACH_TEST_UNSET", "x.py"], "not set or empty"),
            (["--listen", "0", "--secret-file", "/nonexistent/secret", "x.py"], "cannot read it"),
            (["--listen", "0", "--no-secret", "--certfile", "c.pem", "x.py"], "--certfile and --keyfile go together"),
            (["--listen", "0", "--no-secret", "--bogus", "x.py"], "unknown option --bogus"),
            (["--listen", "0", "--no-secret", "-m"], "-m needs a module name"),
            (["--listen", "0", "--no-secret", "-c"], "-c needs a code string"),
            (["--listen"], "--listen needs a value"),
        ]
        for args, expected in cases:
            with self.subTest(args=args):
                self.assertIn(expected, self.usage_error(*args))

    def test_empty_secret_file(self):
        path = self.write("empty", "\n")
        self.assertIn("the file is empty", self.usage_error("--listen", "0", "--secret-file", path, "x.py"))

    def test_enable_errors(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        rc, out, err = self.run_([sys.executable, "-m", "longreach", "--listen",
                                  "127.0.0.1:%d" % busy.getsockname()[1], "--no-secret", "app/prog.py"])
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("LR_ADDRESS_IN_USE", err)
        rc, out, err = self.run_(launcher("--certfile", "missing.pem", "--keyfile", "missing.key", "app/prog.py"))
        self.assertEqual(rc, 2)
        self.assertIn("LR_CERT", err)

    def test_help(self):
        rc, out, err = self.run_([sys.executable, "-m", "longreach", "--help"])
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("--secret-file FILE", out)


class Secrets(LauncherTestCase):
    PROGRAM = """\
import sys
from longreach import api
print(api._server.address[1], flush=True)
sys.stdin.readline()
"""

    def attach_with(self, secret_args, secret, env=None):
        path = self.write("serve.py", self.PROGRAM)
        child = Child("", argv=[sys.executable, "-m", "longreach", "--listen", "127.0.0.1:0"] + secret_args + [path],
                      env=env, cwd=self.dir)
        port = int(child.line())
        client = Client(port)
        self.addCleanup(client.close)
        reply = client.authenticate(secret)
        self.assertTrue(reply["success"], reply)
        with open("/proc/%d/cmdline" % child.proc.pid, "rb") if os.path.exists("/proc") else _Empty() as f:
            self.assertNotIn(secret.encode("utf-8"), f.read())
        child.send("")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")

    def test_secret_file(self):
        path = self.write("secret.txt", "from-a-file \u00e9\n")
        self.attach_with(["--secret-file", path], "from-a-file \u00e9")

    def test_secret_env(self):
        self.attach_with(["--secret-env", "MY_SECRET"], "from-env", env={"MY_SECRET": "from-env"})

    def test_wrong_secret(self):
        path = self.write("serve.py", self.PROGRAM)
        child = Child("", argv=[sys.executable, "-m", "longreach", "--listen", "127.0.0.1:0", "--secret-env", "S",
                                path], env={"S": "right"}, cwd=self.dir)
        port = int(child.line())
        client = Client(port)
        self.addCleanup(client.close)
        self.assertEqual(error_code(client.authenticate("wrong")), "LR_AUTH_FAILED")
        child.send("")
        self.assertEqual(child.wait(), 0)

    def test_no_secret_warning_off_loopback(self):
        path = self.write("quiet.py", "print('hi')\n")
        rc, out, err = self.run_([sys.executable, "-m", "longreach", "--listen", "0", "--no-secret", path])
        self.assertEqual((rc, out), (0, "hi\n"))
        self.assertRegex(err, r"^longreach: WARNING: debug server on 0\.0\.0\.0:\d+ accepts anyone without a secret; "
                              r"anyone who can reach this port can run code in this process\n$")


class Wait(LauncherTestCase):
    def test_wait_holds_the_program_until_configured(self):
        path = self.write("waited.py", textwrap.dedent("""\
            import longreach
            from longreach import api
            print("running", longreach.is_attached(), api._server.wait_configured(0), flush=True)
            """))
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        child = Child("", argv=[sys.executable, "-m", "longreach", "--listen", "127.0.0.1:%d" % port, "--no-secret",
                                "--wait", path], cwd=self.dir)
        client = None
        for _ in range(500):
            try:
                client = Client(port, timeout=20)
                break
            except OSError:
                time.sleep(0.02)
        self.assertIsNotNone(client, "the launcher never listened")
        self.addCleanup(client.close)
        client.initialize()
        self.assertTrue(client.request("attach", {})["success"], "attach failed")
        self.assertTrue(client.request("configurationDone")["success"])
        self.assertEqual(child.line(), "running True True")
        client.expect_closed()  # the program ended: the connection closes
        self.assertEqual(child.wait(), 0)


class _Empty(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return b""


if __name__ == "__main__":
    unittest.main()
