"""DebugSession: all-stop, pause, detach, threads started before attach, output redirection."""

import io
import sys
import threading
import time
import unittest

from tests.session_support import Harness, line_of, tracee
from longreach._threads import start_agent_thread

PYPY = sys.implementation.name == "pypy"


def frames_of(h, tid):
    return [(f["name"], f["line"]) for f in h.request("stackTrace", {"threadId": tid})["stackFrames"]]


class AllStop(unittest.TestCase):
    def setUp(self):
        self.h = Harness()
        self.evt = threading.Event()

    def tearDown(self):
        self.evt.set()
        self.h.close()

    def keep_pypy_tracing(self):
        """PyPy runs a thread started with only compiled breakpoints set untraced, and so cannot pause it between
        breakpoint lines (test_untraced_thread_pauses_at_a_breakpoint_line): a function breakpoint on a name never
        called keeps it in global mode, where threads it starts trace."""
        if PYPY:
            self.h.request("setFunctionBreakpoints", {"breakpoints": [{"name": "no_such_function_anywhere"}]})

    def test_other_threads_pause_and_resume_together(self):
        h = self.h
        h.set_breakpoints(["leaf1"])
        self.keep_pypy_tracing()
        spinner, spun = h.start(tracee.spin, self.evt)
        time.sleep(0.05)
        t, result = h.start(tracee.outer, 1)
        stop = h.wait_event("stopped")
        self.assertTrue(stop["allThreadsStopped"])
        ids = dict((th["name"], th["id"]) for th in h.request("threads")["threads"])
        self.assertIn(spinner.name, ids)
        # the spinner pauses at its next line: its stack shows it inside spin at the loop
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            top = frames_of(h, ids[spinner.name])[0]
            if top == ("spin", line_of("spin")) and len(h.session.coord.stopped) == 2:
                break
            time.sleep(0.01)
        self.assertEqual(len(h.session.coord.stopped), 2, "the spinning thread did not pause")
        self.evt.set()  # the spinner could leave its loop now, but it is paused
        time.sleep(0.1)
        self.assertTrue(spinner.is_alive())
        h.request("continue", {"threadId": stop["threadId"]})
        spinner.join(5)
        t.join(5)
        self.assertFalse(spinner.is_alive())
        self.assertEqual(result["value"], 4)
        self.assertEqual(len(h.events("stopped")), 1)  # followers pause silently

    def test_pause_request(self):
        h = self.h
        h.set_breakpoints(["never"])  # something set, so threads started now are traced on every runtime
        self.keep_pypy_tracing()
        spinner, _ = h.start(tracee.spin, self.evt)
        time.sleep(0.05)
        h.request("pause", {"threadId": 1})
        stop = h.wait_event("stopped")
        self.assertEqual(stop["reason"], "pause")
        self.assertIn("spin", [name for name, _line in frames_of(h, stop["threadId"])[:2]])
        h.request("continue", {})
        self.evt.set()
        spinner.join(5)
        self.assertFalse(spinner.is_alive())

    def test_untraced_thread_pauses_at_a_breakpoint_line(self):
        # only compiled breakpoints: a thread started now runs with no trace function on every runtime (PyPy too);
        # pause reaches it at the latest at the next breakpoint line it runs, and it can be stepped from there
        h = self.h
        h.set_breakpoints(["spin"], condition="n == -1")
        seen = {}

        def body():
            seen["trace"] = sys.gettrace()
            return tracee.spin(self.evt)
        spinner, result = h.start(body)
        deadline = time.monotonic() + 5
        while "trace" not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertIsNone(seen.get("trace", "not started"))
        h.request("pause", {"threadId": 1})
        stop = h.wait_event("stopped")
        self.assertEqual(stop["reason"], "pause")
        tid = stop["threadId"]
        # PyPy: at the breakpoint line; elsewhere wherever the pause found it (possibly inside Event.is_set)
        top = frames_of(h, tid)[:2]
        self.assertIn(("spin", line_of("spin")) if PYPY else "spin", top if PYPY else [n for n, _l in top])
        h.request("next", {"threadId": tid})
        stop = h.wait_event("stopped")
        self.assertEqual(stop["reason"], "step")
        self.assertIn("spin", [n for n, _l in frames_of(h, stop["threadId"])[:2]])
        self.evt.set()
        h.request("continue", {"threadId": tid})
        spinner.join(5)
        self.assertFalse(spinner.is_alive())
        self.assertGreater(result["value"], 0)

    def test_step_commands_need_a_stopped_thread(self):
        h = self.h
        spinner, _ = h.start(tracee.spin, self.evt)
        time.sleep(0.05)
        tid = [th["id"] for th in h.request("threads")["threads"] if th["name"] == spinner.name][0]
        self.assertEqual(h.error("next", {"threadId": tid}).code, "LR_NOT_STOPPED")
        # a running thread's stack can still be read
        self.assertIn("spin", [name for name, _line in frames_of(h, tid)[:2]])

    def test_detach_while_stopped_resumes_everything_and_removes_tracing(self):
        h = self.h
        h.set_breakpoints(["leaf1"])
        h.request("setExceptionBreakpoints", {"filters": ["raised", "uncaught"]})
        t, result = h.start(tracee.outer, 1)
        h.wait_event("stopped")
        started = time.monotonic()
        h.session.close()
        t.join(1.0)
        self.assertFalse(t.is_alive(), "a stopped thread did not resume within 1 s of detach")
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(result["value"], 4)
        seen = {}

        def probe():
            seen["trace"] = sys.gettrace()
            tracee.outer(1)
            tracee.catcher()
        t2 = threading.Thread(target=probe)
        t2.start()
        t2.join(5)
        self.assertIsNone(seen["trace"])
        self.assertEqual(len(h.events("stopped")), 1)
        if hasattr(sys, "monitoring"):
            self.assertNotIn("longreach", [sys.monitoring.get_tool(i) for i in range(6)])
        self.assertNotIn("sys_hook", getattr(sys.excepthook, "__name__", ""))


