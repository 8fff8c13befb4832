"""Values that fight back, through a real DebugSession on a stopped thread: a __repr__ that never returns, a
__len__ that raises, a property with side effects, a 10M-item list, user summaries (register_summary), a
duck-typed array; evaluations that run away (interrupted, the program unchanged) or block in native code (the
session says so and stays usable). Stdlib only: runs on every interpreter."""

import os
import sys
import threading
import time
import unittest

import longreach
from longreach.errors import LongreachError
from longreach.session import budget
from longreach.session.budget import BudgetExceeded, EvaluationInterrupted, Job
from tests.session_support import Harness


def _line(marker):
    with open(__file__.replace(".pyc", ".py")) as f:
        for i, text in enumerate(f, 1):
            if text.rstrip().endswith("# V:" + marker):
                return i
    raise LookupError(marker)


class Spinner(object):
    unwound = 0

    def __repr__(self):
        try:
            while True:
                pass
        finally:
            Spinner.unwound += 1


PYPY = sys.implementation.name == "pypy"


class SwallowOnce(object):
    def __del__(self):
        while True:  # the interrupt arrives here, in a __del__, where the interpreter only reports it
            pass


class BadLen(list):
    def __len__(self):
        raise RuntimeError("no len")


class SideEffect(object):
    calls = 0

    def __init__(self):
        self.plain = 1

    @property
    def prop(self):
        SideEffect.calls += 1
        return SideEffect.calls


class Custom(object):
    def __init__(self):
        self.n = 3


class _Dtype(object):
    name = "float32"
    itemsize = 4


class FakeJaxArray(object):
    """A stand-in for jax.Array: the duck-typing rule reads the module name and metadata attributes only."""
    shape = (3, 4)
    dtype = _Dtype()

    def __repr__(self):
        raise AssertionError("a duck-typed array's repr must not be called")


FakeJaxArray.__module__ = "jaxlib.xla_extension"


def scene(state):
    spinner = Spinner()
    badlen = BadLen([1, 2])
    side = SideEffect()
    big = list(range(10 * 1000 * 1000))
    custom = Custom()
    fake = FakeJaxArray()
    counter = [0]
    state["locals"] = (spinner, badlen, side, big, custom, fake)
    return counter  # V:stop


