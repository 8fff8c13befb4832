"""sys.monitoring mechanism for CPython 3.12+ (PEP 669).

What is enabled, and when:

* nothing at all while nothing is set (attached without breakpoints costs zero);
* PY_START/PY_RESUME globally while there are line or function breakpoints, or unverified breakpoints waiting for
  their file: each code object is reported once, when it first runs. The callback turns on LINE *locally* (via
  set_local_events) for code objects that carry a breakpoint line, and returns DISABLE for all others, so after one
  call per code object the program runs uninstrumented again. This is also how module loads are noticed cheaply:
  a new module's code object starts running;
* LINE callbacks return DISABLE for lines of instrumented code that carry no breakpoint, so a breakpoint on a line
  never reached costs one callback per *reached line location*, once;
* stepping over/out: LINE locally on the code objects of the stepping thread's stack; stepping in and pausing: LINE
  globally until the next stop; exception filters: RAISE / PY_UNWIND globally (exceptions only, no per-line cost);
* whenever interest grows, sys.monitoring.restart_events() re-arms locations we disabled earlier;
* 3.13 reports no LINE event for the line a function starts on when its body shares that line (a one-line lambda or
  `def f(v): return v`) — or only sometimes, depending on how the code was instrumented: such code objects with a
  breakpoint on that line also get PY_START locally, their start counts as that line's event, and a LINE event for
  the same line of the same frame right after it is ignored.

Monitoring is global, so threads started before attach are covered like the others. Teardown sets every event off,
clears local events, unregisters callbacks and frees the tool id.
"""

import dis
import sys
import threading

from longreach import log
from longreach.tracer import compiled, hooks, linehook
from longreach.tracer.base import AGENT_THREAD_IDS, TracerBase, canon, code_lines, running_frames, _AGENT_DIR

__all__ = ["MonitoringTracer"]

_log = log.get_logger("dap")
_mon = sys.monitoring
_E = _mon.events
_DISABLE = _mon.DISABLE
_TOOL_IDS = (_mon.DEBUGGER_ID, 3, 4)
_NO_ENTRY_LINE_EVENT = sys.version_info >= (3, 13)


