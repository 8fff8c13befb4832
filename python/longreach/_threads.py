"""Agent threads: daemon threads the tracer never traces, never stops, and `threads` responses hide.

They are started with the low-level `_thread` module so that every Python frame such a thread ever runs before its
ident is in AGENT_THREAD_IDS is agent code (which tracers skip). A `threading.Thread` would first run lines of
threading.py, where a debugger that is stopping every thread (or stepping into everything) could catch it.
"""

import os
import sys
import threading

try:
    import _thread
except ImportError:  # pragma: no cover - every supported runtime has it
    import thread as _thread

__all__ = ["AGENT_THREAD_IDS", "start_agent_thread", "is_agent_thread", "AgentThread"]

# Thread idents of the agent's own threads. Mutated only under _lock; read freely (set membership is atomic).
AGENT_THREAD_IDS = set()
_lock = threading.Lock()


class AgentThread(object):
    """A handle on an agent thread: name, ident, daemon (always True), join(timeout), is_alive()."""

    daemon = True

    def __init__(self, name):
        self.name = name
        self.ident = None
        # held while the thread runs (a bare lock, not a threading.Event: a forked child starts one of these, and
        # every object it makes there costs it a page of memory copied)
        self._running = _thread.allocate_lock()
        self._running.acquire()

    def join(self, timeout=None):
        if self.ident == threading.get_ident():
            raise RuntimeError("cannot join the current thread")
        if self._running.acquire(True, -1 if timeout is None else max(0, timeout)):
            self._running.release()

    def is_alive(self):
        return self._running.locked()

    def _ended(self):
        self._running.release()

    def __repr__(self):
        return "<AgentThread %s ident=%s%s>" % (self.name, self.ident, "" if self.is_alive() else " done")


def _run(handle, target, args):
    ident = _thread.get_ident()
    with _lock:
        AGENT_THREAD_IDS.add(ident)
    try:
        sys.settrace(None)
        target(*args)
    except BaseException:
        try:
            from .log import get_logger
            get_logger("server").exception("agent thread %s failed", handle.name)
        except BaseException:
            pass
    finally:
        _forget_dummy(ident)
        # Still an agent thread while it runs threading's code: sys.monitoring is global (3.12+), and a thread
        # that has left AGENT_THREAD_IDS would be paused like the program's own when one of them stops - so a
        # detach joining this thread waited out its timeout (the late stop after re-attach on 3.12).
        handle._ended()
        with _lock:
            AGENT_THREAD_IDS.discard(ident)


def _forget_dummy(ident):
    """threading.current_thread() (e.g. from logging) registers a dummy Thread object for a _thread thread and, before
    Python 3.13, never removes it: drop it so no phantom thread outlives this one."""
    active = getattr(threading, "_active", None)
    dummy_type = getattr(threading, "_DummyThread", None)
    if active is None or dummy_type is None:
        return
    guard = getattr(threading, "_active_limbo_lock", None)
    try:
        if guard is not None:
            with guard:
                if isinstance(active.get(ident), dummy_type):
                    del active[ident]
        elif isinstance(active.get(ident), dummy_type):
            del active[ident]
    except Exception:
        pass


def start_agent_thread(target, name, args=(), in_handler=False):
    """Start `target(*args)` on a daemon agent thread registered in AGENT_THREAD_IDS until it ends.
    Returns an AgentThread handle (join / is_alive / ident / name). `in_handler`: from a signal handler, which may
    have interrupted this very thread inside this function: the new thread registers itself (_run)."""
    handle = AgentThread(name)
    if in_handler:
        handle.ident = _thread.start_new_thread(_run, (handle, target, tuple(args)))
        return handle
    with _lock:
        handle.ident = _thread.start_new_thread(_run, (handle, target, tuple(args)))
        if handle.is_alive():
            AGENT_THREAD_IDS.add(handle.ident)
    return handle


def is_agent_thread(ident=None):
    return (_thread.get_ident() if ident is None else ident) in AGENT_THREAD_IDS


def _after_fork_in_child():
    """Only the forking thread survives a fork: no agent thread exists in the child, and a lock held by one of the
    parent's threads at that moment must not stay held forever."""
    global _lock
    _lock = threading.Lock()
    AGENT_THREAD_IDS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
