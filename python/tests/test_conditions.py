"""tracer/conditions.py: precompiled conditions give what eval(text, f_globals, f_locals) gives, read only the names
they use, fall back (Unbound / None) exactly where eval's scoping would differ; and the tracer uses them for frames
it traces, asking the policy only when a condition is true."""

import sys
import threading
import unittest

from longreach.tracer import conditions
from longreach.tracer.factory import make_tracer
from tests.tracer_support import TRACEE, line_of, tracee

GLOBAL_VALUE = 41


def sample(a, b=2):
    c = a + b
    d = None

    def inner():
        return c
    frame = sys._getframe()
    return frame, inner


class Make(unittest.TestCase):
    def check(self, text):
        frame, _inner = sample(3)
        fn = conditions.make(text, frame.f_code, frame.f_globals)
        self.assertIsNotNone(fn, text)
        return fn(frame.f_locals), eval(text, frame.f_globals, frame.f_locals)

    def test_same_value_as_eval(self):
        for text in ("a == 3", "c > 4 and b == 2", "GLOBAL_VALUE + a", "len([a, b])", "d is None",
                     "unittest.__name__", "a if b else c", "(a, b)[1]"):
            with self.subTest(text):
                got, want = self.check(text)
                self.assertEqual(got, want)

    def test_errors_are_the_conditions_own(self):
        frame, _inner = sample(3)
        fn = conditions.make("a / 0", frame.f_code, frame.f_globals)
        self.assertRaises(ZeroDivisionError, fn, frame.f_locals)
        fn = conditions.make("no_such_name", frame.f_code, frame.f_globals)
        self.assertRaises(NameError, fn, frame.f_locals)

    def test_a_local_without_a_value_defers_to_eval(self):
        frame, _inner = sample(3)
        fn = conditions.make("later > 1", frame.f_code, frame.f_globals)
        self.assertIsNotNone(fn)  # `later` is not a local of sample: a global, missing
        self.assertRaises(NameError, fn, frame.f_locals)
        code = sample.__code__
        fn = conditions.make("frame is None", code, frame.f_globals)
        self.assertRaises(conditions.Unbound, fn, {"a": 1})

    def test_refused_where_scoping_would_differ(self):
        frame, _inner = sample(3)
        for text in ("[x for x in (a,)]", "(lambda: a)()", "(z := 1)", "a ==", "any(v for v in (a,))"):
            self.assertIsNone(conditions.make(text, frame.f_code, frame.f_globals), text)


class Policy(object):
    def __init__(self):
        self.asked = []
        self.stops = []
        self.tracer = None

    def break_at_line(self, frame):
        self.asked.append(("eval", frame.f_locals.get("n")))
        return True

    def compiled_hit(self, frame, condition, error):
        self.asked.append(("hit", frame.f_locals.get("n"), condition, error))
        return True

    def break_at_function(self, frame):
        return False

    def break_at_exception(self, frame, exc, kind):
        return False

    def stopped(self, frame, reason, exc):
        self.stops.append((reason, frame.f_locals.get("n")))

    def new_file(self, filename):
        pass


class TracedFramesUsePrecompiledConditions(unittest.TestCase):
    def test_a_running_loop_asks_the_policy_only_when_the_condition_is_true(self):
        policy = Policy()
        tracer = make_tracer(policy, compile_lines=True)
        policy.tracer = tracer
        tracer.install()
        self.addCleanup(tracer.uninstall)
        evt = threading.Event()
        box = {}
        # something set first: a thread started with nothing set cannot be reached on PyPy (tracer/base.py)
        tracer.set_lines({TRACEE: {line_of("never")}})
        if sys.implementation.name == "pypy":  # global mode, which gives threads it starts the trace function
            tracer.set_functions(["no_such_function_anywhere"])
        t = threading.Thread(target=lambda: box.setdefault("n", tracee.spin(evt)))
        t.start()
        self.addCleanup(t.join, 10)
        self.addCleanup(evt.set)
        tracer.set_lines({TRACEE: {line_of("spin")}}, {TRACEE: {line_of("spin"): "n % 50000 == 0 or evt is None"}})
        for _ in range(1000):
            if policy.stops:
                break
            evt.wait(0.01)
        evt.set()
        t.join(10)
        self.assertTrue(policy.stops)
        self.assertEqual(set((r, n % 50000) for r, n in policy.stops), {("breakpoint", 0)})
        self.assertEqual(set((a[0], a[1] % 50000, a[2], a[3]) for a in policy.asked),
                         {("hit", 0, "n % 50000 == 0 or evt is None", None)})
        self.assertEqual(len(policy.asked), len(policy.stops))


if __name__ == "__main__":
    unittest.main()