class MonitoringTracer(TracerBase):
    def __init__(self, policy, compile_lines=False):
        TracerBase.__init__(self, policy, compile_lines)
        self._compiled = compiled.CompiledLines(compiled.keep_result) if compile_lines else None
        if self._compiled is not None:
            self.compiled_codes = self._compiled.codes
        self._tool = None
        self._bp_codes = set()    # code objects known to carry a breakpoint line
        self._applied = {}        # code -> local events we set
        self._interest = {}       # code -> bool (breakpoint lines), reset when lines change
        self._lines_seen = None   # the `lines` dict the caches were computed for
        self._entry = {}          # code -> its start line when that line has a breakpoint and no LINE event (3.13)
        self._entered = {}        # thread id -> the frame whose start just counted as its first line (3.13)

    # ---- tool id ----
    def _claim(self):
        for tool in _TOOL_IDS:
            if _mon.get_tool(tool) is None:
                try:
                    _mon.use_tool_id(tool, "longreach")
                except ValueError:
                    continue
                self._tool = tool
                cb = _mon.register_callback
                cb(tool, _E.PY_START, self._on_start)
                cb(tool, _E.PY_RESUME, self._on_resume)
                cb(tool, _E.LINE, self._on_line)
                cb(tool, _E.RAISE, self._on_raise)
                cb(tool, _E.PY_UNWIND, self._on_unwind)
                return True
        _log.error("no free sys.monitoring tool id (another debugger or profiler holds them)")
        return False

    # ---- configuration ----
    def _refresh(self, grew):
        if not self.active:
            return
        if self._tool is None and not self._claim():
            return
        if self._lines_seen is not self.lines:
            self._lines_seen = self.lines
            self._interest = {}
            self._entry = {}
            self._bp_codes = set(c for c in self._bp_codes if self._has_bp(c))
            if self._compiled is not None:
                self._compile()
        self._scan_running()
        ev = 0
        if self.lines or self.functions or self.watch_files:
            ev |= _E.PY_START | _E.PY_RESUME
        if self.pausing or any(s.kind == "in" for s in self.steps.values()):
            ev |= _E.LINE
        if self.raised:
            ev |= _E.RAISE
        if self.unwind:
            ev |= _E.PY_UNWIND
        self._apply_local()
        _mon.set_events(self._tool, ev)
        if grew:
            _mon.restart_events()

    def _compile(self):
        """Functions of breakpoint files run copies with their breakpoints compiled in (compiled.py); what cannot
        be compiled in (and frames already running) get LINE events as before."""
        linehook.set_target(self.on_compiled_hit if self.lines else None)
        try:
            self._compiled.apply(self.lines, self.conditions)
        except Exception:
            _log.exception("compiling breakpoints in failed; using LINE events")
        self._interest = {}

    def _has_bp(self, code):
        i = self._interest.get(code)
        if i is None:
            lines = self.lines.get(canon(code.co_filename))
            if lines:
                done = self.compiled_codes.get(code)
                if done:
                    lines = lines - done
            i = bool(lines) and not lines.isdisjoint(code_lines(code))
            self._interest[code] = i
        return i

    def _entry_line(self, code):
        """The line a one-line function starts on, when it carries a breakpoint and 3.13 sends no LINE for it."""
        if not _NO_ENTRY_LINE_EVENT:
            return None
        if code in self._entry:
            return self._entry[code]
        line = None
        resume = [i.offset for i in dis.get_instructions(code) if i.opname == "RESUME"]
        if resume:
            for start, end, at in code.co_lines():
                if start <= resume[0] < end:
                    if end > resume[0] + 2 and at is not None and at in self.lines.get(canon(code.co_filename), ()):
                        line = at
                    break
        self._entry[code] = line
        return line

    def _events_for(self, code):
        return _E.LINE | (_E.PY_START if self._entry_line(code) else 0)

    def _scan_running(self):
        """Code objects already running (a loop in __main__, a long function) will not start again: look at stacks."""
        for _tid, f in running_frames():
            if self._has_bp(f.f_code):
                self._bp_codes.add(f.f_code)

    def _apply_local(self):
        want = dict((c, self._events_for(c)) for c in self._bp_codes)
        for tid, st in self.steps.items():
            if st.kind == "in":
                continue
            f = st.frame
            while f is not None:
                if not canon(f.f_code.co_filename).startswith(_AGENT_DIR):
                    want[f.f_code] = _E.LINE
                f = f.f_back
        tool = self._tool
        for code, ev in list(self._applied.items()):
            if code not in want:
                _mon.set_local_events(tool, code, 0)
                del self._applied[code]
        for code, ev in want.items():
            if self._applied.get(code) != ev:
                _mon.set_local_events(tool, code, ev)
                self._applied[code] = ev

    def _teardown(self):
        tool = self._tool
        if tool is None:
            return
        self._tool = None
        if self._compiled is not None:
            linehook.set_target(None)
            self._compiled.forget()
            self._lines_seen = None
        try:
            _mon.set_events(tool, 0)
            for code in self._applied:
                _mon.set_local_events(tool, code, 0)
            self._applied.clear()
            self._bp_codes.clear()
            for ev in (_E.PY_START, _E.PY_RESUME, _E.LINE, _E.RAISE, _E.PY_UNWIND):
                _mon.register_callback(tool, ev, None)
            _mon.free_tool_id(tool)
        except Exception:
            _log.exception("removing sys.monitoring instrumentation failed")

    # ---- callbacks (debuggee threads) ----
    def _arm(self, code):
        with self._lock:
            if self._tool is not None and self._has_bp(code):
                self._bp_codes.add(code)
                ev = self._applied.get(code, 0) | self._events_for(code)
                _mon.set_local_events(self._tool, code, ev)
                self._applied[code] = ev

    def _on_start(self, code, offset):
        try:
            return self._start(code, sys._getframe(1))
        except Exception:
            _log.exception("PY_START event failed")
            return None

    def _start(self, code, frame):
        if not self.active:
            return _DISABLE
        if canon(code.co_filename).startswith(_AGENT_DIR):
            return _DISABLE
        self.note_file(code)
        if self._compiled is not None and code.co_name == "<module>" and hooks.IN_PLACE:
            files = set(self.lines)
            if canon(code.co_filename) in files:
                try:
                    self._compiled.patch_consts(code, files)  # the functions it is about to define
                except Exception:
                    _log.exception("compiling breakpoints into a module that starts failed")
        if self._has_bp(code) and code not in self._bp_codes:
            self._arm(code)
        if self.functions and self.function_match(code):
            self.on_function(frame)
            return None
        line = self._entry_line(code)
        if line is not None:
            self._entered[threading.get_ident()] = frame
            self.on_line(frame, line)
            return None
        return _DISABLE

    def _on_resume(self, code, offset):
        try:
            return self._resume(code)
        except Exception:
            _log.exception("PY_RESUME event failed")
            return None

    def _resume(self, code):
        """A generator or coroutine resumed: like a start (it may have been suspended before the breakpoint was
        set), minus function breakpoints."""
        if not self.active or canon(code.co_filename).startswith(_AGENT_DIR):
            return _DISABLE
        if self._has_bp(code) and code not in self._bp_codes:
            self._arm(code)
        return _DISABLE

    def _on_line(self, code, line):
        if not self.active or canon(code.co_filename).startswith(_AGENT_DIR):
            return _DISABLE
        if self._entered:
            entered = self._entered.pop(threading.get_ident(), None)
            if entered is not None and entered is sys._getframe(1) and line == self._entry.get(code):
                return None  # already reported by its start
        if self.on_line(sys._getframe(1), line) and not self.steps and not self.pausing:
            return _DISABLE
        return None

    def _on_raise(self, code, offset, exc):
        if self.active and threading.get_ident() not in AGENT_THREAD_IDS:
            self.on_exception(sys._getframe(1), exc, "raised")

    def _on_unwind(self, code, offset, exc):
        if self.active and threading.get_ident() not in AGENT_THREAD_IDS:
            self.on_exception(sys._getframe(1), exc, "unwind")
