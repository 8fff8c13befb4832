"""All-stop coordination of debuggee threads.

When one thread stops (the *leader*), the tracer is asked to pause every other thread at its next line; those
*followers* block silently (the leader's stopped event says allThreadsStopped). Any resume (continue or a step)
releases everyone together. A stopped thread also serves as the place where user code runs on the debugger's
behalf (evaluate, reprs): jobs are handed to it so they run with its thread-local state, and with `tracer.quiet`
so they never stop on a breakpoint themselves.
"""

import sys
import threading
import time

from longreach import log
from longreach._threads import AGENT_THREAD_IDS, start_agent_thread
from longreach.session.budget import BudgetExceeded, EvaluationInterrupted, Job

__all__ = ["Coordinator", "ThreadStop", "user_threads"]

_log = log.get_logger("dap")


def user_threads():
    """{ident: Thread or None} of the program's threads (agent threads hidden)."""
    known = dict((t.ident, t) for t in threading.enumerate())
    out = {}
    for ident in sys._current_frames():
        if ident not in AGENT_THREAD_IDS:
            out[ident] = known.get(ident)
    for ident, t in known.items():
        if ident is not None and ident not in AGENT_THREAD_IDS and ident not in out and t.is_alive():
            out[ident] = t
    return out


class ThreadStop(object):
    __slots__ = ("tid", "frame", "reason", "exc", "hits", "jobs", "busy")

    def __init__(self, tid, frame, reason, exc, hits=None):
        self.tid, self.frame, self.reason, self.exc, self.hits = tid, frame, reason, exc, hits
        self.jobs = []
        self.busy = None  # the job running now


class Coordinator(object):
    def __init__(self, tracer, on_stopped):
        """on_stopped(thread_stop) is called on the leader's thread, once per all-stop, to send the event."""
        self.tracer = tracer
        self.on_stopped = on_stopped
        self._cond = threading.Condition()
        self.stopped = {}          # tid -> ThreadStop (leader and followers)
        self.leader = None
        self._generation = 0
        self._closed = False
        self.pause_requested = False

    # ---- debuggee threads ----
    def stop(self, frame, reason, exc=None, forced=False, hits=None):
        tid = threading.get_ident()
        if tid in AGENT_THREAD_IDS:
            return
        with self._cond:
            if self._closed or tid in self.stopped:
                return
            lead = self.leader is None
            if lead and reason == "pause" and not (forced or self.pause_requested):
                return  # a late pause from an all-stop that has already been resumed
            if lead:
                self.pause_requested = False
                self.leader = tid
            st = ThreadStop(tid, frame, reason, exc, hits)
            self.stopped[tid] = st
            generation = self._generation
        if lead:
            try:
                self.tracer.pause_all()
                self.on_stopped(st)
            except Exception:
                _log.exception("announcing a stop failed")
        self._wait(st, generation)

    def _wait(self, st, generation):
        cond = self._cond
        with cond:
            try:
                while generation == self._generation and not self._closed:
                    if st.jobs:
                        job = st.jobs.pop(0)
                        st.busy = job
                        cond.release()
                        self.tracer.quiet.add(st.tid)
                        try:
                            self._run_job(job)
                        finally:
                            self.tracer.quiet.discard(st.tid)
                            cond.acquire()
                            st.busy = None
                            cond.notify_all()
                        continue
                    try:
                        cond.wait(1.0)
                    except EvaluationInterrupted:
                        pass  # a late interrupt of an ended job (session/budget.py): never passed on to the program
            finally:
                if self.stopped.get(st.tid) is st:
                    del self.stopped[st.tid]

    @staticmethod
    def _run_job(job):
        for _ in range(3):
            try:
                job.run()
                return
            except EvaluationInterrupted as e:
                # it arrived outside fn, before run() could catch it: meant for an earlier job whose wait for it
                # ran out (session/budget.py). Run this one again if it had not begun, or end it with the interrupt
                if not job.recover(e):
                    return
        job.recover(EvaluationInterrupted())

    # ---- agent side ----
    def request_pause(self):
        with self._cond:
            if self.leader is not None:
                return False
            self.pause_requested = True
        self.tracer.pause_all()
        return True

    def resume(self, step=None):
        """Release every stopped thread; step = (tid, kind) makes that thread step first."""
        with self._cond:
            if step is not None and step[0] not in self.stopped:
                return False
            self.tracer.clear_steps()  # a resume ends every earlier, unfinished step
            if step is not None:
                tid, kind = step
                self.tracer.step(tid, kind, self.stopped[tid].frame)
            self.tracer.resume()
            self.leader = None
            self._generation += 1
            self._cond.notify_all()
        return True

    def close(self):
        with self._cond:
            self._closed = True
            self.leader = None
            self._generation += 1
            self._cond.notify_all()

    def is_stopped(self):
        return self.leader is not None

    def run(self, fn, timeout, tid=None):
        """Run fn() on a stopped thread (the leader unless tid is given) and return its result; re-raises fn's
        exception. Past `timeout` seconds fn is interrupted (session/budget.py) and BudgetExceeded is raised.
        While the stopped thread is still inside an earlier job that could not be interrupted (native code),
        BudgetExceeded(busy=True) says so at once."""
        with self._cond:
            st = self.stopped.get(tid if tid is not None else self.leader)
            settle_until = None
            while st is not None and st.busy is not None:
                earlier = st.busy
                if not earlier.done.is_set():
                    # an interrupted job may need a moment to unwind on a loaded machine; any other is busy
                    if not earlier.interrupted:
                        raise BudgetExceeded(timeout, interrupted=False, busy=True)
                    if settle_until is None:
                        settle_until = time.monotonic() + 1.0
                        earlier.interrupt()  # again: the interpreter may have swallowed the last one (budget.py)
                    if time.monotonic() >= settle_until:
                        raise BudgetExceeded(timeout, interrupted=False, busy=True)
                self._cond.wait(0.05)  # _wait notifies when it has taken the finished job off
            job = Job(fn)
            if st is not None:
                st.jobs.append(job)
                self._cond.notify_all()
        if st is None:
            start_agent_thread(job.run, "longreach-eval")
        return job.wait(timeout)
