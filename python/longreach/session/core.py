"""The debug session: translates DAP to the tracer (mechanism), the breakpoint registry and the thread coordinator.

One dispatch table (HANDLERS) maps each DAP command to a method that returns a response body or raises
LongreachError. The session is also the tracer's policy (break_at_*, stopped, new_file).
Inspection handlers (stack, variables, evaluate, sources) live in inspection.py.
"""

import atexit
import gc
import os
import sys
import threading
import time

from longreach import exits, log, program
from longreach._threads import AGENT_THREAD_IDS, start_agent_thread
from longreach.session.breakpoints import Registry, should_stop
from longreach.session.capabilities import CAPABILITIES
from longreach.errors import LongreachError
from longreach.session.output import OutputRedirect
from longreach.session.paths import PathResolver
from longreach.session.inspection import InspectHandlers, is_user_file
from longreach.session.stacks import on_stacks
from longreach.session.data_requests import DataHandlers
from longreach.session.thread_events import ThreadEvents
from longreach.session.threads import Coordinator, user_threads
from longreach.tracer.base import canon
from longreach.tracer.factory import make_tracer, mechanism
from longreach.session.variables import Refs, Renderer

mechanism()  # imported with the session (at the first attach), so the attach does not wait for it later

__all__ = ["DebugSession", "CAPABILITIES"]

_log = log.get_logger("dap")

_STEP_KINDS = {"next": "over", "stepIn": "in", "stepOut": "out"}
# requests that only render values: the cyclic collector is paused while they run on a stopped program
_GC_PAUSED = frozenset(["scopes", "variables", "stackTrace", "evaluate", "longreach/table", "longreach/stats"])


def _bad(message):
    return LongreachError("LR_BAD_REQUEST", message)


