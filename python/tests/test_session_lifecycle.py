"""DebugSession: break_into, agent faults never reaching the program, terminate (in a child process)."""

import os
import subprocess
import sys
import textwrap
import threading
import time
import unittest

from tests.session_support import Harness, line_of, tracee
from tests.tracer_support import ScriptPolicy, new_tracer, run_in_thread, TRACEE


class BreakInto(unittest.TestCase):
    def test_break_into_then_step(self):
        h = Harness()
        try:
            def body():
                h.session.break_into(sys._getframe())
                a = 1
                b = a + 1
                return b
            t, result = h.start(body)
            stop = h.wait_event("stopped")
            self.assertEqual(stop["reason"], "pause")
            self.assertEqual(h.top(stop["threadId"])["name"], "BreakInto.test_break_into_then_step.<locals>.body"
                             if sys.version_info >= (3, 11) else "body")
            h.request("next", {"threadId": stop["threadId"]})
            stop = h.wait_event("stopped")
            self.assertEqual(stop["reason"], "step")
            h.request("continue", {})
            t.join(5)
            self.assertEqual(result["value"], 2)
        finally:
            h.close()


class AgentFaults(unittest.TestCase):
    def test_a_policy_that_raises_never_reaches_the_program(self):
        policy = ScriptPolicy()

        def broken(frame):
            raise RuntimeError("a bug in the agent")
        policy.break_at_line = broken
        policy.break_at_function = broken
        tracer = new_tracer(policy)
        try:
            tracer.set_lines({TRACEE: {line_of("leaf1")}})
            tracer.set_functions(["middle"])
            self.assertEqual(run_in_thread(tracee.outer, 1), 4)
        finally:
            tracer.uninstall()

    def test_requests_after_close_are_refused_politely(self):
        h = Harness()
        h.close()
        e = h.error("threads")
        self.assertEqual(e.code, "LR_BAD_REQUEST")
        self.assertIn("attach again", e.message)
        h.session.close()  # a second close is harmless


CHILD = textwrap.dedent("""
    import sys, threading, time
    sys.path.insert(0, %r)
    from longreach._threads import start_agent_thread
    from longreach.session import DebugSession
    session = DebugSession(lambda m: None, "127.0.0.1:1", {})
    session.handle("attach", {"redirectOutput": False})

    def terminate():
        time.sleep(0.2)
        session.handle("terminate", {})
    start_agent_thread(terminate, "terminator")
    n = 0
    while True:  # busy: the SystemExit is delivered at the next bytecode
        n += 1
""")


class Terminate(unittest.TestCase):
    def test_terminate_ends_the_program(self):
        python_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", CHILD % python_dir], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30)
        self.assertLess(time.monotonic() - started, 15)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode()[-2000:])
        self.assertEqual(proc.stdout, b"")


if __name__ == "__main__":
    unittest.main()


FORK_CHILD = textwrap.dedent("""
    import os, sys, threading
    sys.path.insert(0, %r)
    from tests.session_support import Harness, tracee
    h = Harness()
    h.set_breakpoints(["leaf1"])
    held, release = threading.Event(), threading.Event()

    def holder():  # an agent thread mid-update when the program forks: it does not exist in the child
        with h.session.tracer._lock, h.session.coord._cond:
            held.set()
            release.wait(10)
    threading.Thread(target=holder).start()
    held.wait(10)
    pid = os.fork()
    if pid == 0:
        h.session.close()  # what the server does in a forked child
        result = tracee.outer(1)  # no tracing left: runs straight through
        os._exit(0 if result == 4 and sys.gettrace() is None else 3)
    release.set()
    _, status = os.waitpid(pid, 0)
    h.close()
    sys.exit(os.WEXITSTATUS(status))
""")


class Fork(unittest.TestCase):
    def test_forked_child_closes_its_inherited_session(self):
        python_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        proc = subprocess.run([sys.executable, "-c", FORK_CHILD % python_dir], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode()[-2000:])


class DetachWhileStopped(unittest.TestCase):
    def test_agent_threads_have_ended_when_close_returns(self):
        # On 3.12+ (sys.monitoring is global) an agent thread that had already left AGENT_THREAD_IDS while running
        # threading's code at its very end was paused with the program's threads: detaching from a stop waited
        # out the 1 s join of the thread watcher, and the next attach stopped about 1 s late.
        h = Harness()
        try:
            h.set_breakpoints(["leaf1"])
            h.request("configurationDone", {})
            t, result = h.start(tracee.outer, 1)
            h.wait_event("stopped")
            time.sleep(0.5)  # the watcher looks every 0.2 s: let it run while the program is stopped
            watcher = h.session.thread_events._watcher
            self.assertIsNotNone(watcher)
            h.session.thread_events.stop()  # what detaching does first, with the program still stopped
            self.assertFalse(watcher.is_alive(), "the thread watcher was paused like a program thread")
        finally:
            h.close()
        t.join(5)
        self.assertEqual(result["value"], 4)


class NothingKeptPerAttach(unittest.TestCase):
    def test_a_closed_session_is_freed_and_output_tees_are_reused(self):
        # Retired output tees were kept for good, each holding its session (and through it the tracer, the
        # connection, ...): about 24 KB per attach that never came back (found by npm run bench:soak).
        import gc
        import weakref
        from longreach.session import output
        sessions = []
        for _ in range(20):
            h = Harness(redirect_output=True)
            sys.stdout.write("")  # through the tee
            sessions.append(weakref.ref(h.session))
            h.close()
            del h
        gc.collect()
        self.assertEqual([s for s in sessions if s() is not None], [])
        self.assertLessEqual(len(output._RETIRED), 2 * 2)  # stdout and stderr, at most one spare of each