class ValuesBudget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        longreach.register_summary(Custom, lambda c: "Custom with n=%d" % c.n,
                                   lambda c: [("n", c.n), ("twice", c.n * 2)])

    def setUp(self):
        self.h = Harness()
        self.old_budget = os.environ.get("LONGREACH_EVAL_BUDGET")
        os.environ["LONGREACH_EVAL_BUDGET"] = "0.5"

    def tearDown(self):
        if self.old_budget is None:
            os.environ.pop("LONGREACH_EVAL_BUDGET", None)
        else:
            os.environ["LONGREACH_EVAL_BUDGET"] = self.old_budget
        self.h.close()

    def stop(self):
        h = self.h
        h.request("setBreakpoints", {"source": {"path": __file__.replace(".pyc", ".py")},
                                     "breakpoints": [{"line": _line("stop")}]})
        state = {}
        t, result = h.start(scene, state)
        stop = h.wait_event("stopped")
        self.addCleanup(t.join, 5)
        return h.top(stop["threadId"])["id"], t, result

    def evaluate(self, fid, expression, context="repl"):
        return self.h.request("evaluate", {"expression": expression, "frameId": fid, "context": context})

    def eval_error(self, fid, expression, context="repl"):
        try:
            self.evaluate(fid, expression, context)
        except LongreachError as e:
            return e
        raise AssertionError("%s did not fail" % expression)

    def test_hostile_locals_all_show(self):
        fid, t, result = self.stop()
        before = Spinner.unwound
        loc = self.h.locals_of(fid)
        self.assertIn("ran past the 1 s budget and was interrupted", loc["spinner"]["value"])
        self.assertEqual(Spinner.unwound, before + 1)  # interrupted by an exception: its finally ran
        self.assertEqual(loc["badlen"]["value"], "[1, 2]")
        self.assertNotIn("indexedVariables", loc["badlen"])  # its __len__ raised: no count, no crash
        self.assertEqual(loc["big"]["indexedVariables"], 10 * 1000 * 1000)
        self.assertLess(len(loc["big"]["value"]), 1200)
        self.assertEqual(loc["custom"]["value"], "Custom with n=3")
        self.assertEqual(loc["fake"]["value"], "FakeJaxArray float32 (3, 4) 12 items 48 B")
        self.assertEqual(loc["fake"]["type"], "jaxlib.FakeJaxArray")
        # children: a page of the big list, the user's children, attributes without calling properties
        page = self.h.request("variables", {"variablesReference": loc["big"]["variablesReference"],
                                            "start": 9999995, "count": 5})["variables"]
        self.assertEqual([v["value"] for v in page], ["9999995", "9999996", "9999997", "9999998", "9999999"])
        unpaged = self.h.request("variables", {"variablesReference": loc["big"]["variablesReference"]})
        self.assertEqual(len(unpaged["variables"]), 1000)  # a request without a count gets one bounded page
        kids = self.h.request("variables", {"variablesReference": loc["custom"]["variablesReference"]})
        self.assertEqual([(v["name"], v["value"]) for v in kids["variables"]], [("n", "3"), ("twice", "6")])
        calls = SideEffect.calls
        kids = self.h.request("variables", {"variablesReference": loc["side"]["variablesReference"]})
        self.assertEqual([v["name"] for v in kids["variables"]], ["plain"])
        self.assertEqual(SideEffect.calls, calls)
        # after the overrun the session is fine: the next evaluation works
        self.assertEqual(self.evaluate(fid, "len(big)")["result"], "10000000")
        self.h.request("continue", {})
        t.join(5)
        self.assertEqual(result["value"], [0])

    def test_runaway_evaluation_is_interrupted_and_the_program_unchanged(self):
        fid, t, result = self.stop()
        started = time.monotonic()
        e = self.eval_error(fid, "while True: pass")
        took = time.monotonic() - started
        self.assertEqual(e.code, "LR_EVAL_BUDGET", e.message)
        self.assertIn("ran past its 0.5 s budget and was interrupted", e.message)
        self.assertIn("LONGREACH_EVAL_BUDGET=SECONDS", e.message)
        # a bound on the wait (hand-off, budget, interrupt on a loaded machine), not a speed target (bench:values)
        self.assertLess(took, 20.0)
        # a loop that catches Exception keeps going; the interrupt is a BaseException, so it still ends
        e = self.eval_error(fid, "while True:\n    try:\n        int('x')\n    except Exception:\n        pass\n")
        self.assertEqual(e.code, "LR_EVAL_BUDGET")
        self.assertEqual(self.evaluate(fid, "1 + 1")["result"], "2")
        # hover and watch have their own (2 s) budget
        e = self.eval_error(fid, "sum(1 for _ in iter(int, 1))", "hover")
        self.assertIn("ran past its 2 s budget and was interrupted", e.message)
        self.h.request("continue", {})
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["value"], [0])

    def test_an_interrupt_the_interpreter_swallows_is_raised_again(self):
        # the first interrupt arrives inside a __del__, where the interpreter prints "Exception ignored" and goes
        # on (a garbage collection during an evaluation does the same with weakref callbacks): the loop after it
        # must still end, the thread go back to waiting, and the next evaluation work
        fid, t, result = self.stop()
        ignored = []
        old_hook = sys.unraisablehook
        sys.unraisablehook = lambda u: ignored.append(u.exc_type)
        try:
            # (PyPy calls __del__ after a collection, CPython at once)
            # (a temporary, not a name: on 3.13 a name set at the prompt lives on in the frame's locals proxy)
            e = self.eval_error(fid, "SwallowOnce()\nif PYPY:\n    __import__('gc').collect()\n"
                                     "while True:\n    pass\n")
        finally:
            sys.unraisablehook = old_hook
        self.assertIn(EvaluationInterrupted, ignored)
        self.assertEqual(e.code, "LR_EVAL_BUDGET")
        self.assertIn("ran past its 0.5 s budget and was interrupted", e.message)
        self.assertEqual(self.evaluate(fid, "1 + 1")["result"], "2")
        self.h.request("continue", {})
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["value"], [0])

    def test_a_late_interrupt_never_reaches_the_program(self):
        # an interrupt that arrives after its job ended (its wait for it ran out) lands in the stopped thread's
        # wait loop: absorbed there, not raised in the program, not in the next evaluation
        fid, t, result = self.stop()
        self.assertTrue(budget.CAN_INTERRUPT)
        budget._RAISERS[0](t.ident)
        time.sleep(1.5)  # the wait loop wakes at least once a second and takes it
        self.assertEqual(self.evaluate(fid, "1 + 1")["result"], "2")
        self.h.request("continue", {})
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["value"], [0])

    def test_native_call_past_its_budget_leaves_the_session_usable(self):
        fid, t, result = self.stop()
        # 8 s: the next request must find it still running, however slowly a loaded machine answers the first
        e = self.eval_error(fid, "__import__('time').sleep(8)")
        self.assertEqual(e.code, "LR_EVAL_BUDGET")
        self.assertIn("still running in native code", e.message)
        e = self.eval_error(fid, "1 + 1")
        self.assertEqual(e.code, "LR_EVAL_BUDGET")
        self.assertIn("still running an earlier evaluation", e.message)
        loc = self.h.locals_of(fid)  # values that need no code of the program still show
        self.assertEqual(loc["counter"]["value"], "[0]")
        deadline = time.monotonic() + 20  # a bound on the wait for the sleep to return
        while True:
            try:
                self.assertEqual(self.evaluate(fid, "2 + 2")["result"], "4")
                break
            except LongreachError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.h.request("continue", {})
        t.join(5)
        self.assertEqual(result["value"], [0])

    def test_register_summary_bad_input(self):
        with self.assertRaises(LongreachError) as cm:
            longreach.register_summary(42, str)
        self.assertEqual(cm.exception.code, "LR_BAD_OPTION")
        with self.assertRaises(LongreachError) as cm:
            longreach.register_summary("mod.Thing", "not callable")
        self.assertIn("summary must be callable", str(cm.exception))

    def test_summary_that_raises_or_returns_junk(self):
        class Broken(object):
            pass

        class Junk(object):
            pass
        longreach.register_summary(Broken, lambda o: 1 / 0)
        longreach.register_summary(Junk, lambda o: 42)
        fid, t, result = self.stop()
        out = self.h.session.renderer.reprs([Broken(), Junk()])
        self.assertIn("summary failed: ZeroDivisionError", out[0])
        self.assertIn("summary failed: TypeError", out[1])
        self.h.request("continue", {})
        t.join(5)

    def test_data_requests_on_plain_values(self):
        fid, t, result = self.stop()
        err = None
        try:
            self.h.request("longreach/table", {"expression": "counter", "frameId": fid})
        except LongreachError as e:
            err = e
        self.assertEqual(err.code, "LR_EVAL_FAILED")
        self.assertIn("only a DataFrame, a Series or an array", err.message)
        e = self.h.error("longreach/stats", {"expression": "custom", "frameId": fid})
        self.assertIn("no statistics for Custom", e.message)
        e = self.h.error("longreach/table", {"expression": "big", "frameId": fid, "rows": 5000})
        self.assertEqual(e.code, "LR_BAD_REQUEST")
        e = self.h.error("longreach/stats", {"frameId": fid})
        self.assertIn("needs an expression", e.message)
        self.h.request("continue", {})
        t.join(5)


class JobBudget(unittest.TestCase):
    """The budget is the job's own time on the thread that runs it, not the time it waited to be taken up."""

    def test_the_budget_counts_from_when_the_job_begins(self):
        job = Job(lambda: time.sleep(2) or 42)
        # a stopped thread slow to take the job up (a loaded machine): 1.5 s late, then 2 s of work, budget 3 s
        t = threading.Timer(1.5, job.run)
        t.start()
        self.addCleanup(t.join, 10)
        self.assertEqual(job.wait(3.0), 42)

    def test_a_job_not_begun_within_its_budget_never_runs(self):
        ran = []
        job = Job(lambda: ran.append(1))
        with self.assertRaises(BudgetExceeded) as cm:
            job.wait(0.3)
        self.assertTrue(cm.exception.late)
        self.assertFalse(cm.exception.interrupted)
        self.assertIn("did not begin the evaluation within 5 s", str(cm.exception))
        job.run()  # the thread takes it up at last: cancelled, fn is not called
        self.assertEqual(ran, [])


if __name__ == "__main__":
    unittest.main()
