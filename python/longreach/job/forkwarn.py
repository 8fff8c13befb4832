"""Python 3.12+ warns at os.fork() when the process has more than one thread ("This process is multi-threaded, use
of fork() may lead to deadlocks in the child"). The agent's own threads must not make that warning appear: just
before each fork, when every thread but the forking one is the agent's, a filter that ignores exactly that warning
is put first in warnings.filters, and otherwise taken out. It stays between forks (3.13 warns after the at-fork
hooks ran, so it cannot be removed right after), where it matches nothing else: only a fork issues that warning.
A program with threads of its own still gets the warning as before.

The agent's threads are safe across fork: only the forking thread survives in the child, which drops every
inherited socket and builds its own agent state (longreach.child)."""

import os
import re
import sys
import threading
import warnings

from longreach._threads import AGENT_THREAD_IDS

__all__ = ["install"]

_MESSAGE = r"This process \(pid=\d+\) is multi-threaded, use of \w+\(\) may lead to deadlocks"
_state = {"installed": False, "filter": None}


def install():
    if _state["installed"] or sys.version_info < (3, 12) or not hasattr(os, "register_at_fork"):
        return
    _state["installed"] = True
    os.register_at_fork(before=_before)


def _thread_count():
    """The process's threads, from /proc/self/stat (its 20th field; what CPython counts too). A fork write-protects
    every page, so each page written before the next fork is a page fault: this makes as few objects as it can (no
    listing of /proc/self/task, no list of the fields)."""
    try:
        fd = os.open("/proc/self/stat", os.O_RDONLY)
        try:
            data = os.read(fd, 1024)
        finally:
            os.close(fd)
        at = data.rindex(b")") + 2  # the 3rd field; fields are one space apart (no list of them: fewer objects)
        for _ in range(17):
            at = data.index(b" ", at) + 1
        return int(data[at:data.index(b" ", at)])
    except (OSError, ValueError, IndexError):
        return threading.active_count()


def _before():
    try:
        only_ours = _thread_count() - len(AGENT_THREAD_IDS) <= 1
        entry = _state["filter"]
        filters = warnings.filters
        # (ours is first unless the program added filters since: then look through them all)
        present = entry is not None and ((filters and filters[0] is entry) or any(f is entry for f in filters))
        if only_ours and not present:
            entry = ("ignore", re.compile(_MESSAGE), DeprecationWarning, None, 0)
            warnings.filters.insert(0, entry)
            _state["filter"] = entry
        elif not only_ours and present:
            warnings.filters[:] = [f for f in warnings.filters if f is not entry]
            _state["filter"] = None
        else:
            return
        warnings._filters_mutated()
    except Exception:
        pass
