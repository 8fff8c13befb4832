"""The budget of breakpoint conditions and log-message expressions: user code that a breakpoint runs on the program's
own thread. One that runs past LONGREACH_CONDITION_BUDGET seconds (1 by default) is interrupted with an asynchronous
exception in that thread (CPython: PyThreadState_SetAsyncExc; PyPy: __pypy__.thread._raise_in_thread) and reported
as a condition that raised: the thread stops once, the message naming the budget. The exception never reaches the
program's code.

Nothing is timed per evaluation. One agent thread, running only while some tracer has conditions or log messages
(`want`), samples every thread's stack a few times a second:

- the traced path (conditions evaluated in a trace callback or by the session) runs the evaluation through `run`,
  which notes "this thread began an evaluation at T" in a per-thread slot; the watchdog interrupts a slot older
  than the budget. `run` then marks the evaluation finished under the lock the watchdog raises under, and waits
  (bounded) for an interrupt raised just before that to arrive, absorbing it;
- the compiled path (`try: if COND: hit()` inside the function's copy, tracer/linehook.py) pays nothing more than
  one attribute test (`ARMED.on`) per false evaluation: the watchdog finds a thread whose stack holds a copy's frame
  paused inside the inserted code (its instruction offsets are in `regions`) on a call into user code, and when the
  same callee frame object is still there a budget later, that one evaluation has run for the budget. It then sets
  ARMED.on, registers the evaluation, checks once more that the callee is still running and raises. A condition that
  ended meanwhile sees ARMED.on on its way out and calls `left()`, which absorbs the interrupt like `run` does; one
  that did not end takes the interrupt inside the inserted `try`, whose handler calls `arrived()`.

A thread whose stack shows agent code above the evaluation (stopped at a breakpoint inside the condition's code,
or evaluating for the debugger) is not running the condition: its clock starts again.
"""

import os
import sys
import threading
import time

from longreach import _threads, log

__all__ = ["ConditionInterrupted", "ConditionTimeout", "ARMED", "budget", "run", "left", "arrived", "want",
           "regions", "raise_in", "CAN_INTERRUPT"]

