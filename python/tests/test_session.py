"""DebugSession driven directly: real threads running real code, events collected from `send`."""

import os
import sys
import threading
import time
import unittest

from tests.session_support import Harness, line_of, tracee


class BasicFlow(unittest.TestCase):
    def setUp(self):
        self.h = Harness()

    def tearDown(self):
        self.h.close()

    def test_attach_sends_initialized_and_process(self):
        self.assertEqual(self.h.events("initialized"), [{}])
        self.assertEqual(self.h.events("process")[0]["systemProcessId"], os.getpid())

    def test_breakpoint_stack_variables_evaluate_step_continue(self):
        h = self.h
        body = h.set_breakpoints(["leaf1"])
        self.assertEqual([(b["verified"], b["line"]) for b in body["breakpoints"]], [(True, line_of("leaf1"))])
        h.request("configurationDone")
        self.assertTrue(h.configured.is_set())
        t, result = h.start(tracee.outer, 1)
        stop = h.wait_event("stopped")
        self.assertEqual(stop["reason"], "breakpoint")
        self.assertTrue(stop["allThreadsStopped"])
        tid = stop["threadId"]
        names = [th["name"] for th in h.request("threads")["threads"]]
        self.assertIn(t.name, names)
        stack = h.request("stackTrace", {"threadId": tid})
        self.assertEqual([f["name"] for f in stack["stackFrames"][:3]], ["leaf", "middle", "outer"])
        self.assertEqual(stack["stackFrames"][0]["line"], line_of("leaf1"))
        self.assertEqual(stack["stackFrames"][0]["source"]["path"], os.path.normcase(os.path.abspath(
            tracee.__file__)))
        self.assertGreaterEqual(stack["totalFrames"], 3)
        frame_id = stack["stackFrames"][0]["id"]
        self.assertEqual(h.locals_of(frame_id)["n"]["value"], "1")
        self.assertEqual(h.request("evaluate", {"expression": "n * 10", "frameId": frame_id,
                                                "context": "watch"})["result"], "10")
        h.request("evaluate", {"expression": "n = 5", "frameId": frame_id, "context": "repl"})
        self.assertEqual(h.locals_of(frame_id)["n"]["value"], "5")
        h.request("next", {"threadId": tid})
        stop = h.wait_event("stopped")
        self.assertEqual(stop["reason"], "step")
        top = h.top(tid)
        self.assertEqual(top["line"], line_of("leaf2"))
        self.assertEqual(h.locals_of(top["id"])["total"]["value"], "10")
        h.request("continue", {"threadId": tid})
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["value"], 12)  # the assignment n = 5 really changed the running frame


if __name__ == "__main__":
    unittest.main()
