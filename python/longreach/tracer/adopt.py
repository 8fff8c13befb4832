"""Give the trace function to threads that were already running (CPython 3.8-3.11).

`sys.settrace` reaches only the calling thread and `threading.settrace` only threads started later. CPython 3.9-3.11
export `_PyEval_SetTrace(tstate, func, arg)`, written to set another thread's trace function from the current one
(it audits in the caller's context and touches only the target's fields), which is what 3.12's
threading.settrace_all_threads does in C. What it needs:

* `func`, the C trampoline behind sys.settrace: found by calling sys.settrace(marker) on this (agent) thread and
  reading this thread's state, where c_traceobj == id(marker) and c_tracefunc sits two pointers before it (the
  layout of 3.9-3.11); each guess is verified (the fields clear again after sys.settrace(None)).
* every thread state and its thread id: PyInterpreterState_ThreadHead / PyThreadState_Next, with the id field's
  offset found the same way (this thread's own id) and verified against sys._current_frames().

CPython 3.8 has no `_PyEval_SetTrace`: there the fields are written the way PyEval_SetTrace writes them for the
calling thread — the trace object (with a reference taken), the trampoline, `use_tracing`, and the interpreter-wide
count of tracing threads (`_PyRuntime.ceval.tracing_possible`, without which no thread gets line events). Each
offset is found by toggling sys.settrace on this thread and seeing which field follows (three times, and the answer
must be unique). Every write is one store made while holding the GIL, in an order where each intermediate state is
one CPython already handles (a trampoline with no object, or use_tracing with no trampoline, traces nothing).
Those writes are several Python statements, and the GIL may pass to the target thread between two of them: had it
called sys.settrace() itself right then (the agent's own trace functions do, entering and leaving breakpoint
functions), the trace object's reference would be dropped twice and freed while still in use (a forked child
crashed with SIGSEGV in CI after a detach). So on 3.8 the agent's debuggee-side sys.settrace() calls go through
settrace_self(), which holds the same lock as the writes. Residual risk, stated: the program's own sys.settrace() on
another thread in the middle of a write is not covered.

We deliberately do not make another thread's state current (PyThreadState_Swap): Python code running with a
foreign thread state current can hit the eval loop's "tstate mix-up" fatal error when the GIL is handed over.
The walk reads the thread list while holding the GIL, but the GIL can pass to another thread between two of its
steps; a thread that ended then would free the state the walk holds, and the walk would write into freed memory
(SIGSEGV at exit, seen in CI when a detach let a stopped thread run on just before the walk; session/core.py now
takes the tracer out first). So the walk holds threading's registry lock, which every threading.Thread (and every
agent thread, _threads.py) takes on its way out, before its state is freed. Residual risk, stated: a thread that
had just passed that lock when the walk began, and threads that threading does not know (started by C code or with
_thread), can still end during a walk; it is a tight loop of C calls, a few microseconds a thread, to keep that
window small. Anything unexpected disables the feature (logged).
"""

import os
import sys
import threading

from longreach import log

__all__ = ["available", "settrace_running_threads", "settrace_self"]

_log = log.get_logger("dap")
_STATE = {}
# CPython 3.8: a thread's trace fields are written in several steps (_write_38); a thread setting its own trace
# function must not come in between
_WRITES_IN_STEPS = sys.implementation.name == "cpython" and sys.version_info < (3, 9)
_WRITES = threading.RLock()
# tests only: called at each thread of the walk, to widen the window in which another thread could end
_between_threads = None


def _locked_settrace(fn):
    with _WRITES:
        sys.settrace(fn)


# sys.settrace(fn) for the calling thread, never in the middle of settrace_running_threads' writes (see above)
settrace_self = _locked_settrace if _WRITES_IN_STEPS else sys.settrace


def _fresh_lock():
    global _WRITES
    _WRITES = threading.RLock()  # a fork child: the thread that held the parent's lock is not there


if _WRITES_IN_STEPS and hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_lock)


def _marker(frame, event, arg):
    return None


def _probe():
    if sys.implementation.name != "cpython" or not ((3, 8) <= sys.version_info < (3, 12)):
        return None
    import ctypes
    api = ctypes.PyDLL(ctypes.pythonapi._name, handle=ctypes.pythonapi._handle)
    if sys.version_info < (3, 9):
        return _probe_38(ctypes, api)
    get, head, thead, nxt = _thread_api(ctypes, api)
    settrace = api._PyEval_SetTrace
    settrace.restype, settrace.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    return _probe_fields(ctypes, get, (head, thead, nxt, settrace))