class StepsEnd(unittest.TestCase):
    def test_continue_cancels_unfinished_steps(self):
        h = Harness()
        try:
            h.set_breakpoints(["leaf1"])
            t, result = h.start(tracee.outer, 1)
            stop = h.wait_event("stopped")
            # an unfinished step of some other thread (as if it had been overtaken by this stop)
            h.session.tracer.step(123456789, "over", sys._getframe())
            h.set_breakpoints([])
            h.request("continue", {"threadId": stop["threadId"]})
            t.join(5)
            self.assertEqual(result["value"], 4)
            self.assertEqual(h.session.tracer.steps, {})
        finally:
            h.close()


class ThreadEnd(unittest.TestCase):
    def test_stepping_through_the_end_of_a_thread_never_stops_inside_threadings_lock(self):
        """Stepping in from a thread's last line goes through threading.py's end of a thread, some of it inside the
        lock that threading.enumerate() takes: no step stops there (a stop there held up every thread listing until
        the program ran on; on CPython 3.8, whose lock is not reentrant, the stop's own listing forever)."""
        h = Harness()
        try:
            h.set_breakpoints(["leaf2"])
            t, _ = h.start(tracee.leaf, 1)
            tid = h.wait_event("stopped")["threadId"]
            h.set_breakpoints([])
            places = []
            while t.is_alive() and len(places) < 40:
                seen = len(h.events("stopped"))
                h.request("stepIn", {"threadId": tid})
                deadline = time.monotonic() + 5
                while t.is_alive() and len(h.events("stopped")) == seen and time.monotonic() < deadline:
                    time.sleep(0.01)
                if len(h.events("stopped")) == seen:
                    break
                top = h.top(tid)
                places.append((top["name"], top["line"]))
                self.assertTrue(listing_answers(h), "a thread listing waited while stopped at %r" % (places[-1],))
            t.join(5)
            self.assertFalse(t.is_alive(), "the thread did not end; it stopped at %r" % (places,))
            self.assertTrue([p for p in places if p[0].endswith("_bootstrap_inner")], places)  # it went through
        finally:
            h.close()


def listing_answers(h, timeout=3.0):
    """A `threads` request answers within `timeout`, asked from an agent thread (as the server's reader would)."""
    done = threading.Event()
    start_agent_thread(lambda: (h.request("threads"), done.set()), "test-listing")
    return done.wait(timeout)


