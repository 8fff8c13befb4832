"""Give the trace function to threads that were already running (CPython 3.9-3.11).

`sys.settrace` reaches only the calling thread and `threading.settrace` only threads started later. CPython 3.9-3.11
export `_PyEval_SetTrace(tstate, func, arg)`, written to set another thread's trace function from the current one
(it audits in the caller's context and touches only the target's fields), which is what 3.12's
threading.settrace_all_threads does in C. What it needs:

* `func`, the C trampoline behind sys.settrace: found by calling sys.settrace(marker) on this (agent) thread and
  reading this thread's state, where c_traceobj == id(marker) and c_tracefunc sits two pointers before it (the
  layout of 3.9-3.11); each guess is verified (the fields clear again after sys.settrace(None)).
* every thread state and its thread id: PyInterpreterState_ThreadHead / PyThreadState_Next, with the id field's
  offset found the same way (this thread's own id) and verified against sys._current_frames().

We deliberately do not make another thread's state current (PyThreadState_Swap): Python code running with a
foreign thread state current can hit the eval loop's "tstate mix-up" fatal error when the GIL is handed over.
Residual risk, stated: the walk reads the thread list while holding the GIL; if the GIL were handed to another
thread between two steps and a thread exited in that instant, the walk could read a freed state. The walk is a
tight loop of C calls to keep that window to microseconds. Anything unexpected disables the feature (logged).
"""

import sys
import threading

from longreach import log

__all__ = ["available", "settrace_running_threads"]

_log = log.get_logger("dap")
_STATE = {}


def _marker(frame, event, arg):
    return None


def _probe():
    if sys.implementation.name != "cpython" or not ((3, 9) <= sys.version_info < (3, 12)):
        return None
    import ctypes
    api = ctypes.PyDLL(ctypes.pythonapi._name, handle=ctypes.pythonapi._handle)
    get = api.PyThreadState_Get
    get.restype = ctypes.c_void_p
    head = api.PyInterpreterState_Head
    head.restype = ctypes.c_void_p
    thead = api.PyInterpreterState_ThreadHead
    thead.restype, thead.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    nxt = api.PyThreadState_Next
    nxt.restype, nxt.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    settrace = api._PyEval_SetTrace
    settrace.restype, settrace.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    words = 64
    me = get()
    view = (ctypes.c_size_t * words).from_address(me)
    if sys.gettrace() is not None:
        return None
    sys.settrace(_marker)
    try:
        with_trace = list(view)
    finally:
        sys.settrace(None)
    without = list(view)
    obj = [i for i in range(2, words) if with_trace[i] == id(_marker) and without[i] == 0]
    if len(obj) != 1:
        return None
    i = obj[0]
    trampoline = with_trace[i - 2]
    if not trampoline or without[i - 2] != 0:
        return None
    ident = threading.get_ident()
    id_slots = [k for k in range(words) if without[k] == ident]
    if not id_slots:
        return None
    # verify the thread-id slot against every thread state
    known = set(sys._current_frames())
    for slot in id_slots:
        seen, ts = set(), thead(head())
        while ts:
            seen.add((ctypes.c_size_t * words).from_address(ts)[slot])
            ts = nxt(ts)
        if seen == known:
            return {"api": (head, thead, nxt, settrace), "trampoline": trampoline, "obj": i, "tid": slot,
                    "words": words, "ctypes": ctypes}
    return None


def available():
    if "probe" not in _STATE:
        if sys.gettrace() is not None:
            return False  # the probe needs a thread without a trace function; try again from another one
        try:
            _STATE["probe"] = _probe()
        except Exception:
            _log.exception("cannot reach threads already running; they will not stop")
            _STATE["probe"] = None
    return _STATE["probe"] is not None


def settrace_running_threads(fn, skip, remove=False, only=None):
    """Set `fn` as the trace function of every thread whose id is not in `skip` (and is in `only`, when given) and
    that has no trace function (or, with remove=True, clear it where it is `fn`). Returns the number of threads
    changed."""
    if not available():
        return 0
    p = _STATE["probe"]
    head, thead, nxt, settrace = p["api"]
    ctypes = p["ctypes"]
    arr = ctypes.c_size_t * p["words"]
    obj_slot, tid_slot, tramp = p["obj"], p["tid"], p["trampoline"]
    target = id(fn)  # the caller keeps fn alive; _PyEval_SetTrace takes its own reference
    changed = 0
    ts = thead(head())
    while ts:
        fields = arr.from_address(ts)
        tid = fields[tid_slot]
        if tid not in skip and (only is None or tid in only):
            current = fields[obj_slot]
            if remove:
                if current == target and settrace(ts, None, None) == 0:
                    changed += 1
            elif current == 0 and settrace(ts, tramp, target) == 0:
                changed += 1
        ts = nxt(ts)
    return changed
