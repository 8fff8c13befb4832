"""python -m longreach --pid: loading the agent into a running process, and every preflight error this machine can
produce. Real target processes started without the agent; the injector is run as a child, as a user would."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from tests.support import PYTHON_DIR
from tests.support.child import child_env

REPO = os.path.dirname(PYTHON_DIR)
FIXTURES = os.path.join(REPO, "test", "fixtures", "inject")
SECRET = {"LR_INJECT_SECRET": "inject-secret"}
PYPY = hasattr(sys, "pypy_version_info")
# Any Python runs the injector; the targets are CPython (under PyPy, the system's python3).
TARGET_PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin") if PYPY else sys.executable


def start(script, *args, **kw):
    proc = subprocess.Popen((kw.get("argv") or [TARGET_PYTHON, os.path.join(FIXTURES, script)]) + list(args),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=child_env(), universal_newlines=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError("the target did not start: %r %r" % (line, proc.stderr.read()))
    return proc


def inject(pid, *extra, **kw):
    argv = kw.get("prefix", []) + [kw.get("python", sys.executable), "-m", "longreach", "--pid", str(pid),
                                   "--listen", "127.0.0.1:0", "--secret-env", "LR_INJECT_SECRET"] + list(extra)
    env = child_env(SECRET)
    env.update(kw.get("env", {}))
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60,
                          universal_newlines=True)
    return done.returncode, done.stdout, done.stderr


def listening_port(out):
    return int(out.split("listening on 127.0.0.1:")[1].split()[0])


class Inject(unittest.TestCase):
    def setUp(self):
        self.procs = []

    def tearDown(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream:
                    stream.close()

    def target(self, *args, **kw):
        proc = start(*args, **kw)
        self.procs.append(proc)
        return proc

    def test_pypy_gets_a_clear_error(self):
        proc = self.target("busy.py", "30", argv=[shutil.which("pypy3") or "pypy3", os.path.join(FIXTURES, "busy.py")])
        code, out, err = inject(proc.pid)
        self.assertEqual(code, 1, out)
        self.assertIn("[LR_INJECT_UNSUPPORTED]", err)
        self.assertIn("PyPy has no way to load code into a running process", err)
        self.assertIn("pypy3 -m longreach --listen", err)
        self.assertIsNone(proc.poll())

    def test_loads_the_agent_which_answers_and_a_second_load_names_its_address(self):
        proc = self.target("busy.py", "30")
        code, out, err = inject(proc.pid)
        self.assertEqual((code, err), (0, ""), out)
        port = listening_port(out)
        self.assertIn("attach with: longreach attach tcp://127.0.0.1:%d --secret-env LR_INJECT_SECRET" % port, out)
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        code, out, err = inject(proc.pid)
        self.assertEqual(code, 1)
        self.assertIn("[LR_ALREADY_ENABLED]", err)
        self.assertIn("listening on 127.0.0.1:%d" % port, err)
        self.assertIn("nothing was changed", err)
        self.assertNotIn("inject-secret", out + err)

    def test_needs_no_gdb_nor_any_other_tool_on_path(self):
        # the loader is our own ptrace code (docs/inject.md says why not gdb): an empty PATH changes nothing
        proc = self.target("busy.py", "30")
        code, out, err = inject(proc.pid, env={"PATH": "/nonexistent"})
        self.assertEqual((code, err), (0, ""), out)
        self.assertIn("agent started in process %d" % proc.pid, out)

    def test_the_secret_is_not_on_the_command_line_nor_left_on_disk(self):
        proc = self.target("busy.py", "30")
        # a folder of this test's own: the other interpreters' suites inject at the same time in the shared /tmp
        tmp = tempfile.mkdtemp(prefix="lr-inject-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        code, out, err = inject(proc.pid, env={"TMPDIR": tmp})
        self.assertEqual(code, 0, err)
        with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
            self.assertNotIn(b"inject-secret", f.read())
        with open("/proc/%d/environ" % proc.pid, "rb") as f:
            self.assertNotIn(b"inject-secret", f.read())
        self.assertEqual(os.listdir(tmp), [])

    def test_a_target_blocked_in_input_times_out_and_stays_untouched(self):
        proc = self.target("blocked.py", "input")
        started = time.monotonic()
        # 3 s: on a loaded CI machine (interpreters' suites side by side) stopping the main thread once took longer
        # than a 1 s timeout ("thread did not stop in time"), before the input() it is blocked in was reached
        code, out, err = inject(proc.pid, "--timeout", "3")
        self.assertEqual(code, 1, out)
        self.assertIn("[LR_TIMEOUT]", err)
        self.assertIn("did not run Python code in its main thread within 3 s", err)
        self.assertIn("Nothing was changed", err)
        self.assertLess(time.monotonic() - started, 20)
        # the main thread runs Python again: the queued loader finds its parameters withdrawn and does nothing
        out, err = proc.communicate("hello\n", timeout=20)
        self.assertEqual(proc.returncode, 5, err)
        self.assertEqual(out, "got hello; longreach loaded: False\n")
        self.assertEqual(err, "")

    def test_a_target_in_a_long_sleep_times_out_and_finishes_as_before(self):
        # long enough for the injector to start and wait its 1 s on a loaded machine (PyPy's suite starts a
        # CPython target; with 3 s, CI once saw the target already gone when the injector looked)
        proc = self.target("blocked.py", "sleep", "8")
        code, out, err = inject(proc.pid, "--timeout", "1")
        self.assertIn("[LR_TIMEOUT]", err)
        out, err = proc.communicate(timeout=20)
        self.assertEqual((proc.returncode, out, err), (5, "got slept; longreach loaded: False\n", ""))

    def test_not_a_python_process(self):
        proc = self.target(None, argv=["sh", "-c", "echo ready; exec sleep 30"])
        code, out, err = inject(proc.pid)
        self.assertEqual(code, 1)
        self.assertIn("[LR_INJECT_UNSUPPORTED]", err)
        self.assertIn("is not a Python interpreter (its program is %s)" % os.path.realpath(shutil.which("sleep")),
                      err)
        self.assertIsNone(proc.poll())

    def test_no_such_process(self):
        code, out, err = inject(2 ** 22 + 12345)
        self.assertEqual(code, 1)
        self.assertIn("[LR_BAD_OPTION]", err)
        self.assertIn("there is no such process", err)

    def test_another_user(self):
        if os.geteuid() == 0:
            # the injector runs as nobody; the target is ours (root)
            proc = self.target("busy.py", "30")
            pid, prefix, python = proc.pid, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], \
                shutil.which("python3", path="/usr/bin:/usr/local/bin")
        else:
            pid, prefix, python = 1, [], sys.executable
        code, out, err = inject(pid, prefix=prefix, python=python)
        self.assertEqual(code, 1, out)
        self.assertIn("[LR_INJECT_REFUSED]", err)
        self.assertIn("only the same user or root may load code into it: run `sudo -u root", err)

    # Only root can drop its own CAP_SYS_PTRACE (setpriv); for other users test_another_user covers the refusal.
    if os.geteuid() == 0:
        def test_root_without_cap_sys_ptrace_gets_the_container_line(self):
            self._no_cap()

    def _no_cap(self):
        proc = self.target(None, argv=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                       shutil.which("python3", path="/usr/bin:/usr/local/bin"), os.path.join(FIXTURES, "busy.py"), "30"])
        code, out, err = inject(proc.pid, prefix=["setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace"])
        self.assertEqual(code, 1, out)
        self.assertIn("[LR_INJECT_REFUSED]", err)
        self.assertIn("lacks CAP_SYS_PTRACE", err)
        self.assertIn("--cap-add SYS_PTRACE", err)
        self.assertIn("securityContext", err)

    def test_usage_errors(self):
        for args, text in ((["--pid", "x", "--listen", "1"], "expected a process id"),
                           (["--pid", "5", "--secret", "s"], "there is no --secret option"),
                           (["--pid", "5", "--listen", "0", "--no-secret", "--timeout", "0"], "--timeout '0'"),
                           (["--pid", "5", "--listen", "0", "--no-secret", "--connect", "h:1"], "--connect"),
                           (["--pid", "5", "--listen", "0"], "choose how to get the secret")):
            done = subprocess.run([sys.executable, "-m", "longreach"] + args, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=child_env(), universal_newlines=True, timeout=30)
            self.assertEqual(done.returncode, 2, args)
            self.assertIn(text, done.stderr)


if __name__ == "__main__":
    unittest.main()
