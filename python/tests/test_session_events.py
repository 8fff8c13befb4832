"""Events the client cannot infer from its own requests (docs/protocol.md 5.2): `continued` after a step, `thread`
while the program runs, and `exited` before `terminated` on a terminate request. In-process first, then on the wire
through the real server in a child process."""

import os
import shutil
import sys
import tempfile
import threading
import unittest

from tests.session_support import Harness, tracee
from .support import Client
from .support.child import Child


def _names(messages, wanted):
    return [m["event"] for m in messages if m.get("type") == "event" and m.get("event") in wanted]


class InProcess(unittest.TestCase):
    def setUp(self):
        self.h = Harness()
        self.addCleanup(self.h.close)

    def test_a_step_is_followed_by_continued_then_its_stop_and_continue_by_neither(self):
        h = self.h
        h.set_breakpoints(["leaf1"])
        t, result = h.start(tracee.outer, 1)
        stop = h.wait_event("stopped")
        h.set_breakpoints([])
        h.request("next", {"threadId": stop["threadId"]})
        continued = h.wait_event("continued")
        self.assertEqual(continued, {"threadId": stop["threadId"], "allThreadsContinued": True})
        self.assertEqual(h.wait_event("stopped")["reason"], "step")  # after the continued event
        h.request("continue", {"threadId": stop["threadId"]})
        t.join(10)
        self.assertEqual(result["value"], 4)
        self.assertEqual(_names(h.messages, ("stopped", "continued")), ["stopped", "continued", "stopped"])

    def test_threads_starting_and_ending_while_running_are_announced(self):
        h = self.h
        h.request("configurationDone")
        go = threading.Event()
        t, _ = h.start(go.wait, 30)
        tid = h.session.dap_tid(t.ident)
        h.wait_event("thread", pred=lambda b: b == {"reason": "started", "threadId": tid})
        self.assertIn(tid, [th["id"] for th in h.request("threads")["threads"]])
        go.set()
        t.join(10)
        h.wait_event("thread", pred=lambda b: b == {"reason": "exited", "threadId": tid})
        self.assertEqual(h.events("stopped"), [])

    def test_the_watcher_runs_only_from_configuration_done_to_detach_and_is_hidden(self):
        h = self.h
        events = h.session.thread_events
        self.assertIsNone(events._watcher, "nothing may run before the client is configured")
        h.request("configurationDone")
        watcher = events._watcher
        self.assertTrue(watcher.is_alive())
        names = [th["name"] for th in h.request("threads")["threads"]]
        self.assertFalse([n for n in names if n.startswith("longreach")], names)
        h.session.close()
        self.assertFalse(watcher.is_alive(), "the watcher outlived the session")


PROGRAM = """\
import sys, threading, time
import longreach
host, port = longreach.enable_attach(None, ("127.0.0.1", 0))
print(port, flush=True)
def work(n):
    total = n * 2  # line 6: breakpoint
    return total
longreach.wait_for_attach(30)
mode = sys.argv[1]
if mode == "step":
    # a thread started after attach: every runtime traces it
    worker = threading.Thread(target=lambda: print("result", work(21), flush=True))
    worker.start()
    worker.join()
elif mode == "threads":
    sys.stdin.readline()
    go = threading.Event()
    short = threading.Thread(target=go.wait, args=(30,), name="short-lived")
    short.start()
    print("started", flush=True)
    sys.stdin.readline()
    go.set()
    short.join()
    print("ended", flush=True)
    sys.stdin.readline()
elif mode == "terminate":
    print("running", flush=True)
    for _ in range(600):  # the agent's SystemExit arrives between two sleeps
        time.sleep(0.05)
print("done", flush=True)
"""


class OnTheWire(unittest.TestCase):
    def start(self, mode):
        directory = tempfile.mkdtemp(prefix="longreach-events-")
        self.addCleanup(shutil.rmtree, directory, True)
        self.path = os.path.join(directory, "prog.py")
        with open(self.path, "w") as f:
            f.write(PROGRAM)
        child = Child("", argv=[sys.executable, self.path, mode], cwd=directory)
        self.addCleanup(child.kill)
        client = Client(int(child.line()), timeout=20)
        self.addCleanup(client.close)
        client.initialize()
        self.assertTrue(client.request("attach", {"redirectOutput": False})["success"])
        return child, client

    def test_step_response_then_continued_then_stopped(self):
        child, client = self.start("step")
        client.request("setBreakpoints", {"source": {"path": self.path}, "breakpoints": [{"line": 6}]})
        self.assertTrue(client.request("configurationDone")["success"])
        tid = client.event("stopped")["body"]["threadId"]
        client.request("setBreakpoints", {"source": {"path": self.path}, "breakpoints": []})
        self.assertTrue(client.request("next", {"threadId": tid})["success"])
        self.assertEqual(_names(client.backlog, ("stopped", "continued")), [], "events before the step response")
        order = []
        while len(order) < 2:
            message = client.expect(lambda m: m.get("event") in ("stopped", "continued"))
            order.append((message["event"], message["body"]))
        self.assertEqual(order[0], ("continued", {"threadId": tid, "allThreadsContinued": True}))
        self.assertEqual((order[1][0], order[1][1]["reason"]), ("stopped", "step"))
        self.assertTrue(client.request("continue", {"threadId": tid})["success"])
        rest = client.expect_closed()
        self.assertEqual(_names(rest, ("stopped", "continued")), [], "continue is answered by its response alone")
        self.assertEqual(child.line(), "result 42")
        self.assertEqual(child.wait(), 0)

    def test_thread_events_reach_the_client_while_nothing_is_stopped(self):
        child, client = self.start("threads")
        self.assertTrue(client.request("configurationDone")["success"])
        child.send("")
        self.assertEqual(child.line(), "started")
        threads = client.request("threads")["body"]["threads"]
        tid = [t["id"] for t in threads if t["name"] == "short-lived"][0]
        client.expect(lambda m: m.get("event") == "thread" and m["body"] == {"reason": "started", "threadId": tid})
        child.send("")
        self.assertEqual(child.line(), "ended")
        client.expect(lambda m: m.get("event") == "thread" and m["body"] == {"reason": "exited", "threadId": tid})
        child.send("")
        self.assertEqual(child.line(), "done")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(_names(client.expect_closed(), ("stopped",)), [])
        self.assertEqual(child.stderr(), "")

    def test_terminate_sends_exited_then_terminated(self):
        child, client = self.start("terminate")
        self.assertTrue(client.request("configurationDone")["success"])
        self.assertEqual(child.line(), "running")
        self.assertTrue(client.request("terminate")["success"])
        seen = client.expect_closed()
        self.assertEqual(_names(seen, ("exited", "terminated")), ["exited", "terminated"])
        self.assertEqual([m["body"] for m in seen if m.get("event") == "exited"], [{"exitCode": 0}])
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")


if __name__ == "__main__":
    unittest.main()
