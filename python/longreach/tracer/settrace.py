"""sys.settrace mechanism for CPython 3.8-3.11 and PyPy (see base.py for the cost model and its limits).

Two modes, chosen at every change of what is set:

* Hook mode (CPython 3.8-3.11, when only line breakpoints are set and every code object with one could be hooked,
  see codehook.py / hooks.py): no thread has a trace function until it enters a breakpoint function, whose
  entry hook installs the global trace function for that thread and records the frame as its owner; when the owner
  returns, the thread drops the trace function again. Frames of breakpoint code already running get f_trace and
  their thread the trace function (adopt). A breakpoint file whose code is not loaded yet keeps global mode
  until its module code starts; its constants are hooked then. A module imported again (reload) is announced by
  hooks.watch_imports and hooked the same way. Not reached: code compiled and exec()'d under the name of a
  breakpoint file already loaded.
* Global mode (PyPy, where hooks only help threads it cannot reach, see below; any step, pause, exception filter,
  function breakpoint or file awaited; code that cannot be hooked): every thread gets the global trace function
  (threading.settrace for threads started later, adopt or a pending call for those running). It answers only
  "does this code object matter" from a per-code cache and returns None for code that does not, so such frames never
  produce line events; "all code" (step in, pause, exception filters) traces every non-agent frame while it lasts.

Where threads already running cannot be given a trace function (PyPy; CPython if adopt's probe failed, where
a pending call still reaches the main thread), threads started while attached get it in hook mode too, so pause and
breakpoints added later still reach them; and a thread that was running before attach gets it from the entry hook
of the first breakpoint function it enters (PyPy 3.9 hooks functions too, but cannot patch running code in place,
so it stays in global mode). Except PyPy's line-only mode (every breakpoint compiled in, nothing to trace): there no
thread traces, new ones included, and pause reaches a thread at its next compiled breakpoint line (_refresh). With
nothing set, no thread keeps the trace function where adopt can take it away.
Teardown: threading.settrace(None), functions get their own code back, f_trace cleared on every frame, and each
thread's global trace function removes itself (sys.settrace(None)) at its next call once the tracer is inactive.
"""

import sys
import threading

from longreach import log
from longreach.tracer import adopt, compiled, hooks, linehook
from longreach.tracer.base import (AGENT_THREAD_IDS, TracerBase, canon, code_lines, is_agent_code, running_frames,
                              _AGENT_DIR)

__all__ = ["SettraceTracer"]

_log = log.get_logger("dap")
_NO, _YES, _AGENT = 0, 1, 2


def _pending_call_api():
    """(Py_AddPendingCall, callback type) on CPython, None elsewhere."""
    if sys.implementation.name != "cpython":
        return None
    try:
        import ctypes
        api = ctypes.PyDLL(ctypes.pythonapi._name, handle=ctypes.pythonapi._handle)
        fn = api.Py_AddPendingCall
        cb_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
        fn.argtypes = [cb_type, ctypes.c_void_p]
        fn.restype = ctypes.c_int
        return fn, cb_type
    except Exception:
        return None


_PENDING = _pending_call_api()
_callbacks_alive = []  # ctypes callbacks must outlive the interpreter's pending-call queue


