"""Budgets for the user code the agent runs (reprs, summaries, evaluate, watch, hover, completions).

A job runs on a stopped thread; when it runs past its budget the agent raises `EvaluationInterrupted` in that
thread - CPython: PyThreadState_SetAsyncExc through ctypes; PyPy: __pypy__.thread._raise_in_thread - so a
`while True: pass` typed at the prompt ends and the thread goes back to waiting, its state as it was (the
exception is a BaseException: `except Exception` in the program's code does not swallow it, `finally` blocks run).
Code that does not return to the interpreter within GRACE of the interrupt (a long native call, a blocking read)
cannot be interrupted at once: the job is left running, the session stays usable and says so, and the interrupt
stays pending, to end the evaluation when the native call returns. (It is not taken back: on CPython 3.9-3.11
clearing it leaves the interpreter-wide "async exception" flag set, which disturbs tracing in other threads
until some thread takes an asynchronous exception; delivering it resets the flag.)

The race between the interrupt and the job finishing on its own is closed on the job's side: it marks itself
finished under a lock the interrupter also takes, then waits for an interrupt raised too late to arrive and
absorbs it. An interrupt can also be lost: delivered while the thread runs a weakref callback or a __del__ (a
garbage collection in the middle of the evaluation), where the interpreter only prints "Exception ignored"; so
the agent raises again RETRY s later while the job runs, within GRACE, and whenever a later request finds it still
running. The job notes whether an interrupt is on its way; the stopped thread's wait loop (session/threads.py) absorbs
one that still arrives after the job ended, so it never reaches the program or the next evaluation.

The budget is the job's own time on the stopped thread: it counts from the moment the thread begins the job, not
from when it was handed over (on a loaded machine waking the thread can take a large part of a short budget). A
job the thread has not begun within HANDOFF s (or its budget, if longer) is cancelled and never runs
(BudgetExceeded.late). And past GRACE an interrupted thread that has not had the CPU since the interrupt (Linux:
/proc/self/task) is not taken for one stuck in native code: it gets up to GRACE_STARVED.
"""

import os
import sys
import threading
import time

from longreach.errors import LongreachError

__all__ = ["EvaluationInterrupted", "Job", "CAN_INTERRUPT", "BudgetExceeded", "eval_budget", "over_budget",
           "GRACE"]

# how long after the budget the agent waits for an interrupted job to unwind before it says "still running" (a
# loaded machine can take a few hundred ms to give the interrupted thread the CPU); it re-raises every RETRY s
GRACE = 0.5
RETRY = 0.2
# how long a job that was interrupted as it ended waits for that interrupt to arrive
SETTLE = 0.2
# past GRACE, how long the agent goes on waiting for an interrupted thread that has not had the CPU since
GRACE_STARVED = 5.0
# how long the stopped thread may take to begin a job (at least its budget); past it the job is cancelled
HANDOFF = 5.0


class EvaluationInterrupted(BaseException):
    """Raised inside user code that ran past its budget."""


class BudgetExceeded(TimeoutError):
    """A job ran past its budget. `interrupted`: it was stopped; otherwise it is still running (native code)."""

    def __init__(self, budget, interrupted, busy=False, late=False):
        self.budget = budget
        self.interrupted = interrupted
        self.busy = busy
        self.late = late
        TimeoutError.__init__(self, self.describe())

    def describe(self):
        if self.busy:
            return ("the stopped thread is still running an earlier evaluation that could not be interrupted "
                    "(native code); values that need no code of the program are still shown - continue the "
                    "program, or wait for it to return")
        if self.late:
            return ("the stopped thread did not begin the evaluation within %s s (the machine is too busy); nothing "
                    "was run - try again" % _num(max(self.budget, HANDOFF)))
        if self.interrupted:
            return ("evaluation ran past its %s s budget and was interrupted" % _num(self.budget))
        return ("evaluation ran past its %s s budget and is still running in native code, which cannot be "
                "interrupted" % _num(self.budget))


def _num(x):
    return ("%.1f" % x).rstrip("0").rstrip(".")


def eval_budget(context):
    """Seconds an evaluation of this DAP context may run; LONGREACH_EVAL_BUDGET (read when asked) sets the
    budget of the prompt (repl), and caps nothing else."""
    if context == "repl":
        text = os.environ.get("LONGREACH_EVAL_BUDGET")
        if text:
            try:
                value = float(text)
                if value > 0:
                    return value
            except ValueError:
                pass
        return 10.0
    return 2.0


def over_budget(e):
    """LR_EVAL_BUDGET for a BudgetExceeded: which budget, what became of the evaluation, how to get a longer one."""
    text = str(e)
    prompt = eval_budget("repl")
    if e.busy:
        pass
    elif e.budget >= prompt:
        text += "; start the program with LONGREACH_EVAL_BUDGET=SECONDS for a longer one"
    else:
        text += ("; evaluate it at the prompt (print), where the budget is %s s (LONGREACH_EVAL_BUDGET=SECONDS in "
                 "the program's environment sets it)" % _num(prompt))
    return LongreachError("LR_EVAL_BUDGET", text)


def _raisers():
    """(raise_in(tid),), or None where this interpreter offers no way to raise in another thread."""
    if sys.implementation.name == "pypy":
        try:
            from __pypy__.thread import _raise_in_thread
        except ImportError:
            return None
        return (lambda tid: _raise_in_thread(tid, EvaluationInterrupted)),
    try:
        import ctypes
        fn = ctypes.pythonapi.PyThreadState_SetAsyncExc
        fn.argtypes = [ctypes.c_ulong, ctypes.py_object]
        fn.restype = ctypes.c_int
    except Exception:
        return None
    return (lambda tid: fn(tid, EvaluationInterrupted)),


