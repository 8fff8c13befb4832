"""The tracing mechanism. It knows nothing of DAP, breakpoints' conditions or threads' coordination.

It is told *where* a stop could happen (files' lines, function names, exception kinds, a step per thread, "pause every
thread at its next line") and asks its policy *whether* to stop and *what to do* at a stop:

    policy.break_at_line(frame) -> bool          a line that carries a breakpoint was reached
    policy.break_at_function(frame) -> bool      a function named in set_functions() started
    policy.break_at_exception(frame, exc, kind) -> bool   kind "raised" (where it was raised) or "unwind" (it leaves
                                                  `frame`, the policy decides whether that is "user-unhandled")
    policy.stopped(frame, reason, exc) -> None   stop this thread here; blocks until it may run again.
                                                  reason: "breakpoint", "function breakpoint", "step", "pause",
                                                  "exception"
    policy.new_file(filename) -> None            code from a file not seen before started running (module loads)
    policy.compiled_hit(frame, condition, error) -> bool   (optional) a breakpoint line was reached whose
                                                  condition the tracer already evaluated: `condition` (the text it
                                                  was given in set_lines) was true, or raised `error`; None: no
                                                  condition was evaluated. Without it, break_at_line is asked.

With `make_tracer(policy, compile_lines=True)` (the session's choice), line breakpoints are compiled into copies
of their functions (compiled.py, linehook.py) and cost nothing but their condition until it is true; the
mechanisms below serve what cannot be compiled in, and steps, pause and exception filters.

Two implementations with one interface, chosen by `factory.make_tracer(policy)`:

* `monitoring.MonitoringTracer` on CPython 3.12+ (sys.monitoring, see that file);
* `settrace.SettraceTracer` for CPython 3.8-3.11 and PyPy.

The cost model of SettraceTracer, and why: nothing at all is installed while nothing is set (attached with no
breakpoints costs zero). CPython makes a thread that has a trace function pay for every function call (a Python call
plus a copy of the frame's locals, measured several times slower for call-heavy code, and 3.11 turns off its
specialising interpreter), even when the function answers "not interested". So on CPython 3.8-3.11 line
breakpoints alone use hook mode: the functions that contain them run a copy of their code with an entry hook, and a
thread traces only while it runs such a function (a breakpoint elsewhere costs nothing measurable). Steps, pause,
exception filters and function breakpoints need every thread's calls seen and use global mode, as does PyPy
(running code cannot be patched in place there, so PyPy hooks functions only to reach threads). Inside a traced
frame, lines without a breakpoint cost two dict lookups in the local trace function. Limit: on PyPy (no C API) a
thread that was already running before something was set only stops if it calls into the agent (wait_for_attach,
break_into) or enters a function with a breakpoint (its entry hook); it cannot be paused, nor stop in a frame it
was already running.
"""

import os
import sys
import threading

from longreach import log

from longreach._threads import AGENT_THREAD_IDS
from longreach.tracer import conditions as _conditions
from longreach.tracer import watchdog as _watchdog

__all__ = ["running_frames", "Step", "TracerBase", "is_agent_code", "canon", "code_lines"]

_log = log.get_logger("dap")
_AGENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # the whole longreach package
_get_ident = threading.get_ident
_THREADING_FILE = getattr(threading, "__file__", None)
_canon_cache = {}


def canon(filename):
    """The one spelling of a code object's file used as a key everywhere (absolute, case-normalised)."""
    c = _canon_cache.get(filename)
    if c is None:
        if filename.startswith("<") and filename.endswith(">"):
            c = filename
        else:
            c = os.path.normcase(os.path.abspath(filename))
        _canon_cache[filename] = c
    return c


def is_agent_code(code):
    return canon(code.co_filename).startswith(_AGENT_DIR)


def running_frames():
    """(thread id, frame) for every frame on every thread's stack but the agent's own threads, innermost first."""
    for tid, top in sys._current_frames().items():
        if tid in AGENT_THREAD_IDS:
            continue
        f = top
        while f is not None:
            yield tid, f
            f = f.f_back


def frame_depth(frame):
    n = 0
    while frame is not None:
        n += 1
        frame = frame.f_back
    return n


