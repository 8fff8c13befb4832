"""adopt: giving threads that are already running a trace function, while they change their own."""

import os
import subprocess
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


ENDING_THREADS = """
import sys, threading, time
sys.path.insert(0, %r)
from longreach.tracer import adopt
def fn(frame, event, arg):
    return None
adopt._between_threads = lambda: time.sleep(0.002)  # the GIL passes at every thread of the walk
stop = threading.Event()
def short():
    time.sleep(0.001)
def spawner():
    while not stop.is_set():
        ts = [threading.Thread(target=short) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
s = threading.Thread(target=spawner)
s.start()
me = {threading.get_ident(), s.ident}
deadline = time.monotonic() + 1.5
walks = 0
while time.monotonic() < deadline:
    adopt.settrace_running_threads(fn, me)
    adopt.settrace_running_threads(fn, me, remove=True)
    walks += 1
stop.set()
s.join()
print("walks", walks > 10)
"""


@unittest.skipUnless(adopt.available(), "no adopt on this interpreter (PyPy, CPython 3.12+)")
class EndingThreads(unittest.TestCase):
    def test_threads_that_end_during_the_walk_are_never_touched_after_they_are_freed(self):
        # A thread that ended while the walk held its state (the GIL passes between the walk's steps) had its freed
        # state written to: SIGSEGV at exit, CPython 3.11 in CI. The walk holds threading's registry lock, which a
        # threading.Thread needs on its way out. In a child process, so that a crash is a failure here.
        code = ENDING_THREADS % (os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(adopt.__file__)))),)
        done = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60)
        self.assertEqual((done.returncode, done.stdout, done.stderr), (0, "walks True\n", ""))


if __name__ == "__main__":
    unittest.main()
