"""DebugSession: breakpoint kinds, exceptions, modules that load later."""

import os
import shutil
import sys
import tempfile
import threading
import unittest

from tests.session_support import Harness, line_of, tracee


class BreakpointKinds(unittest.TestCase):
    def setUp(self):
        self.h = Harness()

    def tearDown(self):
        self.h.close()

    def run_to_end(self, fn, *args):
        t, result = self.h.start(fn, *args)
        t.join(10)
        self.assertFalse(t.is_alive())
        return result["value"]

    def test_conditional_breakpoint(self):
        h = self.h
        h.set_breakpoints(["loop2"], condition="i == 7")
        h.request("configurationDone")
        t, _ = h.start(tracee.looping, 20)
        stop = h.wait_event("stopped")
        frame = h.top(stop["threadId"])
        self.assertEqual(h.locals_of(frame["id"])["i"]["value"], "7")
        h.request("continue", {"threadId": stop["threadId"]})
        t.join(10)
        self.assertEqual(len(h.events("stopped")), 1)

    def test_a_stop_names_the_breakpoints_that_stopped_it(self):
        h = self.h
        ids = [bp["id"] for bp in h.set_breakpoints(["loop2"], condition="i == 2")["breakpoints"]]
        fid = h.request("setFunctionBreakpoints", {"breakpoints": [{"name": "middle"}]})["breakpoints"][0]["id"]
        h.request("configurationDone")
        t, _ = h.start(tracee.looping, 5)
        stop = h.wait_event("stopped")
        self.assertEqual((stop["reason"], stop.get("hitBreakpointIds")), ("breakpoint", ids))
        h.request("next", {"threadId": stop["threadId"]})
        stop = h.wait_event("stopped")
        self.assertEqual((stop["reason"], stop.get("hitBreakpointIds")), ("step", None))
        h.request("continue", {"threadId": stop["threadId"]})
        t.join(10)
        t, _ = h.start(tracee.outer, 1)
        stop = h.wait_event("stopped")
        self.assertEqual((stop["reason"], stop.get("hitBreakpointIds")), ("function breakpoint", [fid]))
        h.request("continue", {"threadId": stop["threadId"]})
        t.join(10)

    def test_hit_condition(self):
        h = self.h
        h.set_breakpoints(["loop2"], hitCondition="%5")
        t, _ = h.start(tracee.looping, 12)
        seen = []
        for _ in range(2):
            stop = h.wait_event("stopped")
            seen.append(h.locals_of(h.top(stop["threadId"])["id"])["i"]["value"])
            h.request("continue", {"threadId": stop["threadId"]})
        t.join(10)
        self.assertEqual(seen, ["4", "9"])

    def test_log_point_does_not_stop(self):
        h = self.h
        h.set_breakpoints(["leaf1"], logMessage="leaf got {n}")
        self.assertEqual(self.run_to_end(tracee.outer, 3), 8)
        self.assertEqual(h.events("stopped"), [])
        self.assertIn({"category": "console", "output": "leaf got 3\n"}, h.events("output"))

    def test_function_breakpoint(self):
        h = self.h
        body = h.request("setFunctionBreakpoints", {"breakpoints": [{"name": "middle"}, {"name": " "}]})
        self.assertEqual([b["verified"] for b in body["breakpoints"]], [True, False])
        t, _ = h.start(tracee.outer, 1)
        stop = h.wait_event("stopped")
        self.assertEqual(stop["reason"], "function breakpoint")
        self.assertEqual(h.top(stop["threadId"])["name"], "middle")
        h.request("continue", {})
        t.join(10)

    def test_breakpoint_removed_is_not_hit(self):
        h = self.h
        h.set_breakpoints(["leaf1"])
        h.set_breakpoints([])
        self.run_to_end(tracee.outer, 1)
        self.assertEqual(h.events("stopped"), [])

    def test_bad_requests(self):
        h = self.h
        self.assertEqual(h.error("setBreakpoints", {"breakpoints": []}).code, "LR_BAD_REQUEST")
        e = h.error("setBreakpoints", {"source": {"path": "x.py"}, "breakpoints": [{"line": "3"}]})
        self.assertIn("integer line", e.message)
        e = h.error("setExceptionBreakpoints", {"filters": ["never"]})
        self.assertIn("unknown exception filter", e.message)
        self.assertEqual(h.error("readMemory", {}).code, "LR_UNSUPPORTED")
        self.assertEqual(h.error("next", {"threadId": 999}).code, "LR_BAD_REQUEST")