class LateAttach(unittest.TestCase):
    def test_thread_started_before_attach_stops(self):
        evt = threading.Event()
        spinner = threading.Thread(target=tracee.spin, args=(evt,), name="early")
        spinner.daemon = True
        spinner.start()
        time.sleep(0.05)
        h = Harness()
        try:
            ids = dict((th["name"], th["id"]) for th in h.request("threads")["threads"])
            self.assertIn("early", ids)
            h.set_breakpoints(["spin"])
            if sys.implementation.name == "cpython":
                stop = h.wait_event("stopped")
                self.assertEqual(stop["threadId"], ids["early"])
                self.assertEqual(frames_of(h, stop["threadId"])[0], ("spin", line_of("spin")))
                h.set_breakpoints([])
                h.request("continue", {})
            else:
                # PyPy cannot give a trace function to a thread that was running before attach
                # (other than the main thread): it is listed and inspectable, never stopped
                time.sleep(0.3)
                self.assertEqual(h.events("stopped"), [])
                self.assertIn("spin", [name for name, _line in frames_of(h, ids["early"])[:2]])
            evt.set()
            spinner.join(5)
            self.assertFalse(spinner.is_alive())
        finally:
            evt.set()
            h.close()


    def test_thread_started_before_attach_stops_in_a_function_it_enters_later(self):
        # the breakpoint function's entry hook installs the trace function from inside the thread (CPython 3.8-3.11,
        # PyPy 3.9), as tracer_adopt or sys.monitoring also would on CPython
        evt, result = threading.Event(), {}

        def early():
            evt.wait(10)
            result["value"] = tracee.outer(1)
        t = threading.Thread(target=early, name="early-caller")
        t.daemon = True
        t.start()
        h = Harness()
        try:
            ids = dict((th["name"], th["id"]) for th in h.request("threads")["threads"])
            h.set_breakpoints(["leaf1"])
            evt.set()
            stop = h.wait_event("stopped")
            self.assertEqual(stop["threadId"], ids["early-caller"])
            self.assertEqual(frames_of(h, stop["threadId"])[0], ("leaf", line_of("leaf1")))
            h.request("continue", {})
            t.join(5)
            self.assertEqual(result["value"], 4)
        finally:
            evt.set()
            h.close()


class Output(unittest.TestCase):
    def test_stdout_goes_to_output_events_and_the_real_stream(self):
        real = io.StringIO()
        saved = sys.stdout
        sys.stdout = real
        try:
            h = Harness(redirect_output=True)
            t, _ = h.start(tracee.printer, "hello there")
            t.join(5)
            h.close()
            self.assertIs(sys.stdout, real)
            self.assertEqual(real.getvalue(), "hello there\n")
            out = "".join(b["output"] for b in h.events("output") if b["category"] == "stdout")
            self.assertEqual(out, "hello there\n")
        finally:
            sys.stdout = saved

    def test_redirect_off(self):
        real = io.StringIO()
        saved = sys.stdout
        sys.stdout = real
        try:
            h = Harness({"redirectOutput": False}, redirect_output=True)
            self.assertIs(sys.stdout, real)
            h.close()
        finally:
            sys.stdout = saved


if __name__ == "__main__":
    unittest.main()


class Adopt(unittest.TestCase):
    def test_adopting_with_nothing_set_installs_no_trace_function(self):
        # a thread holding a trace function pays for every call: with no breakpoint there is nothing to adopt for
        seen = {}
        h = Harness()

        def waiter():
            h.session.adopt_thread(sys._getframe())
            seen["trace"] = sys.gettrace()
            seen["f_trace"] = sys._getframe().f_trace
        t = threading.Thread(target=waiter, name="adopter-idle")
        try:
            t.start()
            t.join(5)
            self.assertEqual(seen, {"trace": None, "f_trace": None})
        finally:
            h.close()

    def test_a_thread_that_was_running_can_adopt_tracing(self):
        # what api.wait_for_attach() does for the thread that then runs the program
        go, done = threading.Event(), {}
        h = Harness()

        def early():
            go.wait(10)
            h.session.adopt_thread(sys._getframe())  # api.wait_for_attach() passes its caller's frame
            done["value"] = tracee.outer(1)
        t = threading.Thread(target=early, name="adopter")
        t.start()
        try:
            h.set_breakpoints(["leaf1"])
            go.set()
            stop = h.wait_event("stopped")
            self.assertEqual(h.top(stop["threadId"])["name"], "leaf")
            h.request("continue", {})
            t.join(5)
            self.assertEqual(done["value"], 4)
        finally:
            go.set()
            h.close()
