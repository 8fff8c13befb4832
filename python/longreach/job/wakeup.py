"""Waking a job's waiting processes with a signal, so that one nobody has asked for runs no agent thread (5.3).

A process that joined no job yet must join once a client asks for the job. It used to keep a thread of ours that
looked for the job's `awake` file four times a second, in every process of an idle job. Instead the root takes
SIGURG when the program has not (WAKE_SIGNAL, only while its handler is the default, from the main thread), and
says so to the job (config "signal"): its forked children inherit our handler, a new interpreter of the job takes it
as it boots (exec resets handlers), and when the job wakes the gateway sends the signal to each process descending
from the root that catches it and has not joined yet. The handler starts the join on a thread of ours (join_now()),
nothing else: it runs in the main thread between two lines of whatever the program was doing, and Python retries
the call the signal interrupted.

SIGURG's default action is to ignore it (it says that out-of-band data came to a socket that asked for it, which
Python programs hardly use), so a process that exec'd another program between the gateway's look and its signal is
not disturbed. A process where the handler is not ours (the program has its own, or took the signal over) keeps the
waiting thread; the gateway signals only processes that catch it.
"""

import os
import signal
import threading

import _signal

__all__ = ["WAKE_SIGNAL", "install", "ours", "signal_descendants", "children"]

WAKE_SIGNAL = signal.SIGURG
_SIGNUM = int(WAKE_SIGNAL)
_state = {"on_wake": None}


def _woken(signum, frame):
    on_wake = _state["on_wake"]
    if on_wake is not None:
        on_wake()


def install(on_wake):
    """In the root, or a new interpreter of the job (the main thread, before its own code): take WAKE_SIGNAL if the
    program has not. True when our handler is in place. Never raises."""
    _state["on_wake"] = on_wake
    if threading.current_thread() is not threading.main_thread() or children(os.getpid()) is None:
        return False  # (the gateway could not find whom to wake: the processes look for the flag)
    try:
        if signal.getsignal(WAKE_SIGNAL) not in (signal.SIG_DFL, _woken):
            return False
        signal.signal(WAKE_SIGNAL, _woken)
    except (ValueError, OSError, AttributeError):
        return False
    return True


def ours():
    """Whether WAKE_SIGNAL runs our handler in this process (a fork child inherits the parent's)."""
    # (a fork child asks in its at-fork hook, where each object touched is a page copied: the C function with an
    # int, not signal.getsignal, whose look for an enum member raises and catches an exception each time)
    try:
        return _signal.getsignal(_SIGNUM) is _woken
    except (ValueError, AttributeError):
        return False


def signal_descendants(root, skip=()):
    """Send WAKE_SIGNAL to every process descending from `root` that catches it but those in `skip`. Returns the pids
    signalled. A process that has left the root's tree (its parent exited and it was reparented) is not found: it
    joins when its program calls the agent."""
    woken, todo = [], [root]
    while todo:
        for pid in children(todo.pop()) or ():
            todo.append(pid)
            if pid in skip or not _catches(pid, WAKE_SIGNAL):
                continue
            try:
                os.kill(pid, WAKE_SIGNAL)
                woken.append(pid)
            except OSError:
                pass
    return woken


def children(pid):
    """The child processes of `pid` (Linux: /proc/PID/task/*/children, each of its threads' own), or None when that
    cannot be read (not Linux, a kernel without CONFIG_PROC_CHILDREN, the process gone)."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    found, read = [], False
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as listing:
                found.extend(int(child) for child in listing.read().split())
            read = True
        except (OSError, ValueError):
            continue  # (a thread that ended since the listing)
    return found if read else None


def _catches(pid, signum):
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False
