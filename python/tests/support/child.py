"""Run a Python child process (the interpreter running the tests) and talk to it line by line, with bounded waits."""

import os
import queue
import subprocess
import sys
import textwrap
import threading

from . import PYTHON_DIR

FAKE_SESSION_PRELUDE = """
import sys
import tests.support.fake_session as _fake
sys.modules["longreach.session"] = _fake
"""


def child_env(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHON_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("LONGREACH_LOG", None)
    env.pop("LONGREACH_LOG_FILE", None)
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


class Child(object):
    def __init__(self, source, args=(), env=None, fake_session=False, cwd=None, argv=None):
        code = textwrap.dedent(source)
        if fake_session:
            code = FAKE_SESSION_PRELUDE + code
        command = argv if argv is not None else [sys.executable, "-c", code] + list(args)
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=child_env(env), cwd=cwd or PYTHON_DIR,
                                     start_new_session=True)  # kill() ends grandchildren too (their own group)
        self._lines = queue.Queue()
        self._stderr = []
        self._out_thread = threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines.put))
        self._err_thread = threading.Thread(target=self._pump, args=(self.proc.stderr, self._stderr.append))
        for thread in (self._out_thread, self._err_thread):
            thread.daemon = True
            thread.start()
        self.stdout_lines = []

    @staticmethod
    def _pump(stream, sink):
        for line in iter(stream.readline, b""):
            sink(line.decode("utf-8", "replace"))
        sink(None)

    def line(self, timeout=20.0):
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise AssertionError("child printed nothing within %.0f s; stderr: %s" % (timeout, self.stderr()))
        if line is None:
            raise AssertionError("child ended early (rc=%s); stderr: %s" % (self.proc.wait(), self.stderr()))
        self.stdout_lines.append(line)
        return line.rstrip("\n")

    def send(self, text):
        self.proc.stdin.write((text + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def wait(self, timeout=30.0):
        """Exit code; fails the test (and kills the child) when it does not end in time."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("child did not exit within %.0f s; stderr: %s" % (timeout, self.stderr()))
        self._out_thread.join(5)
        self._err_thread.join(5)
        self._close_pipes()
        return rc

    def _close_pipes(self):
        # A pump still reading holds its stream's lock: closing would wait for a reader that an orphaned grandchild
        # (holding the pipe's other end) may never let go. Those streams are left to the daemon pumps.
        pumps = {id(self.proc.stdout): self._out_thread, id(self.proc.stderr): self._err_thread}
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            pump = pumps.get(id(stream))
            if pump is not None and pump.is_alive():
                continue
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def rest_of_stdout(self):
        """Everything the child printed after the lines already read (call after wait())."""
        lines = []
        while True:
            try:
                line = self._lines.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                break
            lines.append(line)
        return "".join(lines)

    def stderr(self):
        return "".join(part for part in self._stderr if part)

    def kill(self):
        try:
            os.killpg(self.proc.pid, 9)  # the child and whatever it started that is still in its group
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._out_thread.join(2)
        self._err_thread.join(2)
        self._close_pipes()