class DebugSession(InspectHandlers, DataHandlers):
    def __init__(self, send, peer, options=None):
        options = options or {}
        self._send = send
        self.peer = peer
        self.options = options
        self.refs = Refs()
        self.renderer = Renderer(self.refs, self._run_user)
        self.tracer = make_tracer(self, compile_lines=True)
        self.coord = Coordinator(self.tracer, self._announce_stop)
        self._hits = {}  # thread ident -> ids of the breakpoints stopping it, from break_at_* to stopped()
        self.registry = Registry(PathResolver())
        self.output = None
        self._closed = False
        self._configured = False
        self._terminating = False
        self._tids = {}          # python thread ident -> DAP thread id (small ints: idents do not fit in JS)
        self._idents = {}
        self.thread_events = ThreadEvents(self.send_event, self.dap_tid)
        self._frames = {}
        self._next_frame = 1
        self._sources = {}       # sourceReference -> file name (code without a file on disk)
        self._source_refs = {}
        self._source_cache = {}  # file name -> DAP source, until the program resumes
        self._hooks = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    # ---- the contract with longreach.wire.server ----
    def handle(self, command, arguments):
        handler = HANDLERS.get(command)
        if handler is None:
            raise LongreachError("LR_UNSUPPORTED", "the Python agent does not support the %r request" % (command,))
        if self._closed and command != "terminate":
            raise LongreachError("LR_BAD_REQUEST", "the debug session has ended; attach again")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise _bad("arguments of %r must be an object" % (command,))
        if command not in _GC_PAUSED or not self.coord.is_stopped() or (
                command == "evaluate" and arguments.get("context") in (None, "repl")):
            return handler(self, arguments)
        # While the program is stopped, the agent's own allocations (variables, summaries, JSON) would now and
        # then trigger a full collection of the program's heap: hundreds of ms beside a 10M-item list. That
        # collection belongs to the program's next allocation; the collector is paused for the request (not for
        # code typed at the prompt, which may allocate without bound).
        was = gc.isenabled()
        gc.disable()
        try:
            return handler(self, arguments)
        finally:
            if was:
                gc.enable()

    def started(self):
        self.send_event("initialized", {})
        argv = sys.argv or [""]
        name = "-m " + argv[1] if argv[0] == "-m" and len(argv) > 1 else argv[0] or sys.executable
        self.send_event("process", {"name": name,
                                    "systemProcessId": os.getpid(), "isLocalProcess": False,
                                    "startMethod": "attach", "pointerSize": 64 if sys.maxsize > 2 ** 32 else 32})

    def close(self):
        if os.getpid() != self._pid:
            # a forked child closing what it inherited: locks may have been held by parent threads that do not
            # exist here, so start from fresh ones
            self._lock = threading.Lock()
            self.tracer._lock = threading.RLock()
            self.coord._cond = threading.Condition()
            self.thread_events.forget_after_fork()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        # The tracer goes while the stopped threads are still held: taking it out of threads already running walks
        # every thread's state (tracer/adopt.py), and a thread let go first could end and free its state in the
        # middle of that walk (SIGSEGV at exit, CPython 3.11 in CI).
        for step in (self.thread_events.stop, self.tracer.uninstall, self.coord.close, self._restore_hooks,
                     self._stop_output, self.refs.clear):
            try:
                step()
            except Exception:
                _log.exception("detach step failed")
        try:
            atexit.unregister(self._at_exit)
        except Exception:
            pass

    def break_into(self, frame):
        if self._closed or frame is None:
            return
        self.tracer.adopt_current_thread(frame)
        self.coord.stop(frame, "pause", None, forced=True)

    def adopt_thread(self, frame):
        """Let the calling thread stop at breakpoints where the tracer cannot reach threads that were already running
        (PyPy): api.wait_for_attach() passes its caller's frame. Only when something
        is set, so a program attached without breakpoints runs untraced."""
        if not self._closed and frame is not None:
            self.tracer.adopt_current_thread(frame, only_if_needed=True)

    def terminate_requested(self):
        return self._terminating

    # ---- sending ----
    def send_event(self, event, body):
        try:
            self._send({"type": "event", "event": event, "body": body})
        except Exception:
            _log.exception("sending %s failed", event)

    def emit_output(self, category, text):
        self.send_event("output", {"category": category, "output": text})

    # ---- thread ids ----
    def dap_tid(self, ident):
        t = self._tids.get(ident)
        if t is None:
            with self._lock:
                t = self._tids.get(ident)
                if t is None:
                    t = len(self._tids) + 1
                    self._tids[ident] = t
                    self._idents[t] = ident
        return t

    def ident_of(self, args, required=True):
        t = args.get("threadId")
        if t is None and not required:
            return None
        if not isinstance(t, int) or t not in self._idents:
            raise _bad("unknown threadId %r; send a threads request for the current ids" % (t,))
        return self._idents[t]

    # ---- the tracer's policy ----
    def break_at_line(self, frame):
        return self._stop_for([bp for bp in self.registry.at(frame)
                               if should_stop(bp, frame, self._log_point, self._condition_error)])

    def compiled_hit(self, frame, condition, error):
        """A breakpoint compiled into the code fired (tracer/compiled.py): `condition` (the text compiled in) was
        true or raised `error`; breakpoints with that condition are not evaluated again."""
        stopping = []
        for bp in self.registry.at(frame):
            known = None
            if condition is not None and bp.condition_text == condition:
                known = error if error is not None else True
            if should_stop(bp, frame, self._log_point, self._condition_error, known):
                stopping.append(bp)
        return self._stop_for(stopping)

    def break_at_function(self, frame):
        return self._stop_for([entry for entry in self.registry.functions_at(frame.f_code)
                               if should_stop(entry, frame, self._log_point, self._condition_error)])

    def _stop_for(self, breakpoints):
        """True when `breakpoints` (those whose condition and hit count say stop) stop this thread; its stopped event
        names them (hitBreakpointIds)."""
        if breakpoints:
            self._hits[threading.get_ident()] = [bp.id for bp in breakpoints]
        return bool(breakpoints)

    def break_at_exception(self, frame, exc, kind):
        filters = self.registry.exception_filters
        if isinstance(exc, (StopIteration, StopAsyncIteration, GeneratorExit)):
            return False
        if not is_user_file(frame.f_code.co_filename):
            return False
        if kind == "raised":
            return "raised" in filters
        back = frame.f_back
        return "userUnhandled" in filters and back is not None and not is_user_file(back.f_code.co_filename)

    def stopped(self, frame, reason, exc):
        hits = self._hits.pop(threading.get_ident(), None)
        self.coord.stop(frame, reason, exc, hits=hits if reason in ("breakpoint", "function breakpoint") else None)

    def new_file(self, filename):
        changed = self.registry.file_loaded(filename)
        if changed:
            self.tracer.set_lines(self.registry.lines_by_file(), self.registry.conditions_by_file())
            for bp in changed:
                self.send_event("breakpoint", {"reason": "changed", "breakpoint": bp.to_dap(
                    {"path": bp.client_path, "name": os.path.basename(bp.client_path)})})
        if not self.registry.has_unverified():
            self.tracer.set_watch_files(False)

    def _log_point(self, text):
        self.emit_output("console", text)

    def _condition_error(self, text):
        self.emit_output("console", text + "\n")

    def _announce_stop(self, st):
        self.refs.clear()
        self._frames.clear()
        self._source_cache = {}
        self.thread_events.announce()
        body = {"reason": st.reason, "threadId": self.dap_tid(st.tid), "allThreadsStopped": True}
        if st.exc is not None:
            body["description"] = "%s: %s" % (type(st.exc).__name__, self._exc_text(st.exc))
            body["text"] = type(st.exc).__name__
        if st.hits:
            body["hitBreakpointIds"] = st.hits
        self.send_event("stopped", body)

    # ---- running user code for inspection ----
    def _run_user(self, fn, timeout=1.5):
        if not self.coord.is_stopped():
            raise LongreachError("LR_NOT_STOPPED", "the program is running; pause it first")
        return self.coord.run(fn, timeout)

    # ---- uncaught exceptions: the interpreter's hooks, not tracing ----
    def _install_hooks(self):
        if self._hooks is not None:
            return
        old_sys = sys.excepthook
        old_thr = getattr(threading, "excepthook", None)

        def sys_hook(t, v, tb):
            if not isinstance(v, SystemExit):
                program.note_uncaught()
            self._uncaught(v, tb)
            return old_sys(t, v, tb)

        def thr_hook(args):
            if args.exc_type is not SystemExit:
                self._uncaught(args.exc_value, args.exc_traceback)
            return old_thr(args)

        sys.excepthook = sys_hook
        if old_thr is not None:
            threading.excepthook = thr_hook
        self._hooks = (old_sys, sys_hook, old_thr, thr_hook)

    def _restore_hooks(self):
        if self._hooks is None:
            return
        old_sys, sys_hook, old_thr, thr_hook = self._hooks
        if sys.excepthook is sys_hook:
            sys.excepthook = old_sys
        if old_thr is not None and threading.excepthook is thr_hook:
            threading.excepthook = old_thr
        self._hooks = None

    def _uncaught(self, exc, tb):
        try:
            if self._closed or "uncaught" not in self.registry.exception_filters or tb is None:
                return
            if isinstance(exc, (SystemExit, KeyboardInterrupt)) or threading.get_ident() in AGENT_THREAD_IDS:
                return
            while tb.tb_next is not None:
                tb = tb.tb_next
            self.coord.stop(tb.tb_frame, "exception", exc, forced=True)
        except Exception:
            _log.exception("stopping on an uncaught exception failed")

    def _at_exit(self):
        """The program is ending while attached: tell the client how, before api's exit hook closes the
        connection (atexit runs hooks last-registered first, and this one is registered at attach)."""
        if not self._closed and not self._terminating:
            self.thread_events.stop()
            self.send_event("exited", {"exitCode": program.exit_code()})
            self.send_event("terminated", {})

    def _stop_output(self):
        if self.output is not None:
            self.output.uninstall()
            self.output = None

    # ---- lifecycle handlers ----
    def on_attach(self, args):
        try:
            self.registry = Registry(PathResolver(args.get("pathMappings") or (),
                                                  extra_files=lambda: list(self.tracer.seen_files)))
        except ValueError as e:
            raise _bad("bad pathMappings: %s" % (e,))
        redirect = args.get("redirectOutput", self.options.get("redirect_output", True))
        if not isinstance(redirect, bool):
            raise _bad("redirectOutput must be true or false")
        self.tracer.install()
        self._install_hooks()
        self.registry.set_exception_filters(["uncaught"])
        if redirect:
            self.output = OutputRedirect(self.emit_output)
            self.output.install()
        atexit.register(self._at_exit)
        return None

    def on_configuration_done(self, args):
        if not self._configured:
            self._configured = True
            cb = self.options.get("on_configured")
            if cb is not None:
                cb()
        self.thread_events.announce()
        self.thread_events.watch()
        return None

    def on_terminate(self, args):
        self._terminating = True
        self.thread_events.stop()
        self.send_event("exited", {"exitCode": 0})  # the order of a program that ends by itself (_at_exit)
        self.send_event("terminated", {})
        self.close()
        main = threading.main_thread()
        if main.is_alive():
            where = _where(main.ident)
            grace = 3.0 if _interrupt_main(main.ident) else 0.2
            start_agent_thread(_exit_later, "longreach-terminate", (main, grace, where))
        return None

    # ---- breakpoints ----
    def on_set_breakpoints(self, args):
        source = args.get("source")
        if not isinstance(source, dict):
            raise _bad("setBreakpoints needs a source object")
        path = source.get("path")
        if not path and source.get("sourceReference"):
            path = self._sources.get(source.get("sourceReference"))
        if not isinstance(path, str) or not path:
            raise _bad("setBreakpoints needs source.path (the file's path on your machine)")
        specs = args.get("breakpoints")
        if specs is None:
            specs = [{"line": n} for n in args.get("lines") or ()]
        if not isinstance(specs, list) or not all(isinstance(s, dict) and isinstance(s.get("line"), int)
                                                  for s in specs):
            raise _bad("breakpoints must be a list of objects with an integer line")
        bps = self.registry.set_source(path, specs)
        self.tracer.set_lines(self.registry.lines_by_file(), self.registry.conditions_by_file())
        self.tracer.set_budgeted(self.registry.runs_user_code())
        self.tracer.set_watch_files(self.registry.has_unverified())
        src = {"path": path, "name": os.path.basename(path.replace("\\", "/"))}
        return {"breakpoints": [bp.to_dap(src) for bp in bps]}

    def on_set_function_breakpoints(self, args):
        specs = args.get("breakpoints")
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise _bad("breakpoints must be a list of objects with a name")
        out = self.registry.set_functions(specs)
        self.tracer.set_functions(self.registry.function_names())
        self.tracer.set_budgeted(self.registry.runs_user_code())
        return {"breakpoints": out}

    def on_set_exception_breakpoints(self, args):
        filters = args.get("filters") or []
        for opt in args.get("filterOptions") or []:
            if isinstance(opt, dict) and isinstance(opt.get("filterId"), str):
                filters.append(opt["filterId"])
        if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
            raise _bad("filters must be a list of filter names")
        try:
            self.registry.set_exception_filters(filters)
        except ValueError as e:
            raise _bad(str(e))
        f = self.registry.exception_filters
        self.tracer.set_exceptions("raised" in f, "userUnhandled" in f)
        return {"breakpoints": [{"verified": True} for _ in filters]}

    # ---- execution control ----
    def _after_reply(self, fn):
        """Resume only once the response is on the wire (docs/protocol.md 5.2): otherwise a thread released here
        could report its next stop before the response that released it."""
        later = self.options.get("after_reply")
        if later is None:
            fn()
        else:
            later(fn)

    def on_continue(self, args):
        self.refs.clear()
        self._frames.clear()
        self._after_reply(self.coord.resume)
        return {"allThreadsContinued": True}

    def _step(self, command, args):
        ident = self.ident_of(args)
        if ident not in self.coord.stopped:
            raise LongreachError("LR_NOT_STOPPED", "thread %s is not stopped; pause it first" % args["threadId"])
        self.refs.clear()
        step, tid = (ident, _STEP_KINDS[command]), args["threadId"]

        def go():
            if self._closed:
                return
            # every thread runs again, which a step response cannot say: tell the client before anything can stop
            self.send_event("continued", {"threadId": tid, "allThreadsContinued": True})
            self.coord.resume(step=step)
        self._after_reply(go)
        return None

    def on_next(self, args):
        return self._step("next", args)

    def on_step_in(self, args):
        return self._step("stepIn", args)

    def on_step_out(self, args):
        return self._step("stepOut", args)

    def on_pause(self, args):
        self.coord.request_pause()
        return None

    def on_threads(self, args):
        out = []
        for ident, t in sorted(user_threads().items(), key=lambda kv: self.dap_tid(kv[0])):
            name = t.name if t is not None else "Thread-%d" % ident
            out.append({"id": self.dap_tid(ident), "name": name})
        return {"threads": out}


