"""Breakpoint conditions and log messages run under a time budget (tracer/watchdog.py): one that runs too long, in a
function with the condition compiled in or in a traced frame (a generator), is interrupted, reported once with the
budget named, and the program goes on with the right result; short conditions evaluated many times are never taken
for a long one; a normal condition still works after an interrupt; the watchdog thread exists only while some
breakpoint runs user code."""

import os
import time
import unittest

from tests.session_support import Harness, line_of, tracee
from longreach._threads import AGENT_THREAD_IDS
from longreach.tracer import watchdog

ME = "longreach.tracer.linehook"


def stall():
    while True:
        pass


def nap(seconds):
    time.sleep(seconds)
    return False


def churn():
    while True:
        tracee.leaf(1)  # a function with a (quick, false) condition of its own


def short():
    time.sleep(0.01)
    return False


def watchdog_threads():
    """The watchdog's agent thread, if it runs."""
    watch = watchdog._watch[0]
    return [watch._thread] if watch is not None and watch._thread.is_alive() else []


class Budget(unittest.TestCase):
    def setUp(self):
        self.env = os.environ.get("LONGREACH_CONDITION_BUDGET")
        os.environ["LONGREACH_CONDITION_BUDGET"] = "0.3"
        self.addCleanup(self.restore_env)
        for fn in (stall, nap, short, churn):
            setattr(tracee, fn.__name__, fn)
        self.h = Harness()
        self.original = tracee.looping.__code__
        self.addCleanup(self.h.close)

    def restore_env(self):
        if self.env is None:
            os.environ.pop("LONGREACH_CONDITION_BUDGET", None)
        else:
            os.environ["LONGREACH_CONDITION_BUDGET"] = self.env

    def stops(self, fn, *args, **kw):
        """Runs fn, continuing each stop; ([(line, locals)], fn's value)."""
        h = self.h
        before = len(h.events("stopped"))
        t, result = h.start(fn, *args)
        seen = []
        deadline = time.monotonic() + kw.get("timeout", 30)
        while time.monotonic() < deadline:
            events = h.events("stopped")[before:]
            if len(events) > len(seen):
                ev = events[len(seen)]
                frame = h.top(ev["threadId"])
                seen.append((frame["line"], dict((k, v["value"]) for k, v in h.locals_of(frame["id"]).items())))
                h.request("continue", {"threadId": ev["threadId"]})
            elif t.is_alive():
                t.join(0.05)
            else:
                break
        self.assertFalse(t.is_alive(), "the program did not finish")
        return seen, result.get("value")

    def console(self):
        return [e["output"] for e in self.h.events("output") if e.get("category") == "console"]

    def test_a_compiled_condition_that_loops_is_interrupted_and_the_program_goes_on(self):
        self.h.set_breakpoints(["loop2"], condition="(i == 3 and stall()) or i == 6")
        self.assertIn(ME, tracee.looping.__code__.co_consts, "the condition is compiled in")
        began = time.monotonic()
        seen, value = self.stops(tracee.looping, 9)
        self.assertEqual([loc["i"] for _l, loc in seen], ["3", "6"])  # the interrupt, then a true condition
        self.assertEqual(value, sum(range(9)))
        self.assertLess(time.monotonic() - began, 20)
        out = self.console()
        self.assertEqual(len(out), 1, out)
        self.assertIn("breakpoint condition ran past its 0.3 s budget and was interrupted", out[0])
        self.assertIn("LONGREACH_CONDITION_BUDGET=SECONDS", out[0])

    def test_a_compiled_condition_stuck_in_native_code_is_interrupted_when_it_returns(self):
        self.h.set_breakpoints(["loop2"], condition="i == 2 and nap(1.0)")
        seen, value = self.stops(tracee.looping, 5)
        self.assertEqual([loc["i"] for _l, loc in seen], ["2"])
        self.assertEqual(value, sum(range(5)))
        self.assertIn("ran past its 0.3 s budget", self.console()[0])

    def test_a_condition_whose_code_runs_quick_conditions_of_its_own_is_one_evaluation(self):
        self.h.request("setBreakpoints", {"source": {"path": tracee.__file__}, "breakpoints": [
            {"line": line_of("loop2"), "condition": "(i == 2 and churn()) or i == 4"},
            {"line": line_of("leaf1"), "condition": "n == -5"}]})
        self.assertIn(ME, tracee.leaf.__code__.co_consts)
        seen, value = self.stops(tracee.looping, 6)
        self.assertEqual([(line, loc["i"]) for line, loc in seen], [(line_of("loop2"), "2"), (line_of("loop2"), "4")])
        self.assertEqual(value, sum(range(6)))
        out = self.console()
        self.assertEqual(len(out), 1, out)
        self.assertIn("breakpoint condition ran past its 0.3 s budget and was interrupted", out[0])

    def test_many_short_evaluations_are_never_taken_for_a_long_one(self):
        # 40 evaluations of 10 ms each: well past the budget in all, each far under it
        self.h.set_breakpoints(["loop2"], condition="short()")
        seen, value = self.stops(tracee.looping, 40)
        self.assertEqual(seen, [])
        self.assertEqual(value, sum(range(40)))
        self.assertEqual(self.console(), [])

    def test_conditions_that_end_as_the_budget_runs_out_never_disturb_the_program(self):
        # each evaluation sleeps about as long as the budget: some are interrupted as they end, racing the interrupt;
        # whatever happens, the program's result is right and every stop says why
        self.h.set_breakpoints(["loop2"], condition="nap(0.3 + (i % 4) * 0.04)")
        seen, value = self.stops(tracee.looping, 12, timeout=60)
        self.assertEqual(value, sum(range(12)))
        out = self.console()
        self.assertEqual(len(out), len(seen), out)
        for text in out:
            self.assertIn("ran past its 0.3 s budget and was interrupted", text)

    def test_a_traced_condition_that_loops_is_interrupted(self):
        self.h.set_breakpoints(["gen1"], condition="(i == 1 and stall()) or i == 3")
        seen, value = self.stops(lambda: list(tracee.gen(5)))
        self.assertEqual([(line, loc["i"]) for line, loc in seen], [(line_of("gen1"), "1"), (line_of("gen1"), "3")])
        self.assertEqual(value, [0, 1, 2, 3, 4])
        out = self.console()
        self.assertEqual(len(out), 1, out)
        self.assertIn("breakpoint condition ran past its 0.3 s budget and was interrupted", out[0])

    def test_a_condition_the_compiler_cannot_take_is_interrupted_too(self):
        # a comprehension: the copy gets a plain hook, and the session evaluates the condition
        self.h.set_breakpoints(["loop2"], condition="[stall() for _ in (1,)] if i == 2 else False")
        seen, value = self.stops(tracee.looping, 4)
        self.assertEqual([loc["i"] for _l, loc in seen], ["2"])
        self.assertEqual(value, sum(range(4)))
        self.assertIn("ran past its 0.3 s budget", self.console()[0])

    def test_a_log_message_expression_that_loops_is_interrupted(self):
        self.h.set_breakpoints(["loop2"], condition="i >= 2", logMessage="i={i} {stall() if i == 2 else 'ok'}")
        seen, value = self.stops(tracee.looping, 4)
        self.assertEqual(seen, [])
        self.assertEqual(value, sum(range(4)))
        out = self.console()
        self.assertEqual(len(out), 2, out)
        self.assertTrue(out[0].startswith("i=2 <log message expression {stall() if i == 2 else 'ok'} ran past its "
                                          "0.3 s budget"), out[0])
        self.assertEqual(out[1], "i=3 ok\n")

    def test_the_watchdog_runs_only_while_a_breakpoint_runs_user_code(self):
        self.h.set_breakpoints(["loop2"])
        self.assertEqual(watchdog_threads(), [])
        self.h.set_breakpoints(["loop2"], condition="i == 1")
        self.assertEqual(len(watchdog_threads()), 1)
        self.assertTrue(all(t.ident in AGENT_THREAD_IDS for t in watchdog_threads()))
        first = watchdog_threads()[0]
        self.h.set_breakpoints(["loop2"])
        self.assertEqual(watchdog_threads(), [])
        self.assertFalse(first.is_alive())
        self.h.set_breakpoints(["loop2"], logMessage="{i}")
        self.assertEqual(len(watchdog_threads()), 1)
        self.h.close()
        self.assertEqual(watchdog_threads(), [])
        self.assertIs(tracee.looping.__code__, self.original)


if __name__ == "__main__":
    unittest.main()
