"""adopt: giving threads that are already running a trace function, while they change their own."""

import sys
import threading
import time
import unittest

from longreach.tracer import adopt


def _fn(frame, event, arg):
    return None


@unittest.skipUnless(adopt.available(), "no adopt on this interpreter (PyPy, CPython 3.12+)")
class ConcurrentWrites(unittest.TestCase):
    def test_a_thread_changing_its_own_trace_function_meanwhile_keeps_every_count_right(self):
        # CPython 3.8 writes another thread's trace fields in several steps: a thread that set or cleared its own
        # trace function in between had the trace object's reference dropped twice (freed while in use: a forked
        # child crashed so in CI). Switching the GIL every microsecond makes that interleaving common.
        base = sys.getrefcount(_fn)
        probe = adopt._STATE["probe"]
        possible = probe["possible"].value if "possible" in probe else None
        stop = threading.Event()

        def flipper():
            while not stop.is_set():
                adopt.settrace_self(_fn)
                adopt.settrace_self(None)
        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        t = threading.Thread(target=flipper, name="flipper")
        t.start()
        me = {threading.get_ident()}
        try:
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                adopt.settrace_running_threads(_fn, me, only={t.ident})
                adopt.settrace_running_threads(_fn, me, remove=True, only={t.ident})
        finally:
            stop.set()
            t.join(10)
            sys.setswitchinterval(old)
        self.assertFalse(t.is_alive())
        self.assertEqual(sys.getrefcount(_fn), base)
        if possible is not None:
            self.assertEqual(probe["possible"].value, possible)


if __name__ == "__main__":
    unittest.main()