_log = log.get_logger("dap")
DEFAULT = 1.0
SETTLE = 0.2  # how long an evaluation that ended as it was interrupted waits for the interrupt to arrive
_AGENT_DIR = os.path.normcase(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep


class ConditionInterrupted(BaseException):
    """Raised inside a condition that ran past its budget (never seen by the program)."""


class ConditionTimeout(Exception):
    """What a condition that ran past its budget reports, in place of its value."""

    def __init__(self, seconds, what="breakpoint condition"):
        self.budget = seconds
        Exception.__init__(self, "%s ran past its %s s budget and was interrupted; the program is unchanged "
                                 "(LONGREACH_CONDITION_BUDGET=SECONDS in the program's environment sets the budget)"
                           % (what, _num(seconds)))


def _num(x):
    return ("%.2f" % x).rstrip("0").rstrip(".")


def budget():
    """Seconds a condition or log message may run: LONGREACH_CONDITION_BUDGET (read when asked), else 1."""
    text = os.environ.get("LONGREACH_CONDITION_BUDGET")
    if text:
        try:
            value = float(text)
            if value > 0:
                return value
        except ValueError:
            pass
    return DEFAULT


class _Armed(object):
    """Read by every compiled condition on its false path (`ARMED.on`), and by its handler (`ARMED.Interrupted`)."""
    __slots__ = ("on", "Interrupted")


ARMED = _Armed()
ARMED.on = False
ARMED.Interrupted = ConditionInterrupted
class _Switch(list):
    """A list (truth: its length, no Python call) that can sit among a code object's constants (hashable)."""
    __slots__ = ()
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other


# the same switch as a list (empty: off), what CPython 3.8-3.10 copies test: two instructions, no attribute lookup
ARMED_LIST = _Switch()

# copy code object -> frozenset of the byte offsets of its inserted instructions (tracer/linehook.py fills it)
regions = {}


def _raiser():
    if sys.implementation.name == "pypy":
        try:
            from __pypy__.thread import _raise_in_thread
        except ImportError:
            return None
        return _raise_in_thread
    try:
        import ctypes
        fn = ctypes.pythonapi.PyThreadState_SetAsyncExc
        fn.argtypes = [ctypes.c_ulong, ctypes.py_object]
        fn.restype = ctypes.c_int
    except Exception:
        return None
    return fn


_RAISE = _raiser()
CAN_INTERRUPT = _RAISE is not None


def raise_in(tid, exc_type):
    """Raise `exc_type` asynchronously in the thread `tid` (False where the interpreter offers no way)."""
    if _RAISE is None:
        return False
    _RAISE(tid, exc_type)
    return True


class _Eval(object):
    __slots__ = ("tid", "began", "frame", "child", "compiled", "state", "pending")

    def __init__(self, tid, began, frame, child, compiled):
        self.tid, self.began, self.frame, self.child, self.compiled = tid, began, frame, child, compiled
        self.state = "running"  # -> finished (from then on nothing is raised)
        self.pending = False    # an interrupt raised and not yet arrived


_lock = threading.Lock()
_evals = {}       # thread id -> the _Eval it is running (the innermost, when they nest)
_owners = set()
_watch = [None]   # the running _Watchdog, or None


_pausers = set()  # tracers pausing every thread: false compiled conditions report in (PASSING) meanwhile
PASSING = object()


def _rearm():
    on = bool(_pausers) or any(e.compiled for e in _evals.values())
    ARMED.on = on
    ARMED_LIST[:] = [True] if on else []


def pausing(owner, on):
    """While some tracer pauses every thread, a false condition compiled into a function calls its hook too (with
    PASSING), so that a thread that traces nothing (PyPy) stops at such a line as at an unconditional one."""
    _hook_forks()
    with _lock:
        if on:
            _pausers.add(owner)
        else:
            _pausers.discard(owner)
        _rearm()


def is_pausing():
    return bool(_pausers)


def run(fn, *args):
    """(fn(*args), None), or (None, the exception it raised), or (None, ConditionTimeout) when it ran past the
    budget. Only `Exception`s are caught (as a condition's eval always did)."""
    if _watch[0] is None:
        try:
            return fn(*args), None
        except Exception as e:
            return None, e
    tid = threading.get_ident()
    ev = _Eval(tid, time.monotonic(), sys._getframe(), None, False)
    with _lock:
        outer = _evals.get(tid)
        _evals[tid] = ev
    result = None
    started = False
    while True:
        try:
            if not started:
                started = True
                try:
                    result = (fn(*args), None)
                except ConditionInterrupted:
                    ev.pending = False
                    result = (None, ConditionTimeout(budget()))
                except Exception as e:
                    result = (None, e)
            _finish(ev, outer)
            break
        except ConditionInterrupted:  # raised as fn ended, arrived here: absorbed
            ev.pending = False
            if result is None:
                result = (None, ConditionTimeout(budget()))
    return result


def _finish(ev, outer):
    with _lock:
        ev.state = "finished"
        if _evals.get(ev.tid) is ev:
            if outer is not None and outer.state == "running":
                _evals[ev.tid] = outer
            else:
                del _evals[ev.tid]
        owed = ev.pending
    if owed:
        # an interrupt raised as the evaluation ended is on its way: let it arrive here, where the caller catches it
        deadline = time.monotonic() + SETTLE
        while ev.pending and time.monotonic() < deadline:
            time.sleep(0.001)


def left(frame):
    """A compiled condition in `frame` ended (ARMED.on was set): if the watchdog registered it, it is finished, and
    an interrupt raised for it is absorbed here."""
    ev = _evals.get(threading.get_ident())
    if ev is None or not ev.compiled or ev.frame is not frame:
        return
    while True:
        try:
            if ev.state == "running":
                with _lock:
                    _finish_locked(ev)
                    owed = ev.pending
                if owed:
                    deadline = time.monotonic() + SETTLE
                    while ev.pending and time.monotonic() < deadline:
                        time.sleep(0.001)
            return
        except ConditionInterrupted:
            ev.pending = False
            with _lock:
                _finish_locked(ev)


def _finish_locked(ev):
    ev.state = "finished"
    if _evals.get(ev.tid) is ev:
        del _evals[ev.tid]
    _rearm()


def arrived(frame):
    """The interrupt reached a compiled condition's handler in `frame`: what the condition reports. One meant for an
    evaluation further out (this condition runs inside a longer one) goes on to it."""
    ev = _evals.get(threading.get_ident())
    if ev is not None and ev.frame is not frame and ev.pending:
        raise ConditionInterrupted()
    with _lock:
        if ev is not None and ev.frame is frame:
            ev.pending = False
            _finish_locked(ev)
    return ConditionTimeout(budget())


def _interrupt(ev):
    with _lock:
        if ev.state != "running" or ev.pending or _evals.get(ev.tid) is not ev:
            return False
        ev.pending = True
        return raise_in(ev.tid, ConditionInterrupted)


def want(owner, on):
    """Some tracer (`owner`) has conditions or log messages (on) or none any more: the watchdog runs while any has."""
    _hook_forks()
    with _lock:
        if on:
            _owners.add(owner)
        else:
            _owners.discard(owner)
        needed = bool(_owners) and CAN_INTERRUPT
        watch = _watch[0]
        if needed and watch is None:
            watch = _watch[0] = _Watchdog()
            watch.start()
            return
        if needed or watch is None:
            return
        _watch[0] = None
    watch.stop()


_hooked = []


def _hook_forks():
    """The state above changes only through want() and pausing(), so the fork hook is registered there, the first
    time: the forked children of a process where no session has used the watchdog pay nothing for it."""
    if not _hooked and hasattr(os, "register_at_fork"):
        _hooked.append(True)
        os.register_at_fork(after_in_child=_after_fork)


def _after_fork():
    # the watchdog thread is gone in a fork child; the child's own session starts its own
    global _lock
    _lock = threading.Lock()
    _owners.clear()
    _evals.clear()
    _pausers.clear()
    _watch[0] = None
    ARMED.on = False
    ARMED_LIST[:] = []



_agent_files = {}


def _agent(code):
    """True for the agent's own code."""
    name = code.co_filename
    found = _agent_files.get(name)
    if found is None:
        found = _agent_files[name] = not name.startswith("<") and \
            os.path.normcase(os.path.abspath(name)).startswith(_AGENT_DIR)
    return found


class _Watchdog(object):
    def __init__(self):
        self._stop = threading.Event()
        self._thread = None
        self._seen = {}  # thread id -> (copy frame, callee frame, first seen)

    def start(self):
        self._thread = _threads.start_agent_thread(self._loop, "longreach condition watchdog")

    def stop(self):
        self._stop.set()
        t = self._thread
        if t is not None and t.ident != threading.get_ident():
            t.join(2.0)

    def _loop(self):
        while not self._stop.wait(min(0.1, budget() / 4)):
            try:
                self._sample()
            except Exception:
                _log.exception("condition watchdog failed")
        self._seen.clear()

    def _sample(self):
        limit = budget()
        now = time.monotonic()
        seen = {}
        agent_ids = _threads.AGENT_THREAD_IDS
        for tid, top in sys._current_frames().items():
            if tid in agent_ids:
                continue
            ev = _evals.get(tid)
            if ev is not None and not ev.compiled:
                if _agent_between(top, ev.frame):
                    ev.began = now  # stopped, or busy for the debugger: not the condition's time
                elif now - ev.began >= limit:
                    _interrupt(ev)
                continue
            if ev is not None:
                continue  # interrupted already, the interrupt on its way
            found = _in_condition(top)
            if found is None:
                continue
            frame, child = found
            last = self._seen.get(tid)
            if last is not None and last[0] is frame and last[1] is child:
                seen[tid] = last
                if now - last[2] >= limit:
                    self._arm(tid, frame, child, last[2])
            else:
                seen[tid] = (frame, child, now)
        self._seen = seen

    def _arm(self, tid, frame, child, began):
        ev = _Eval(tid, began, frame, child, True)
        with _lock:
            if tid in _evals:
                return
            _evals[tid] = ev
            _rearm()
        # the condition's callee must still be running now that ARMED.on is set: if it returned in between, the
        # condition either saw ARMED.on on its way out (and calls left()) or ended before: nothing is raised then
        now = sys._current_frames().get(tid)
        found = _in_condition(now) if now is not None else None
        if found is not None and found[0] is frame and found[1] is child:
            if _interrupt(ev):
                _log.info("a breakpoint condition in %s ran past its budget: interrupted", frame.f_code.co_name)
                return
        with _lock:
            if ev.state == "running" and not ev.pending:
                _finish_locked(ev)


def _agent_between(top, stop):
    """True when agent code runs above the evaluation that `run` (frame `stop`) began, not counting the function it
    called (the agent's own helper that evaluates)."""
    f = top
    while f is not None and f is not stop and f.f_back is not stop:
        if _agent(f.f_code):
            return True
        f = f.f_back
    return False


def _in_condition(top):
    """(copy frame, its callee frame) for the outermost compiled copy on this stack that is paused inside its
    inserted instructions on a call into user code with no agent code above it (a condition that calls code with
    conditions of its own is one evaluation: the outermost's), else None."""
    if not regions:
        return None
    found = child = None
    f = top
    while f is not None:
        code = f.f_code
        offsets = regions.get(code)
        if offsets is not None and child is not None and f.f_lasti in offsets:
            found = (f, child)
        if _agent(code):
            return found
        child = f
        f = f.f_back
    return found