def _cpu_runnable(nid):
    """(CPU seconds, runnable) of this process's thread with native id `nid` (Linux /proc), or None."""
    if nid is None:
        return None
    try:
        with open("/proc/self/task/%d/stat" % nid, "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(_TICKS), fields[0] == b"R"
    except (OSError, ValueError, IndexError):
        return None


try:
    _TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):
    _TICKS = 100


_RAISERS = _raisers()
CAN_INTERRUPT = _RAISERS is not None


class Job(object):
    """fn() run once on some thread; `interrupt()` from another thread stops it if it is still running."""
    __slots__ = ("fn", "started", "done", "result", "error", "tid", "nid", "began", "_lock", "_state", "_called",
                 "_raised", "_pending")

    def __init__(self, fn):
        self.fn = fn
        self.started = threading.Event()
        self.done = threading.Event()
        self.result = self.error = None
        self.tid = self.nid = None
        self.began = None
        self._lock = threading.Lock()
        self._state = "queued"  # -> running -> finished; or cancelled (its waiter gave up before it began)
        self._called = False
        self._raised = 0        # interrupts raised in the job's thread
        self._pending = False   # one raised and not yet arrived (a second raise replaces a pending one)

    def run(self):
        with self._lock:
            if self._state != "queued":
                return  # cancelled: nobody waits for it any more, and it must not run late
            self.tid = threading.get_ident()
            self.nid = getattr(threading, "get_native_id", lambda: None)()
            self.began = time.monotonic()
            self._state = "running"
        self.started.set()
        started = False
        while True:
            try:
                if not started:
                    started = True
                    try:
                        self._called = True
                        self.result = self.fn()
                    except BaseException as e:  # noqa: B902 - user code may raise anything, SystemExit included
                        self.error = e
                        if isinstance(e, EvaluationInterrupted):
                            self._pending = False
                self._settle()
                break
            except EvaluationInterrupted as e:  # delivered between fn's end and _settle, or during it
                self._pending = False
                if self.error is None:
                    self.error = e
        self.done.set()

    def recover(self, e):
        """run() was cut short outside fn by `e`, a late interrupt meant for an earlier job. True when fn had not
        been called and this job was never interrupted: it is queued again, for the stopped thread to run now.
        Otherwise the job ends with `e`."""
        with self._lock:
            if self._state in ("queued", "running") and not self._called and self._raised == 0:
                self._state = "queued"
                return True
            if self._state in ("queued", "running"):
                self._state = "finished"
        if not self.done.is_set():
            if self.error is None:
                self.error = e
            self.started.set()
            self.done.set()
        return False

    def _settle(self):
        with self._lock:
            self._state = "finished"  # from here on interrupt() raises nothing more
            owed = self._pending
        if owed:
            # an interrupt raised as fn ended is still on its way: let it arrive here, where run() catches it,
            # rather than in the next job or in the program (it is not cleared with SetAsyncExc(NULL): on CPython
            # 3.9-3.11 that leaves the interpreter-wide flag set). One the interpreter swallowed (it arrived in a
            # weakref callback or __del__ and was "ignored") never comes: the wait is bounded.
            deadline = time.monotonic() + SETTLE
            while self._pending and time.monotonic() < deadline:
                time.sleep(0.001)

    def interrupt(self):
        """Raise EvaluationInterrupted in the job's thread if fn is still running; True when raised. Raising again
        while it runs is how an interrupt the interpreter swallowed (delivered inside a weakref callback or a
        __del__, where exceptions are only printed) is made good."""
        if _RAISERS is None:
            return False
        with self._lock:
            if self._state != "running" or self.tid is None:
                return False
            self._raised += 1
            self._pending = True
            _RAISERS[0](self.tid)
            return True

    @property
    def interrupted(self):
        """True once interrupt() has raised in the job's thread."""
        return self._raised > 0

    def cancel(self):
        """Take back a job the stopped thread has not begun; True when it will never run."""
        with self._lock:
            if self._state == "queued":
                self._state = "cancelled"
                return True
        return False

    def wait(self, budget):
        """fn's result; BudgetExceeded when it runs past `budget` (interrupted if it can be), fn's exception.
        The budget is fn's own time: it counts from the moment the stopped thread begins the job, which on a loaded
        machine can be a while after it was handed over. A job not begun within HANDOFF s is cancelled."""
        handoff = max(budget, HANDOFF)
        if not self.started.wait(handoff) and self.cancel():
            raise BudgetExceeded(budget, interrupted=False, late=True)
        if not self.started.wait(handoff):  # cancel() failed: begun or ended at this instant, so set at once
            raise BudgetExceeded(budget, interrupted=False, late=True)
        began = self.began if self.began is not None else time.monotonic()
        if not self.done.wait(max(0.0, began + budget - time.monotonic())):
            now = time.monotonic()
            end, last = now + GRACE, now + GRACE_STARVED
            cpu = _cpu_runnable(self.nid)
            while True:
                self.interrupt()
                if self.done.wait(RETRY):
                    break
                if time.monotonic() >= end:
                    # past GRACE: still running in native code, unless the thread has not had the CPU since the
                    # interrupt (a loaded machine): then it gets longer, up to GRACE_STARVED
                    now_cpu = _cpu_runnable(self.nid)
                    if time.monotonic() >= last or cpu is None or now_cpu is None or not now_cpu[1] or \
                            now_cpu[0] - cpu[0] >= 0.03:
                        break
            if not self.done.is_set():
                raise BudgetExceeded(budget, interrupted=False)
            if isinstance(self.error, EvaluationInterrupted) or self._raised:
                raise BudgetExceeded(budget, interrupted=True)
        if self.error is not None:
            raise self.error
        return self.result
