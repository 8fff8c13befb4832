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
absorbs it. A job is interrupted once (user code that swallows BaseException goes on, and is reported as still
running).
"""

import os
import sys
import threading
import time

from longreach.errors import LongreachError

__all__ = ["EvaluationInterrupted", "Job", "CAN_INTERRUPT", "BudgetExceeded", "eval_budget", "over_budget",
           "GRACE"]

# how long after the budget the agent waits for an interrupted job to unwind before it says "still running"
GRACE = 0.09


class EvaluationInterrupted(BaseException):
    """Raised inside user code that ran past its budget."""


class BudgetExceeded(TimeoutError):
    """A job ran past its budget. `interrupted`: it was stopped; otherwise it is still running (native code)."""

    def __init__(self, budget, interrupted, busy=False):
        self.budget = budget
        self.interrupted = interrupted
        self.busy = busy
        TimeoutError.__init__(self, self.describe())

    def describe(self):
        if self.busy:
            return ("the stopped thread is still running an earlier evaluation that could not be interrupted "
                    "(native code); values that need no code of the program are still shown - continue the "
                    "program, or wait for it to return")
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


_RAISERS = _raisers()
CAN_INTERRUPT = _RAISERS is not None


class Job(object):
    """fn() run once on some thread; `interrupt()` from another thread stops it if it is still running."""
    __slots__ = ("fn", "done", "result", "error", "tid", "_lock", "_running", "_raised", "_delivered")

    def __init__(self, fn):
        self.fn = fn
        self.done = threading.Event()
        self.result = self.error = None
        self.tid = None
        self._lock = threading.Lock()
        self._running = False
        self._raised = False
        self._delivered = False

    def run(self):
        with self._lock:
            self.tid = threading.get_ident()
            self._running = True
        started = False
        while True:
            try:
                if not started:
                    started = True
                    try:
                        self.result = self.fn()
                    except BaseException as e:  # noqa: B902 - user code may raise anything, SystemExit included
                        self.error = e
                        if isinstance(e, EvaluationInterrupted):
                            self._delivered = True
                self._settle()
                break
            except EvaluationInterrupted as e:  # delivered between fn's end and _settle
                self._delivered = True
                if self.error is None:
                    self.error = e
        self.done.set()

    def _settle(self):
        with self._lock:
            self._running = False
            raised = self._raised
        if raised and not self._delivered:
            # fn ended just as the interrupt was raised: let it arrive here, where run() catches it (it is
            # not cleared with SetAsyncExc(NULL): on CPython 3.9-3.11 that leaves the interpreter-wide flag set)
            deadline = time.monotonic() + 0.2
            while not self._delivered and time.monotonic() < deadline:
                time.sleep(0.001)

    def interrupt(self):
        """Raise EvaluationInterrupted in the job's thread if fn is still running; True when raised."""
        if _RAISERS is None:
            return False
        with self._lock:
            if not self._running or self.tid is None or self._raised:
                return False  # once: a second pending exception could outlive the job
            self._raised = True
            _RAISERS[0](self.tid)
            return True

    @property
    def interrupted(self):
        """True once interrupt() has raised in the job's thread."""
        return self._raised

    def wait(self, budget):
        """fn's result; BudgetExceeded when it runs past `budget` (interrupted if it can be), fn's exception."""
        if not self.done.wait(budget):
            end = time.monotonic() + GRACE
            self.interrupt()
            self.done.wait(max(0.0, end - time.monotonic()))
            if not self.done.is_set():
                raise BudgetExceeded(budget, interrupted=False)
            if isinstance(self.error, EvaluationInterrupted) or self._raised:
                raise BudgetExceeded(budget, interrupted=True)
        if self.error is not None:
            raise self.error
        return self.result