class _Terminated(SystemExit):
    """SystemExit with exit code 0 whatever message the runtime constructs it with."""

    def __init__(self, *args):
        SystemExit.__init__(self, 0)


def _interrupt_main(ident):
    """SystemExit in the main thread at its next bytecode (CPython); elsewhere _exit_later ends the process."""
    try:
        if sys.implementation.name == "pypy":
            import __pypy__.thread
            __pypy__.thread._raise_in_thread(ident, _Terminated)
        else:
            import ctypes
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(SystemExit))
        return True
    except Exception:
        return False


BLOCKED_AFTER = 0.3  # a main thread the terminate's exception has not reached by then is blocked in a call


def _where(ident):
    """The frame a thread runs and the instruction it is at (None where that cannot be known)."""
    try:
        frame = sys._current_frames().get(ident)
    except Exception:
        return None
    return None if frame is None else (frame, frame.f_lasti)


def _exit_later(main, grace=3.0, where=None):
    deadline = time.monotonic() + grace
    nudge = time.monotonic() + BLOCKED_AFTER if where is not None else None
    while time.monotonic() < deadline:
        if not main.is_alive():
            return
        if nudge is not None and time.monotonic() >= nudge:
            nudge = None
            interrupt = exits.interrupt_blocked_main[0]
            if interrupt is not None and _where(main.ident) == where:
                # the main thread has not moved since (the same frame object, the same instruction): blocked in a
                # call, which a job's process can interrupt (exits.py). One that moved is ending: its clean-up is
                # not interrupted.
                interrupt(_Terminated)
        time.sleep(0.05)
    for fn in list(exits.before_forced_exit):
        try:
            fn()
        except Exception:
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)


