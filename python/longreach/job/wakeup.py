"""Waking a job's forked children with a signal, so that one nobody has asked for runs no agent thread (5.3).

A child forked before anyone asked for the job must join once a client does. It used to keep a thread of ours that
looked for the job's `awake` file every few tenths of a second; a short-lived forked child (a Pool's, a DataLoader's
worker) paid for that thread in pages copied from its parent. Instead the root takes one real-time signal that the
program has not (WAKE_SIGNAL, only while its handler is the default); its forked children inherit our handler, and
when the job wakes the gateway sends that signal to each process descending from the root that catches it and has
not joined yet. The handler starts the join on a thread of ours (join_now()), nothing else: it runs in the main
thread between two lines of whatever the program was doing, and Python retries the call the signal interrupted.

The child checks that the handler is still ours (signal.getsignal) when it is forked; otherwise, and in a new
interpreter (exec resets handlers), it keeps the waiting thread. The gateway never signals a process that does not
catch the signal, whose default action would end it.
"""

import os
import signal
import threading

__all__ = ["WAKE_SIGNAL", "install", "ours", "signal_descendants"]

WAKE_SIGNAL = getattr(signal, "SIGRTMAX", 64) - 2
_state = {"on_wake": None}


def _woken(signum, frame):
    on_wake = _state["on_wake"]
    if on_wake is not None:
        on_wake()


def install(on_wake):
    """In the root (the main thread, before its children are forked): take WAKE_SIGNAL if the program has not.
    True when our handler is in place. Never raises."""
    _state["on_wake"] = on_wake
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        if signal.getsignal(WAKE_SIGNAL) not in (signal.SIG_DFL, _woken):
            return False
        signal.signal(WAKE_SIGNAL, _woken)
    except (ValueError, OSError, AttributeError):
        return False
    return True


def ours():
    """Whether WAKE_SIGNAL runs our handler in this process (a fork child inherits the parent's)."""
    try:
        return signal.getsignal(WAKE_SIGNAL) is _woken
    except (ValueError, AttributeError):
        return False


def signal_descendants(root, skip=()):
    """Send WAKE_SIGNAL to every process descending from `root` that catches it, but those in `skip`. Linux (/proc);
    elsewhere, or on any error, nothing: those children then join when their programs call the agent. Returns the
    pids signalled."""
    children = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as stat:
                data = stat.read()
            ppid = int(data[data.rindex(b")") + 2:].split(None, 2)[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    woken, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), ()):
            todo.append(pid)
            if pid in skip or not _catches(pid, WAKE_SIGNAL):
                continue
            try:
                os.kill(pid, WAKE_SIGNAL)
                woken.append(pid)
            except OSError:
                pass
    return woken


def _catches(pid, signum):
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False
