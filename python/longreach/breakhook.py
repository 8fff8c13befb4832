"""breakpoint() with an agent in the process (docs/environment.md).

enable_attach() calls install(): from then on breakpoint() stops at the caller's line when a debugger is attached,
and otherwise waits there for one, listed as waiting (processinfo.waiting()), for LONGREACH_BREAKPOINT_WAIT seconds
(unset: until a debugger comes; 0: never). A debugger that attaches gets the stop as soon as it has sent
configurationDone; when it detaches the program carries on. PYTHONBREAKPOINT=0 disables every breakpoint(), and
PYTHONBREAKPOINT naming another hook (pdb.set_trace, ...) hands breakpoint() to that hook, as Python promises. A hook
the program installed itself is left alone.

Face room, importing only the base room: the server comes from api through install()'s getter and is used only
through current_session(), wait_configured() and is_closing().
"""

import os
import sys
import time

from longreach import envconfig, log, processinfo
from longreach.errors import LongreachError

__all__ = ["OUR_HOOK", "install", "hook", "current_server", "live_server", "chosen_hook", "stop_here", "caller_frame",
           "report_once"]

OUR_HOOK = "longreach.breakpoint"
_OUR_MODULES = frozenset(["longreach.breakhook", "longreach.lazystart"])
_POLL = 0.25  # how often a waiting breakpoint() looks whether its server is still there

_log = log.get_logger("api")
_get_server = None
_fork_hook_registered = False
_in_forks = False  # the process is in a job: a forked child joins it, and its breakpoint() stays the agent's
_reported = set()


def install(get_server, in_forks=False):
    """Route breakpoint() to the agent; `get_server()` is the process's server or None. Only when breakpoint() would
    otherwise run Python's own hook and PYTHONBREAKPOINT does not choose another one (or 0): then Python's hook keeps
    doing what it is asked, with no frame of ours in between. `in_forks`: the process is in a job, whose forked
    children join it (get_server() there joins first): theirs stays routed too."""
    global _get_server, _fork_hook_registered, _in_forks
    _get_server = get_server
    _in_forks = in_forks
    if sys.breakpointhook is sys.__breakpointhook__ and chosen_hook() is None:
        sys.breakpointhook = hook
    # (in a job a forked child keeps our hook: the at-fork function would do nothing there, and calling it is still a
    # few pages copied in every child; it is registered once the process is outside a job, if ever)
    if not _fork_hook_registered and not in_forks and hasattr(os, "register_at_fork"):
        _fork_hook_registered = True
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _after_fork_in_child():
    """A forked child outside a job has no agent (until it starts its own): breakpoint() is Python's again."""
    if sys.breakpointhook is hook and not _in_forks:
        sys.breakpointhook = sys.__breakpointhook__


def current_server():
    """The process's server (None before enable_attach() and in a forked child), closing or not."""
    getter = _get_server
    return None if getter is None else getter()


def live_server():
    """The server breakpoint() can use: started and not closing (None in a forked child, or at exit)."""
    server = current_server()
    if server is None or server.is_closing():
        return None
    return server


def chosen_hook():
    """What PYTHONBREAKPOINT asks for, read at each call as Python does: "0" (disabled), None (the agent: unset,
    empty or longreach.breakpoint) or another hook's dotted name. `python -E` ignores it, as Python does."""
    if sys.flags.ignore_environment:
        return None
    value = os.environ.get("PYTHONBREAKPOINT", "")
    return None if value in ("", OUR_HOOK) else value


def hook(*args, **kws):
    """sys.breakpointhook while an agent runs in the process."""
    choice = chosen_hook()
    if choice == "0":
        return None
    server = live_server()
    if choice is not None or server is None:
        # PYTHONBREAKPOINT changed since install(), or the agent has closed (the end of the program): what Python does
        return sys.__breakpointhook__(*args, **kws)
    stop_here(server, caller_frame())
    return None


def stop_here(server, frame):
    """Stop at `frame` (the line that called breakpoint()) for the attached debugger, or wait for one first."""
    try:
        wait = envconfig.breakpoint_wait(os.environ)
    except LongreachError as err:
        report_once(err.message)
        return
    if frame is None:
        return
    if server.wait_configured(0) or (wait == 0 and server.current_session() is not None):
        _break_into(server, frame)
        return
    if wait == 0:
        return
    where = _file_of(frame)
    token = processinfo.mark_waiting(where, frame.f_lineno)
    _log.info("breakpoint() at %s:%d waits for a debugger (%s)", where, frame.f_lineno,
              "until one comes" if wait is None else "%g s" % wait)
    try:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            if live_server() is not server:
                return
            slice_ = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            if slice_ <= 0:
                _log.info("breakpoint() at %s:%d: no debugger came within %g s; carrying on", where,
                          frame.f_lineno, wait)
                return
            if server.wait_configured(slice_):
                break
    finally:
        processinfo.clear_waiting(token)
    _break_into(server, frame)


def _break_into(server, frame):
    session = server.current_session()
    if session is None:
        return
    try:
        session.break_into(frame)
    except Exception:
        _log.exception("breakpoint() could not stop")


def caller_frame():
    """The frame that called breakpoint(): the first one outside this module and the lazy-start one."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in _OUR_MODULES:
        frame = frame.f_back
    return frame


def _file_of(frame):
    name = frame.f_code.co_filename
    if name.startswith("<") and name.endswith(">"):
        return name
    try:
        return os.path.abspath(name)
    except (OSError, ValueError):
        return name


def report_once(message):
    """One line on stderr for a configuration problem, once per problem; breakpoint() then does nothing."""
    if message in _reported:
        return
    _reported.add(message)
    _log.warning("breakpoint() ignored: %s", message)
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write("longreach: breakpoint() ignored: %s\n" % message)
        stream.flush()
    except Exception:
        pass