HANDLERS = {
    # lifecycle
    "attach": DebugSession.on_attach,
    "configurationDone": DebugSession.on_configuration_done,
    "terminate": DebugSession.on_terminate,
    # breakpoints
    "setBreakpoints": DebugSession.on_set_breakpoints,
    "setFunctionBreakpoints": DebugSession.on_set_function_breakpoints,
    "setExceptionBreakpoints": DebugSession.on_set_exception_breakpoints,
    # execution control
    "continue": DebugSession.on_continue,
    "next": DebugSession.on_next,
    "stepIn": DebugSession.on_step_in,
    "stepOut": DebugSession.on_step_out,
    "pause": DebugSession.on_pause,
    # inspection (inspection.py)
    "threads": DebugSession.on_threads,
    "stackTrace": DebugSession.on_stack_trace,
    "scopes": DebugSession.on_scopes,
    "variables": DebugSession.on_variables,
    "setVariable": DebugSession.on_set_variable,
    "evaluate": DebugSession.on_evaluate,
    "completions": DebugSession.on_completions,
    "exceptionInfo": DebugSession.on_exception_info,
    "source": DebugSession.on_source,
    "loadedSources": DebugSession.on_loaded_sources,
    "modules": DebugSession.on_modules,
    # every thread's stack without stopping (stacks.py; `longreach stacks`)
    "longreach/stacks": on_stacks,
    # data values (data_requests.py)
    "longreach/table": DebugSession.on_longreach_table,
    "longreach/stats": DebugSession.on_longreach_stats,
}
