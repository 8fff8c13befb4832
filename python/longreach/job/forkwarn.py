"""Python 3.12+ warns at os.fork() when the process has more than one thread ("This process is multi-threaded, use
of fork() may lead to deadlocks in the child"). The agent's own threads must not make that warning appear: when
every thread but the forking one is the agent's, the warning is ignored for that one fork (a filter added just
before it and removed just after, in the parent); a program with threads of its own still gets it as before.

The agent's threads are safe across fork: only the forking thread survives in the child, which drops every
inherited socket and builds its own agent state (longreach.child)."""

import os
import re
import sys
import threading
import warnings

from longreach._threads import AGENT_THREAD_IDS

__all__ = ["install"]

_MESSAGE = r"This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to deadlocks"
_state = {"installed": False, "filter": None}


def install():
    if _state["installed"] or sys.version_info < (3, 12) or not hasattr(os, "register_at_fork"):
        return
    _state["installed"] = True
    os.register_at_fork(before=_before, after_in_parent=_after_in_parent, after_in_child=_after_in_parent)


def _thread_count():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _before():
    try:
        if _thread_count() - len(AGENT_THREAD_IDS) > 1:
            return
        entry = ("ignore", re.compile(_MESSAGE), DeprecationWarning, None, 0)
        warnings.filters.insert(0, entry)
        warnings._filters_mutated()
        _state["filter"] = entry
    except Exception:
        _state["filter"] = None


def _after_in_parent():
    entry, _state["filter"] = _state["filter"], None
    if entry is None:
        return
    try:
        warnings.filters.remove(entry)
        warnings._filters_mutated()
    except (ValueError, AttributeError):
        pass
