"""Shared helpers for tracer tests: a scripted policy and a runner that executes target code in a real thread."""

import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(HERE) not in sys.path:
    sys.path.insert(0, os.path.dirname(HERE))

from longreach.tracer.base import canon  # noqa: E402
from longreach.tracer.factory import make_tracer  # noqa: E402
from tests.fixtures import tracee  # noqa: E402

TRACEE = canon(tracee.__file__)
_MARKERS = {}


def line_of(name):
    if name not in _MARKERS:
        _MARKERS[name] = tracee.marker(name)
    return _MARKERS[name]


def name_of_line(lineno):
    with open(tracee.__file__) as f:
        for i, text in enumerate(f, 1):
            if i == lineno and "# L:" in text:
                return text.rsplit("# L:", 1)[1].strip()
    return lineno


class ScriptPolicy(object):
    """Records every stop as (reason, function, marker) and answers each with the next scripted action:
    "continue", "in", "over" or "out"."""

    def __init__(self, actions=(), exception_kinds=("raised",)):
        self.actions = list(actions)
        self.exception_kinds = exception_kinds
        self.log = []
        self.files = []
        self.tracer = None
        self.stopped_event = threading.Event()

    def break_at_line(self, frame):
        return True

    def break_at_function(self, frame):
        return True

    def break_at_exception(self, frame, exc, kind):
        return kind in self.exception_kinds and canon(frame.f_code.co_filename) == TRACEE

    def stopped(self, frame, reason, exc):
        self.log.append((reason, frame.f_code.co_name, name_of_line(frame.f_lineno)))
        self.stopped_event.set()
        action = self.actions.pop(0) if self.actions else "continue"
        if action != "continue":
            self.tracer.step(threading.get_ident(), action, frame)

    def new_file(self, filename):
        self.files.append(filename)


def run_in_thread(fn, *args):
    result = {}

    def body():
        result["value"] = fn(*args)

    t = threading.Thread(target=body)
    t.start()
    t.join(20)
    if t.is_alive():
        raise AssertionError("target thread did not finish")
    return result.get("value")


def new_tracer(policy):
    tracer = make_tracer(policy)
    policy.tracer = tracer
    tracer.install()
    return tracer