class SettraceTracer(TracerBase):
    def __init__(self, policy, compile_lines=False):
        TracerBase.__init__(self, policy, compile_lines)
        self._interest = {}
        self._installed = False
        self._all_code = False
        self._unwinding = {}  # thread id -> (frame, exception) seen by an "exception" event, not yet handled
        self._fast = {}       # code -> what the global trace function returns; cleared in place on changes
        self._bp_lines = {}   # code -> its file's breakpoint lines, for the local trace's fast path
        self._plain = [False]  # True while no step, pause or exception filter needs every line event
        self._local_fn = self._make_local()
        self._global_fn = self._make_global()
        self._main_cb = None
        self._hooks = hooks.CodeHooks(canon) if hooks.available() else None
        self._compiled = None
        if self.compile_lines:
            self._compiled = compiled.CompiledLines(hooks._entry_hook if hooks.available() else compiled.keep_result)
            self.compiled_codes = self._compiled.codes
            self._hooks = self._compiled.hooks
        self._hooked_lines = None  # the `lines` the hooks were last applied for
        self._hooks_ok = False
        self._hook_mode = False    # breakpoints only, all hooked: threads trace only inside breakpoint functions
        self._line_only = False    # PyPy: breakpoints only, all compiled in, nothing traced at all
        self._after_module = set()  # PyPy: breakpoint files whose module code runs now, compiled in when it returns
        self._returning = None
        self._owners = {}          # thread id -> the frame whose start gave the thread its trace function
        self._pending_files = set()  # breakpoint files with no code loaded yet: global mode until they load
        self._switch = False
        self._reloading = set()      # breakpoint files an import is about to run again (hook mode)

    # ---- configuration ----
    def _needed(self):
        return self.active and bool(self.lines or self.functions or self.steps or self.pausing or self.raised
                                    or self.unwind or self.watch_files)

    def _refresh(self, grew):
        self._interest = {}
        self._fast.clear()
        self._bp_lines.clear()
        self._plain[0] = not (self.steps or self.pausing or self.raised or self.unwind)
        self._all_code = bool(self.pausing or self.raised or self.unwind
                              or any(s.kind == "in" for s in self.steps.values()))
        self._update_hooks()
        self._hook_mode = hooks.IN_PLACE and self._hooks_ok and bool(self.lines) and not (
            self._pending_files or self.functions or self.steps or self.pausing or self.raised or self.unwind
            or self.watch_files)
        self._line_only = (not hooks.IN_PLACE and self._compiled is not None and self._hooks_ok
                           and not self._compiled.refused and bool(self.lines) and not (
                               self._pending_files or self.functions or self.steps or self.pausing or self.raised
                               or self.unwind or self.watch_files or self._after_module)
                           and not self._interesting_frames())
        if self._line_only:
            # PyPy, every breakpoint compiled in and no frame that needs tracing: nothing traces. The thread that
            # made this change (one whose import finished loading a breakpoint file) stops tracing, threads started
            # from now on start without the trace function, and one still holding it drops it at its next call of
            # code not seen since (_global_slow). Like the main thread, such a thread stops for pause and all-stop
            # when it reaches a breakpoint line (the compiled hook sees `pausing`) or calls into the agent
            if self._installed:
                threading.settrace(None)
                self._installed = False
            if threading.get_ident() not in AGENT_THREAD_IDS and sys.gettrace() is self._global_fn:
                adopt.settrace_self(None)
            return
        if not self._needed():
            if adopt.available():
                self._leave_all_threads(keep_owners=False)  # attached with nothing set costs nothing
            # without adopt an installed global trace function stays, idle: threads could not get it back
            return
        if self._hook_mode:
            self._leave_all_threads()
            self._mark_running_frames()
            return
        first = not self._installed
        if first:
            self._installed = True
            threading.settrace(self._global_fn)
        if not adopt.available():
            if first or hooks.IN_PLACE:
                self._give_main_thread()  # again each time: hook mode may have let it run untraced
        else:  # threads already running, whenever they started (CPython 3.8-3.11)
            adopt.settrace_running_threads(self._global_fn, self._skip_ids())
        self._mark_running_frames()

    def _update_hooks(self):
        """Hooked code for the functions of files with breakpoints (CPython 3.8-3.11); re-applied only when the
        breakpoint lines change, since it walks every live object."""
        if self._hooks is None:
            return
        if not self.active or not self.lines:
            if self._hooked_lines is not None:
                hooks.set_target(None)
                linehook.set_target(None)
                hooks.watch_imports(None)
                self._hooks.restore()
                self._hooked_lines = None
            self._hooks_ok = False
            self._pending_files = set()
            return
        if self._hooked_lines is self.lines:
            return
        lines = self.lines

        def interesting(code):
            found = lines.get(canon(code.co_filename))
            return bool(found) and not found.isdisjoint(code_lines(code))
        hooks.set_target((self._local_fn, self._global_fn, self._owners))
        hooks.watch_imports(self._module_loading)
        if self._compiled is not None:
            linehook.set_target(self.on_compiled_hit)
        try:
            if self._compiled is not None:
                self._hooks_ok = self._compiled.apply(lines, self.conditions)
            else:
                self._hooks_ok = self._hooks.apply(set(lines), interesting)
        except Exception:
            _log.exception("hooking breakpoint functions failed; tracing every call instead")
            self._hooks_ok = False
        self._hooked_lines = lines
        loaded = set(self._hooks.found_files)
        for module in list(sys.modules.values()):
            f = getattr(module, "__file__", None)
            if isinstance(f, str):
                loaded.add(canon(f))
        try:
            loaded |= self._patch_running(lines)
        except Exception:
            _log.exception("hooking code that runs now failed; tracing every call instead")
            self._hooks_ok = False
        self._pending_files = set(lines) - loaded

    def _patch_running(self, lines):
        """Code of breakpoint files running now (a module half-way through its top level, a function that makes
        closures) makes its functions from hooked constants from now on. Returns those files."""
        seen, files = set(), set()
        for _tid, f in running_frames():
            code = f.f_code
            name = canon(code.co_filename)
            if name in lines and id(code) not in seen and f is not self._returning:
                seen.add(id(code))
                files.add(name)
                if not self._hooks.patch_consts(code, lines):
                    self._hooks_ok = False
        return files
        if not self._hooks_ok:
            _log.info("some breakpoint code cannot be hooked (a generator, or a long jump); tracing every call")

    def _module_loading(self, origin):
        """An import (or a reload) is about to run the module in `origin`: when it is a breakpoint file, this thread
        traces until that module's code starts, to hook what it defines (hook mode sees no calls otherwise)."""
        f = canon(origin)
        lines = self._hooked_lines
        if not self._hook_mode or not lines or f not in lines:
            return
        tid = threading.get_ident()
        if tid in AGENT_THREAD_IDS:
            return
        self._reloading.add(f)
        if sys.gettrace() is None:
            self._owners[tid] = f  # becomes the module's frame when its code starts (_global_slow)
            adopt.settrace_self(self._global_fn)

    def _module_starts(self, code):
        """Global mode while a breakpoint file was not loaded yet: its code starts now (a module's top level,
        before its first line), so the functions it is about to define get hooked code; once no breakpoint file is
        still awaited, hook mode can take over (done by _global_slow once this event is classified). A module
        imported again in hook mode (_module_loading) only gets its constants hooked."""
        f = canon(code.co_filename)
        if f in self._reloading and code.co_name == "<module>":
            self._reloading.discard(f)
            try:
                if not self._hooks.patch_consts(code, self._hooked_lines):
                    self._hooks_ok = False
                    self._switch = True
            except Exception:
                _log.exception("hooking a module that starts failed")
            return
        if f not in self._pending_files:
            return
        self._pending_files.discard(f)
        if self._compiled is not None and not hooks.IN_PLACE and code.co_name == "<module>":
            # PyPy cannot patch a running module's constants: once its code has run (its frame returns, see
            # _local_event), its functions are compiled in like those of modules loaded before
            self._after_module.add(f)
            return
        try:
            if not self._hooks.patch_consts(code, self._hooked_lines):
                self._hooks_ok = False
        except Exception:
            _log.exception("hooking a module that starts failed; tracing every call instead")
            self._hooks_ok = False
        if not self._pending_files and self._hooks_ok:
            self._switch = True

    def _leave_all_threads(self, keep_owners=True):
        """Hook mode: no thread keeps the global trace function unless a frame it runs needs it (keep_owners=False:
        nothing is set, no thread keeps it at all)."""
        if not keep_owners:
            self._owners.clear()
        me = threading.get_ident()
        if me not in AGENT_THREAD_IDS and me not in self._owners and sys.gettrace() is self._global_fn:
            adopt.settrace_self(None)  # a debuggee thread switching modes (a module it imports just loaded)
        if not adopt.available():
            # no adopt: a thread started later could not be reached afterwards (pause, a breakpoint added in a
            # loop it runs), so threads still get the trace function when they start; only the main thread, which
            # a pending call can reach, runs untraced
            if not self._installed:
                self._installed = True
                threading.settrace(self._global_fn)
            return
        if self._installed:
            threading.settrace(None)
            self._installed = False
        adopt.settrace_running_threads(self._global_fn, self._skip_ids() | set(self._owners), remove=True)

    def _give_threads(self, wanted):
        """Hook mode: the global trace function for the threads in `wanted` (tid -> outermost frame that needs
        it), which have a breakpoint function already running."""
        me = threading.get_ident()
        if me in wanted:
            if sys.gettrace() is None:
                self._owners[me] = wanted[me]
                adopt.settrace_self(self._global_fn)
        others = dict((t, f) for t, f in wanted.items() if t != me)
        if not others:
            return
        if adopt.available():
            adopt.settrace_running_threads(self._global_fn, self._skip_ids(), only=set(others))
            for tid, frame in others.items():
                self._owners.setdefault(tid, frame)
        elif threading.main_thread().ident in others:
            self._give_main_thread()

    def _skip_ids(self):
        return set(AGENT_THREAD_IDS) | {threading.get_ident()}

    def _interesting_frames(self):
        """True when a frame already running needs tracing (its code has a breakpoint line not compiled in)."""
        for _tid, f in running_frames():
            if self._classify(f.f_code) == _YES:
                return True
        return False

    def _mark_running_frames(self):
        """Give f_trace to already-running frames that matter now."""
        stepping = dict((tid, st) for tid, st in self.steps.items() if st.kind != "in")
        wanted = {}
        for tid, f in running_frames():
            code = f.f_code
            if not canon(code.co_filename).startswith(_AGENT_DIR):
                if self._all_code or tid in stepping or self._classify(code) == _YES:
                    if f.f_trace is not self._local_fn:
                        f.f_trace = self._local_fn
                    wanted[tid] = f  # the outermost, once the walk is done
        if self._hook_mode and wanted:
            self._give_threads(wanted)

    def _give_main_thread(self):
        main = threading.main_thread()
        if main.ident == threading.get_ident():
            if sys.gettrace() is None:
                adopt.settrace_self(self._global_fn)
            return
        if _PENDING is None:
            _log.info("this runtime has no pending calls: the main thread only stops if it calls into the agent")
            return
        add, cb_type = _PENDING

        def give(_arg):
            try:
                if (self._installed or self._hook_mode) and self.active and sys.gettrace() is None:
                    if self._hook_mode:
                        outer = self._outermost_interesting(sys._getframe(1))
                        if outer is None:
                            return 0
                        self._owners[threading.get_ident()] = outer
                    adopt.settrace_self(self._global_fn)
                    self._mark_running_frames()
            except Exception:
                _log.exception("installing the trace function on the main thread failed")
            return 0

        self._main_cb = cb_type(give)
        _callbacks_alive.append(self._main_cb)
        del _callbacks_alive[:-8]
        if add(self._main_cb, None) != 0:
            _log.info("Py_AddPendingCall refused; the main thread will not stop")

    def adopt_current_thread(self, frame, only_if_needed=False):
        if not self.active or (only_if_needed and not self._needed()):
            # With nothing set, a thread holding a trace function pays for every call (measured 2-10x on
            # call-heavy code): adopt only when there is something to stop at.
            return
        if (self._hook_mode or self._line_only) and only_if_needed:
            # hooks reach every breakpoint function that starts later: only frames already running need tracing
            outer = self._outermost_interesting(frame)
            if outer is not None and sys.gettrace() is None:
                self._owners[threading.get_ident()] = outer
                adopt.settrace_self(self._global_fn)
            return
        if sys.gettrace() is None:
            adopt.settrace_self(self._global_fn)
        f = frame
        while f is not None:
            if not is_agent_code(f.f_code):
                f.f_trace = self._local_fn
            f = f.f_back

    def after_compiled_stop(self, frame):
        """A step asked for by the stopped thread itself (from inside the stop) finds it untraced: trace it."""
        if threading.get_ident() not in self.steps or not self.active:
            return
        if sys.gettrace() is None:
            if self._hook_mode:
                self._owners[threading.get_ident()] = frame
            adopt.settrace_self(self._global_fn)
        f = frame
        while f is not None:
            if not is_agent_code(f.f_code):
                f.f_trace = self._local_fn
            f = f.f_back

    def _outermost_interesting(self, frame):
        """Gives f_trace to the frames from `frame` outwards whose code has breakpoints; returns the outermost."""
        outer = None
        while frame is not None:
            if self._classify(frame.f_code) == _YES:
                frame.f_trace = self._local_fn
                outer = frame
            frame = frame.f_back
        return outer

    def _teardown(self):
        self._interest = {}
        self._fast.clear()
        self._bp_lines.clear()
        self._plain[0] = False
        self._all_code = False
        self._unwinding.clear()
        self._hook_mode = self._line_only = False
        self._owners.clear()
        self._update_hooks()
        if self._compiled is not None:
            self._compiled.forget()
        if self._installed:
            threading.settrace(None)
            self._installed = False
        if adopt.available():  # hook mode too: threads inside a breakpoint function trace
            adopt.settrace_running_threads(self._global_fn, self._skip_ids(), remove=True)
        for tid, top in sys._current_frames().items():
            f = top
            while f is not None:
                if f.f_trace is self._local_fn:
                    f.f_trace = None
                f = f.f_back
        if sys.gettrace() is self._global_fn or sys.gettrace() == self._global_fn:
            adopt.settrace_self(None)

    # ---- trace functions (debuggee threads) ----
    def _classify(self, code):
        i = self._interest.get(code)
        if i is None:
            if canon(code.co_filename).startswith(_AGENT_DIR):
                i = _AGENT
            else:
                self.note_file(code)
                if self._pending_files or self._reloading:
                    self._module_starts(code)
                i = _YES if self.code_interest(code) else _NO
                if i == _YES:
                    self._bp_lines[code] = self.lines.get(canon(code.co_filename), frozenset())
            self._interest[code] = i
        return i

    def _make_global(self):
        """The global trace function: one dict lookup per call for code already classified (the common case)."""
        fast = self._fast
        slow = self._global_slow

        def global_trace(frame, event, arg):
            try:
                return fast[frame.f_code]
            except KeyError:
                try:
                    return slow(frame)
                except Exception:
                    _log.exception("classifying code failed")
                    return None
        return global_trace

    def _global_slow(self, frame):
        if not self.active or (self._line_only and threading.get_ident() not in self._owners):
            adopt.settrace_self(None)  # nothing to trace (line-only: no step, pause or frame needing it; _refresh)
            return None
        code = frame.f_code
        i = self._interest.get(code)
        if i is None:
            i = self._classify(code)
        if self._after_module and code.co_name == "<module>" and canon(code.co_filename) in self._after_module:
            return self._local_fn  # for its return event (not cached)
        if self._owners and code.co_name == "<module>":
            tid = threading.get_ident()
            if self._owners.get(tid) == canon(code.co_filename):
                self._owners[tid] = frame  # the module _module_loading waited for: trace until it returns
                return self._local_fn
        if i == _YES:
            if self.functions and self.function_match(code):
                self.on_function(frame)
                return self._local_fn  # not cached: every call must be checked
            result = self._local_fn
        elif i == _NO and self._all_code:
            result = self._local_fn
        else:
            result = None
        self._fast[code] = result
        if self._switch:
            self._switch = False
            with self._lock:
                self._refresh(grew=False)
        return result

    def _make_local(self):
        """The local trace function. Fast path: a line event in breakpoint code, with no step, pause or exception
        filter set, on a line that has no breakpoint, costs two dict lookups."""
        bp_lines = self._bp_lines
        plain = self._plain
        slow = self._local

        def local_trace(frame, event, arg):
            if event == "line" and plain[0]:
                lines = bp_lines.get(frame.f_code)
                if lines is not None and frame.f_lineno not in lines:
                    return local_trace
            return slow(frame, event, arg)
        return local_trace

    def _local(self, frame, event, arg):
        if not self.active:
            return None
        try:
            if frame.f_code not in self._interest:
                self._classify(frame.f_code)  # hooked code: its frames start without a call event
            self._local_event(frame, event, arg)
        except Exception:
            _log.exception("trace event failed")
        return self._local_fn

    def _local_event(self, frame, event, arg):
        if event == "line":
            self._unwinding.pop(threading.get_ident(), None)
            self.on_line(frame, frame.f_lineno)
        elif event == "exception":
            exc = arg[1]
            tb = arg[2]
            if self.raised and tb is not None and tb.tb_next is None:
                self.on_exception(frame, exc, "raised")
            if self.unwind:
                self._unwinding[threading.get_ident()] = (frame, exc)
        elif event == "return":
            if self._after_module and frame.f_code.co_name == "<module>":
                f = canon(frame.f_code.co_filename)
                if f in self._after_module:
                    self._after_module.discard(f)
                    with self._lock:
                        self._hooked_lines = None  # apply again: the module's functions exist now
                        self._returning = frame    # (its own frame is done: nothing to patch there)
                        try:
                            self._refresh(grew=False)
                        finally:
                            self._returning = None
            tid = threading.get_ident()
            if self._owners.get(tid) is frame:
                del self._owners[tid]
                if (self._hook_mode or self._line_only or not self._needed()) and tid not in self.steps \
                        and sys.gettrace() is self._global_fn:
                    adopt.settrace_self(None)  # the breakpoint function that switched tracing on is done
            pending = self._unwinding.pop(tid, None)
            if pending is not None and pending[0] is frame and arg is None and self.unwind:
                self.on_exception(frame, pending[1], "unwind")
            st = self.steps.get(tid)
            back = frame.f_back
            if st is not None and back is not None and back.f_trace is None and not is_agent_code(back.f_code):
                back.f_trace = self._local_fn
