"""Drive a DebugSession in-process: a list-collecting `send`, and target code in real threads."""

import itertools
import threading
import time

from tests.tracer_support import line_of, tracee  # noqa: F401  (also puts python/ on sys.path)
from longreach.errors import LongreachError  # noqa: E402
from longreach.session import DebugSession  # noqa: E402
from longreach._threads import AGENT_THREAD_IDS  # noqa: E402

_NAMES = itertools.count()


class Harness(object):
    def __init__(self, attach_args=None, redirect_output=False):
        # the test thread plays the server's reader thread: an agent thread, never traced, never stopped
        self.driver = threading.get_ident()
        AGENT_THREAD_IDS.add(self.driver)
        self.messages = []
        self.cond = threading.Condition()
        self.configured = threading.Event()
        self.seen = 0
        self.session = DebugSession(self.send, "127.0.0.1:40000",
                                    {"on_configured": self.configured.set, "redirect_output": redirect_output,
                                     "is_tls": False})
        self.request("attach", attach_args or {})
        self.session.started()
        self.threads = []

    def send(self, message):
        with self.cond:
            self.messages.append(message)
            self.cond.notify_all()

    def request(self, command, arguments=None):
        return self.session.handle(command, arguments or {})

    def error(self, command, arguments=None):
        try:
            self.session.handle(command, arguments or {})
        except LongreachError as e:
            return e
        raise AssertionError("%s did not fail" % command)

    def events(self, name):
        with self.cond:
            return [m["body"] for m in self.messages if m.get("event") == name]

    def wait_event(self, name, timeout=10.0, pred=None):
        """The next event `name` not returned before (events are consumed in order)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(self.seen, len(self.messages)):
                    m = self.messages[i]
                    if m.get("event") == name and (pred is None or pred(m["body"])):
                        self.seen = i + 1
                        return m["body"]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %s event within %.0f s; got %r" % (
                        name, timeout, [m.get("event") for m in self.messages]))
                self.cond.wait(left)

    def start(self, fn, *args):
        result = {}

        def body():
            result["value"] = fn(*args)
        # names unique in the process: a thread from an earlier test may still be alive (an evaluation that timed
        # out goes on running), and tests pick threads by name
        t = threading.Thread(target=body, name="target-%d" % next(_NAMES))
        t.daemon = True
        t.start()
        self.threads.append(t)
        return t, result

    def set_breakpoints(self, markers, path=None, **extra):
        bps = [dict({"line": line_of(m)}, **extra) for m in markers]
        return self.request("setBreakpoints", {"source": {"path": path or tracee.__file__}, "breakpoints": bps})

    def top(self, thread_id):
        return self.request("stackTrace", {"threadId": thread_id, "levels": 1})["stackFrames"][0]

    def locals_of(self, frame_id):
        scopes = self.request("scopes", {"frameId": frame_id})["scopes"]
        ref = scopes[0]["variablesReference"]
        return dict((v["name"], v) for v in self.request("variables", {"variablesReference": ref})["variables"])

    def close(self):
        self.session.close()
        for t in self.threads:
            t.join(5)
        AGENT_THREAD_IDS.discard(self.driver)