class Step(object):
    """Stepping as data. kind "in": stop at the next line anywhere on this thread; "over": the next line in `frame`
    or, once it has returned, in a caller; "out": the next line in a caller of `frame`."""
    __slots__ = ("kind", "frame", "depth")

    def __init__(self, kind, frame):
        self.kind = kind
        self.frame = frame
        self.depth = frame_depth(frame) if frame is not None else 0

    def hit(self, frame):
        if self.kind == "in" or self.frame is None:
            return True
        if self.kind == "over" and frame is self.frame:
            return True
        return frame_depth(frame) < self.depth


def _truth(check, f_locals):
    return bool(check(f_locals))


def holds_thread_registry(frame):
    """True on a line of threading.py run while this thread holds threading's registry lock (a thread starting or
    ending): stopped there, it would hold up every threading.enumerate(), the agent's own included, until it ran on
    (CPython 3.8's lock is not even reentrant: the stop's own thread list waited for itself). A pause, step or
    exception stop waits for the thread's next line outside; a breakpoint placed there still stops."""
    if frame.f_code.co_filename != _THREADING_FILE:
        return False
    lock = getattr(threading, "_active_limbo_lock", None)
    if lock is None:
        return False
    owned = getattr(lock, "_is_owned", None)
    return owned() if owned is not None else lock.locked()


def code_lines(code):
    """Every line number that starts a line event in `code` (not nested code objects)."""
    lines = set()
    if hasattr(code, "co_lines"):
        for _s, _e, line in code.co_lines():
            if line is not None:
                lines.add(line)
    else:
        import dis
        for _off, line in dis.findlinestarts(code):
            lines.add(line)
    return lines


