"""The longreach/stacks request (`longreach stacks`): every thread's stack read without stopping anything."""

import sys
import threading
import time
import unittest

from tests.session_support import Harness


def blocked_here(event):
    event.wait(30)


def calls_blocked(event):
    blocked_here(event)


def waiting_in(thread, name, timeout=10):
    """Waits until `thread` runs inside a function called `name` (a thread just started may still be in bootstrap)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = sys._current_frames().get(thread.ident)
        while frame is not None and frame.f_code.co_name != name:
            frame = frame.f_back
        if frame is not None:
            return
        time.sleep(0.01)
    raise AssertionError("thread %s never reached %s" % (thread.name, name))


class Stacks(unittest.TestCase):
    def setUp(self):
        self.h = Harness()
        self.evt = threading.Event()

    def tearDown(self):
        self.evt.set()
        self.h.close()

    def test_every_user_thread_with_its_frames_innermost_first_and_nothing_stops(self):
        t = threading.Thread(target=calls_blocked, args=(self.evt,), name="blocked-one")
        t.start()
        try:
            waiting_in(t, "wait")  # Event.wait, called by blocked_here
            body = self.h.request("longreach/stacks", {"levels": 3})
            full = self.h.request("longreach/stacks", {})
        finally:
            self.evt.set()
            t.join(5)
        threads = dict((th["name"], th) for th in body["threads"])
        self.assertEqual(len(threads["blocked-one"]["frames"]), 3)  # levels bounds the frames, not totalFrames
        names = [f["name"].rpartition(".")[2] for f in dict((th["name"], th) for th in full["threads"])[
            "blocked-one"]["frames"]]
        # innermost first: Event.wait (and the Condition below it) above our two functions
        at = names.index("blocked_here")
        self.assertEqual(names[at - 1:at + 2], ["wait", "blocked_here", "calls_blocked"])
        self.assertEqual(self.h.events("stopped"), [])
        for th in full["threads"]:
            self.assertGreaterEqual(th["totalFrames"], len(th["frames"]))
            for frame in th["frames"]:
                self.assertEqual(sorted(frame), ["line", "name", "path"])
        self.assertEqual(threads["blocked-one"]["id"], self.h.session.dap_tid(t.ident))
        self.assertGreater(threads["blocked-one"]["totalFrames"], 3)


if __name__ == "__main__":
    unittest.main()