def _thread_api(ctypes, api):
    get = api.PyThreadState_Get
    get.restype = ctypes.c_void_p
    head = api.PyInterpreterState_Head
    head.restype = ctypes.c_void_p
    thead = api.PyInterpreterState_ThreadHead
    thead.restype, thead.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    nxt = api.PyThreadState_Next
    nxt.restype, nxt.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    return get, head, thead, nxt


def _probe_38(ctypes, api):
    get, head, thead, nxt = _thread_api(ctypes, api)
    found = _probe_fields(ctypes, get, (head, thead, nxt, None))
    if found is None:
        return None
    me = get()
    ints = (ctypes.c_int * (found["words"] * 2)).from_address(me)
    runtime = ctypes.addressof(ctypes.c_int.in_dll(api, "_PyRuntime"))
    counts = (ctypes.c_int * 4096).from_address(runtime)
    use, possible = None, None
    for _ in range(3):
        before_i, before_c = list(ints), list(counts)
        sys.settrace(_marker)
        with_i, with_c = list(ints), list(counts)
        sys.settrace(None)
        after_i, after_c = list(ints), list(counts)
        u = [k for k in range(len(before_i)) if before_i[k] == 0 and with_i[k] == 1 and after_i[k] == 0]
        c = [k for k in range(len(before_c)) if with_c[k] == before_c[k] + 1 and after_c[k] == before_c[k]]
        if len(u) != 1 or len(c) != 1 or (use is not None and (u[0], c[0]) != (use, possible)):
            return None
        use, possible = u[0], c[0]
    found["use"] = use
    found["possible"] = ctypes.c_int.from_address(runtime + possible * ctypes.sizeof(ctypes.c_int))
    found["incref"], found["decref"] = api.Py_IncRef, api.Py_DecRef
    return found


def _probe_fields(ctypes, get, calls):
    """The thread state's trace object, trampoline and thread id slots (in words), verified on every thread."""
    head, thead, nxt, _settrace = calls
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
            return {"api": calls, "trampoline": trampoline, "obj": i, "tid": slot, "words": words,
                    "ctypes": ctypes}
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
    settrace = p["api"][3]
    held = _hold_thread_exits()
    try:
        if settrace is None:
            with _WRITES:
                return _walk(p, fn, skip, remove, only)
        return _walk(p, fn, skip, remove, only)
    finally:
        if held is not None:
            held.release()


def _hold_thread_exits():
    """threading's registry lock, which a threading.Thread takes on its way out (Thread._delete) before its thread
    state is freed: while the walk holds it, no such thread can end and free the state the walk is looking at. None
    when it cannot be had at once or within a moment (a thread inside threading's own bookkeeping; on 3.8 the lock
    is not reentrant, so it may be this thread): the walk then goes on unprotected, as before."""
    lock = getattr(threading, "_active_limbo_lock", None)
    try:
        if lock is not None and lock.acquire(True, 0.2):
            return lock
    except Exception:
        pass
    return None


def _walk(p, fn, skip, remove, only):
    head, thead, nxt, settrace = p["api"]
    arr = p["ctypes"].c_size_t * p["words"]
    obj_slot, tid_slot, tramp = p["obj"], p["tid"], p["trampoline"]
    target = id(fn)  # the caller keeps fn alive; _PyEval_SetTrace takes its own reference
    changed = 0
    ts = thead(head())
    while ts:
        if _between_threads is not None:
            _between_threads()
        fields = arr.from_address(ts)
        tid = fields[tid_slot]
        if tid not in skip and (only is None or tid in only):
            current = fields[obj_slot]
            if settrace is None:
                changed += _write_38(p, ts, fields, fn, remove)
            elif remove:
                if current == target and settrace(ts, None, None) == 0:
                    changed += 1
            elif current == 0 and settrace(ts, tramp, target) == 0:
                changed += 1
        ts = nxt(ts)
    return changed


def _write_38(p, ts, fields, fn, remove):
    """What PyEval_SetTrace(fn) / PyEval_SetTrace(NULL) does to its own thread, done to thread state `ts`."""
    ctypes = p["ctypes"]
    obj_slot, tramp = p["obj"], p["trampoline"]
    ints = (ctypes.c_int * (p["words"] * 2)).from_address(ts)
    trace_slot, profile_slot = obj_slot - 2, obj_slot - 3
    if remove:
        if fields[obj_slot] != id(fn):
            return 0
        ints[p["use"]] = 1 if fields[profile_slot] else 0
        fields[trace_slot] = 0
        fields[obj_slot] = 0
        p["possible"].value -= 1
        p["decref"](ctypes.py_object(fn))
        return 1
    if fields[obj_slot] != 0 or fields[trace_slot] != 0:
        return 0
    p["incref"](ctypes.py_object(fn))
    fields[obj_slot] = id(fn)
    fields[trace_slot] = tramp
    ints[p["use"]] = 1
    p["possible"].value += 1
    return 1