class TracerBase(object):
    """State shared by both mechanisms. Every setter ends with _refresh(), which the subclasses implement."""

    def __init__(self, policy, compile_lines=False):
        self.policy = policy
        self.lines = {}              # canon file -> frozenset of line numbers
        self.functions = frozenset()  # function names (co_name, or qualified name on 3.11+)
        self.raised = False
        self.unwind = False
        self.watch_files = False     # report code from new files (unverified breakpoints wait for them)
        self.steps = {}              # thread id -> Step
        self.pausing = False
        self.quiet = set()           # thread ids running agent work (evaluate) on a stopped thread: never stop
        self.active = False
        self.seen_files = set()
        self.conditions = {}         # canon file -> {line: condition text compiled into the code}
        self.compile_lines = bool(compile_lines)  # line breakpoints compiled into copies of functions (compiled.py)
        self.compiled_codes = {}     # copy -> the lines compiled into it (filled by the subclass's CompiledLines)
        self._visited = {}           # thread id -> (frame, line): a compiled line whose breakpoints tracing handled
        self._checks = {}            # (code, line) -> (precompiled condition, its text), or None: policy evaluates
        self._in_hook = set()        # thread ids inside a compiled breakpoint's hook: like a trace callback, no events
        self._lock = threading.RLock()

    # ---- configuration (called from the agent's threads) ----
    def set_lines(self, lines, conditions=None):
        """lines: {canon file: lines}. conditions: {canon file: {line: condition text}} to compile in with the
        breakpoint (compile_lines only); a line without one fires its hook every time it runs, and the policy
        decides."""
        with self._lock:
            self.lines = dict((f, frozenset(ls)) for f, ls in lines.items() if ls)
            self.conditions = dict((f, dict(c)) for f, c in (conditions or {}).items() if f in self.lines)
            self._checks = {}
            self._refresh(grew=True)

    def set_functions(self, names):
        with self._lock:
            self.functions = frozenset(names)
            self._refresh(grew=True)

    def set_exceptions(self, raised, unwind):
        with self._lock:
            self.raised, self.unwind = bool(raised), bool(unwind)
            self._refresh(grew=True)

    def set_watch_files(self, on):
        with self._lock:
            if self.watch_files != bool(on):
                self.watch_files = bool(on)
                self._refresh(grew=on)

    def step(self, tid, kind, frame):
        with self._lock:
            self.steps[tid] = Step(kind, frame)
            self._refresh(grew=True)

    def pause_all(self):
        with self._lock:
            self.pausing = True
            self._refresh(grew=True)
        _watchdog.pausing(self, True)  # false compiled conditions report in too: threads that trace nothing stop

    def resume(self):
        """Forget pausing (steps set with step() stay)."""
        _watchdog.pausing(self, False)
        with self._lock:
            self.pausing = False
            self._refresh(grew=False)

    def clear_steps(self):
        with self._lock:
            self.steps.clear()
            self._refresh(grew=False)

    def install(self):
        with self._lock:
            self.active = True
            self._refresh(grew=True)

    def set_budgeted(self, on):
        """The session has conditions or log messages (user code run at breakpoints): while it has, their time is
        watched (tracer/watchdog.py)."""
        _watchdog.want(self, bool(on))

    def uninstall(self):
        _watchdog.want(self, False)
        _watchdog.pausing(self, False)
        with self._lock:
            self.active = False
            self.lines, self.functions, self.steps, self.conditions = {}, frozenset(), {}, {}
            self._visited.clear()
            self.raised = self.unwind = self.watch_files = self.pausing = False
            self._teardown()

    # ---- shared decisions (called on debuggee threads) ----
    def code_interest(self, code):
        """True when `code` carries a breakpoint line or is a function breakpoint."""
        lines = self.lines.get(canon(code.co_filename))
        if lines:
            compiled = self.compiled_codes.get(code)
            if compiled:
                lines = lines - compiled
            if not lines.isdisjoint(code_lines(code)):
                return True
        return self.function_match(code)

    def function_match(self, code):
        f = self.functions
        return bool(f) and (code.co_name in f or getattr(code, "co_qualname", None) in f)

    def note_file(self, code):
        f = canon(code.co_filename)
        if f not in self.seen_files:
            self.seen_files.add(f)
            if self.watch_files:
                try:
                    self.policy.new_file(f)
                except Exception:
                    _log.exception("placing breakpoints in a new file failed")

    def on_line(self, frame, line):
        """A line event on a debuggee thread; returns True when the location matters to nobody. A fault in the
        agent never reaches the program: it is logged and the line runs on."""
        try:
            return self._line_event(frame, line)
        except Exception:
            _log.exception("line event failed")
            return False

    def _line_event(self, frame, line):
        tid = _get_ident()
        if tid in self.quiet or tid in AGENT_THREAD_IDS or tid in self._in_hook:
            return False
        lines = self.lines.get(canon(frame.f_code.co_filename))
        if self._visited:
            self._visited.pop(tid, None)
        if lines is not None and line in lines:
            compiled = self.compiled_codes.get(frame.f_code)
            if compiled and line in compiled:
                self._visited[tid] = (frame, line)  # its hook, about to run, must not fire a second time
            if self._breaks(frame, line):
                self.steps.pop(tid, None)
                self.policy.stopped(frame, "breakpoint", None)
                return False
        if self.pausing and not holds_thread_registry(frame):
            self.policy.stopped(frame, "pause", None)
            return False
        st = self.steps.get(tid)
        if st is not None and st.hit(frame) and not holds_thread_registry(frame):
            self.steps.pop(tid, None)
            self.policy.stopped(frame, "step", None)
            return False
        return not lines or line not in lines

    def _breaks(self, frame, line):
        """The policy's answer for a breakpoint line reached by tracing. A condition the tracer was given runs as a
        precompiled function of the frame's locals (conditions.py); only when it is true (or raises) is the
        policy asked, told the outcome so that it does not evaluate the condition again."""
        key = (frame.f_code, line)
        check = self._checks.get(key, False)
        if check is False:
            check = self._checks[key] = self._precompile(frame, line)
        policy = self.policy
        hit = getattr(policy, "compiled_hit", None)
        if check is None or hit is None:
            return policy.break_at_line(frame)
        value, error = _watchdog.run(_truth, check[0], frame.f_locals)
        if error is None:
            return hit(frame, check[1], None) if value else False
        if isinstance(error, _conditions.Unbound):
            return policy.break_at_line(frame)
        return hit(frame, check[1], error)

    def _precompile(self, frame, line):
        text = self.conditions.get(canon(frame.f_code.co_filename), {}).get(line)
        if not text:
            return None
        try:
            check = _conditions.make(text, frame.f_code, frame.f_globals)
        except Exception:
            _log.exception("precompiling a condition failed")
            return None
        return None if check is None else (check, text)

    def on_compiled_hit(self, frame, condition, error):
        """A breakpoint compiled into `frame`'s code fired: its condition (the text compiled in, or None) was true,
        or raised `error`. A fault in the agent never reaches the program."""
        try:
            self._compiled_event(frame, condition, error)
        except Exception:
            _log.exception("compiled breakpoint failed")

    def _compiled_event(self, frame, condition, error):
        tid = _get_ident()
        if not self.active or tid in self.quiet or tid in AGENT_THREAD_IDS:
            return
        if frame.f_trace is not None and sys.gettrace() is None:
            # a frame traced earlier whose thread traces no more: on 3.8/3.9 and PyPy its f_lineno is the line of
            # its last line event, not where it is; without a trace function it is computed from where it is
            frame.f_trace = None
        line = frame.f_lineno
        seen = self._visited.pop(tid, None) if self._visited else None
        if seen is not None and seen[0] is frame and seen[1] == line:
            return  # tracing saw this line first and already applied its breakpoints
        lines = self.lines.get(canon(frame.f_code.co_filename))
        if not lines or line not in lines:
            return  # a copy made for a breakpoint removed since, still running
        # the hook runs as ordinary code, not inside a trace callback: while it works (a log message's eval, the stop
        # and its wait in threading's code), events of this thread are the agent's own and must be ignored
        self._in_hook.add(tid)
        try:
            policy = self.policy
            hit = getattr(policy, "compiled_hit", None)
            if condition is _watchdog.PASSING:
                stop = False  # a false condition, reported while pausing: stop only for the pause
            elif hit is not None:
                stop = hit(frame, condition, error)
            else:
                stop = policy.break_at_line(frame)
            reason = "breakpoint" if stop else ("pause" if self.pausing else None)
            if reason is None:
                return
            self.steps.pop(tid, None)
            self.before_compiled_stop(frame)
            policy.stopped(frame, reason, None)
        finally:
            self._in_hook.discard(tid)
        self.after_compiled_stop(frame)

    def compiled_refusals(self):
        """{(file, function, first line): why its breakpoints are traced instead} at the last change."""
        made = getattr(self, "_compiled", None)
        if made is None:
            return {}
        return dict(((c.co_filename, c.co_name, c.co_firstlineno), why) for c, why in made.refused.items())

    def before_compiled_stop(self, frame):
        """A thread that runs untraced is about to stop at a compiled breakpoint (subclasses prepare stepping)."""

    def after_compiled_stop(self, frame):
        """The thread runs again after a stop at a compiled breakpoint (a step asked for it may need tracing)."""

    def on_function(self, frame):
        try:
            self._function_event(frame)
        except Exception:
            _log.exception("function event failed")

    def _function_event(self, frame):
        tid = _get_ident()
        if tid in self.quiet or tid in AGENT_THREAD_IDS or tid in self._in_hook:
            return
        if self.policy.break_at_function(frame):
            self.steps.pop(tid, None)
            self.policy.stopped(frame, "function breakpoint", None)

    def on_exception(self, frame, exc, kind):
        try:
            self._exception_event(frame, exc, kind)
        except Exception:
            _log.exception("exception event failed")

    def _exception_event(self, frame, exc, kind):
        tid = _get_ident()
        if tid in self.quiet or tid in AGENT_THREAD_IDS or tid in self._in_hook or is_agent_code(frame.f_code):
            return
        if kind == "raised":
            tb = getattr(exc, "__traceback__", None)
            if tb is not None and tb.tb_next is not None:
                return  # already reported where it was raised; this is it passing through a caller
        if self.policy.break_at_exception(frame, exc, kind) and not holds_thread_registry(frame):
            self.steps.pop(tid, None)
            self.policy.stopped(frame, "exception", exc)

    def stopped_here(self, frame, reason, exc=None):
        """A stop asked for by someone else (break_into_debugger, uncaught exception hooks)."""
        tid = _get_ident()
        self.steps.pop(tid, None)
        self.policy.stopped(frame, reason, exc)

    def adopt_current_thread(self, frame, only_if_needed=False):
        """Make sure the calling thread (about to stop outside a trace callback) can be stepped afterwards;
        with only_if_needed, only when a breakpoint, step, pause or exception filter is set."""

    def _refresh(self, grew):
        raise NotImplementedError

    def _teardown(self):
        raise NotImplementedError