class Exceptions(unittest.TestCase):
    def setUp(self):
        self.h = Harness()

    def tearDown(self):
        self.h.close()

    def test_raised_exception_stops_where_raised_with_info(self):
        h = self.h
        h.request("setExceptionBreakpoints", {"filters": ["raised"]})
        t, result = h.start(tracee.catcher)
        stop = h.wait_event("stopped")
        self.assertEqual(stop["reason"], "exception")
        self.assertEqual(stop["text"], "ValueError")
        self.assertEqual(h.top(stop["threadId"])["line"], line_of("raise"))
        info = h.request("exceptionInfo", {"threadId": stop["threadId"]})
        self.assertEqual(info["exceptionId"], "ValueError")
        self.assertEqual(info["description"], "boom")
        self.assertEqual(info["breakMode"], "always")
        h.request("continue", {})
        t.join(10)
        self.assertEqual(result["value"], "caught")
        self.assertEqual(len(h.events("stopped")), 1)

    def test_uncaught_in_a_thread(self):
        h = self.h
        h.request("setExceptionBreakpoints", {"filters": ["uncaught"]})
        h.request("configurationDone")
        old_hook = threading.excepthook
        threading.excepthook = lambda args: None  # keep the test's stderr clean; ours wraps whatever is set
        try:
            h2 = Harness()  # hooks are installed at attach: a fresh session wraps the quiet hook
            h2.request("setExceptionBreakpoints", {"filters": ["uncaught"]})
            t, _ = h2.start(tracee.thrower)
            stop = h2.wait_event("stopped")
            self.assertEqual(stop["reason"], "exception")
            frame = h2.top(stop["threadId"])
            self.assertEqual(frame["line"], line_of("throw"))
            self.assertEqual(h2.locals_of(frame["id"])["data"]["value"], "{'k': 1}")
            info = h2.request("exceptionInfo", {"threadId": stop["threadId"]})
            self.assertEqual(info["breakMode"], "unhandled")
            self.assertIn("KeyError", info["details"]["stackTrace"])
            h2.request("continue", {})
            t.join(10)
            self.assertFalse(t.is_alive())
            h2.close()
        finally:
            threading.excepthook = old_hook

    def test_caught_exception_does_not_stop_on_uncaught_filter(self):
        h = self.h
        h.request("setExceptionBreakpoints", {"filters": ["uncaught"]})
        t, result = h.start(tracee.catcher)
        t.join(10)
        self.assertEqual(result["value"], "caught")
        self.assertEqual(h.events("stopped"), [])

    def test_user_unhandled(self):
        h = self.h
        h.request("setExceptionBreakpoints", {"filters": ["userUnhandled"]})
        import json
        # user code raising inside a callback called by library code (json) leaves user code into the library
        t, result = h.start(lambda: _swallow(lambda: json.loads("[1]", object_hook=None, parse_int=_bad_int)))
        stop = h.wait_event("stopped")
        self.assertEqual(stop["reason"], "exception")
        self.assertEqual(h.top(stop["threadId"])["name"], "_bad_int")
        h.request("continue", {})
        t.join(10)
        self.assertEqual(result["value"], "swallowed")


def _bad_int(text):
    raise ValueError("no ints today")


def _swallow(fn):
    try:
        fn()
    except ValueError:
        return "swallowed"


class LaterModules(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lr-late-")
        os.makedirs(os.path.join(self.dir, "latepkg"))
        with open(os.path.join(self.dir, "latepkg", "__init__.py"), "w") as f:
            f.write("")
        with open(os.path.join(self.dir, "latepkg", "latemod.py"), "w") as f:
            f.write("def work(x):\n    y = x + 1\n    return y\n")
        sys.path.insert(0, self.dir)
        self.h = Harness()

    def tearDown(self):
        self.h.close()
        sys.path.remove(self.dir)
        sys.modules.pop("latepkg.latemod", None)
        sys.modules.pop("latepkg", None)
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_breakpoint_in_a_module_loaded_later(self):
        h = self.h
        body = h.request("setBreakpoints", {"source": {"path": "C:\\Users\\me\\proj\\latepkg\\latemod.py"},
                                            "breakpoints": [{"line": 2}]})
        bp = body["breakpoints"][0]
        self.assertFalse(bp["verified"])
        self.assertIn("no file named latemod.py is loaded", bp["message"])

        def load_and_run():
            import latepkg.latemod
            return latepkg.latemod.work(41)
        t, result = h.start(load_and_run)
        changed = h.wait_event("breakpoint")
        self.assertEqual(changed["reason"], "changed")
        self.assertTrue(changed["breakpoint"]["verified"])
        self.assertEqual(changed["breakpoint"]["id"], bp["id"])
        stop = h.wait_event("stopped")
        frame = h.top(stop["threadId"])
        self.assertEqual((frame["name"], frame["line"]), ("work", 2))
        h.request("continue", {})
        t.join(10)
        self.assertEqual(result["value"], 42)


if __name__ == "__main__":
    unittest.main()
