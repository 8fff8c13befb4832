"""Waking a job's waiting processes with a signal, so that one nobody has asked for runs no agent thread (5.3).

A process that joined no job yet must join once a client asks for the job. It used to keep a thread of ours that
looked for the job's `awake` file four times a second, in every process of an idle job. Instead the root takes
SIGURG when the program has not (WAKE_SIGNAL, only while its handler is the default, from the main thread), and
says so to the job (config "signal"): its forked children inherit our handler, a new interpreter of the job takes it
as it boots (exec resets handlers), and when the job wakes the gateway sends the signal to each process of the job
that catches it and has not joined yet: those descending from the root, and those whose program started with the
job's variable but whose parent has exited since (strays()). The handler starts the join on a thread of ours
(join_now()), nothing else: it runs in the main thread between two lines of whatever the program was doing, and
Python retries the call the signal interrupted.

SIGURG's default action is to ignore it (it says that out-of-band data came to a socket that asked for it, which
Python programs hardly use), so a process that exec'd another program between the gateway's look and its signal is
not disturbed. A process where the handler is not ours (the program has its own, or took the signal over) keeps the
waiting thread; the gateway signals only processes that catch it.
"""

import os
import signal
import threading
import time

import _signal

from longreach import exits
from longreach.job import config as job_config

__all__ = ["WAKE_SIGNAL", "install", "ours", "signal_descendants", "children", "strays", "uptime", "argv", "program",
           "names_job", "descends", "group_orphan", "catches", "stat_fields", "descendants", "processes", "end",
           "wait_gone", "interrupt_main"]

WAKE_SIGNAL = signal.SIGURG
_SIGNUM = int(WAKE_SIGNAL)
ENV_PREFIX = (job_config.ENV + "=").encode()
_state = {"on_wake": None, "raise": None}


def _woken(signum, frame):
    to_raise = _state["raise"]
    if to_raise is not None:
        _state["raise"] = None
        raise to_raise()
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
    exits.interrupt_blocked_main[0] = interrupt_main
    return True


def ours():
    """Whether WAKE_SIGNAL runs our handler in this process (a fork child inherits the parent's)."""
    # (a fork child asks in its at-fork hook, where each object touched is a page copied: the C function with an
    # int, not signal.getsignal, whose look for an enum member raises and catches an exception each time)
    try:
        return _signal.getsignal(_SIGNUM) is _woken
    except (ValueError, AttributeError):
        return False


def interrupt_main(exc_type):
    """Raise `exc_type` in the main thread at once, even inside a blocking call (a lock's or a queue's wait, a
    sleep, a read), which the signal interrupts: where our handler of WAKE_SIGNAL is in place (a job's process).
    False elsewhere."""
    main = threading.main_thread()
    if not ours() or not main.is_alive() or not hasattr(signal, "pthread_kill"):
        return False
    _state["raise"] = exc_type
    try:
        signal.pthread_kill(main.ident, _SIGNUM)
    except (OSError, ValueError):
        _state["raise"] = None
        return False
    return True


def signal_descendants(root, skip=(), socket_path=None):
    """Send WAKE_SIGNAL to every process of the job that catches it but those in `skip`; returns the pids signalled.
    The job's processes are those descending from `root` and, given the job's `socket_path`, those that have left
    the root's tree (their parent exited and they were reparented) but started a program of the job (strays())."""
    woken = []
    for pid in processes(root, socket_path):
        if pid in skip or not catches(pid):
            continue
        try:
            os.kill(pid, WAKE_SIGNAL)
            woken.append(pid)
        except OSError:
            pass
    return woken


def descendants(root):
    """The processes descending from `root` (children(), level by level down)."""
    found, seen, todo = [], {root}, [root]
    while todo:
        for pid in children(todo.pop()) or ():
            if pid not in seen:
                seen.add(pid)
                found.append(pid)
                todo.append(pid)
    return found


def strays(socket_path, known=(), group=None):
    """The processes, other than those in `known`, whose program started with the LONGREACH_JOB of the job whose
    gateway listens at `socket_path` (/proc/PID/environ, readable for the processes of this user only): a process
    of the job reparented away from the root's tree. Given `group` (the root's pid, where the root leads its process
    group, as a shell's job does), also the processes of that group: a child forked by the root's tree whose parent
    exited started no program with the variable, but stays in the group unless it made one of its own."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for name in names:
        if not name.isdigit() or int(name) in known:
            continue
        named = _job_named(int(name))  # (a process of the group started with another job's variable is that job's)
        if named == socket_path or (named is None and group is not None and _group(int(name)) == group):
            found.append(int(name))
    return found


def processes(root, socket_path=None):
    """Every process of the job but `root`: its descendants and, given the job's `socket_path`, the strays."""
    found = descendants(root)
    if socket_path is None:
        return found
    return found + strays(socket_path, set(found) | {root}, root if _group(root) == root else None)


def group_orphan(pid, root):
    """Whether process `pid` is one that strays() finds by the root's process group alone (no LONGREACH_JOB at all)
    and that catches the wake signal, as a child forked in the job inherits it: a process of the job whose parent
    exited. Another program of the group (a pipeline's next command) is not the job's."""
    return _group(root) == root and _group(pid) == root and _job_named(pid) is None and catches(pid)


def _group(pid):
    fields = stat_fields(pid)
    try:
        return int(fields[2])
    except (TypeError, ValueError, IndexError):
        return None


def end(pids, grace=1.0):
    """SIGTERM to each of `pids` still running, then SIGKILL to those still running after `grace` seconds; returns
    the pids signalled.
    multiprocessing's resource tracker is left alone: it ignores both, and ends by itself with the job's root (the
    leaked shared memory and semaphores it removes then)."""
    pids = [pid for pid in pids if _running(pid) and job_config.helper_kind(argv(pid)) != "tracker"]
    signalled = list(pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    for pid in wait_gone(pids, grace):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return signalled


def wait_gone(pids, seconds):
    """Waits until none of `pids` runs, `seconds` at most; returns those still running."""
    deadline = time.monotonic() + seconds
    pids = [pid for pid in pids if _running(pid)]
    while pids and time.monotonic() < deadline:
        time.sleep(0.02)
        pids = [pid for pid in pids if _running(pid)]
    return pids


def _running(pid):
    fields = stat_fields(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def stat_fields(pid):
    """The fields of /proc/PID/stat after the program's name (the state first, the parent's pid next), or None."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def uptime():
    """Seconds since the machine booted (/proc/uptime: the clock of a process's start in /proc/PID/stat), or None."""
    try:
        with open("/proc/uptime") as text:
            return float(text.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def argv(pid):
    """Process `pid`'s command line (Linux), [] when that cannot be read."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            return [a.decode("utf-8", "replace") for a in cmdline.read().split(b"\0")]
    except OSError:
        return []


def program(pid):
    """The name of the executable process `pid` runs (Linux), or "" when that cannot be read."""
    try:
        return os.path.basename(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        return ""


def names_job(pid, socket_path):
    """Whether process `pid`'s program started with this job's variable (its gateway's socket at `socket_path`)."""
    return _job_named(pid) == socket_path


def _job_named(pid):
    """The gateway socket of the job whose variable process `pid`'s program started with: None without one, "" for
    one that cannot be read or decoded, or where /proc cannot tell (another user's process, one that ended)."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as environ:
            block = b"\0" + environ.read()
    except OSError:
        return ""
    at = block.find(b"\0" + ENV_PREFIX)
    if at < 0:
        return None
    config = job_config.decode(block[at + 1 + len(ENV_PREFIX):].split(b"\0", 1)[0].decode("utf-8", "replace"))
    return config["socket"] if config is not None else ""


def descends(pid, root):
    """Whether process `pid` descends from `root` (its parents' chain)."""
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            pid = int(stat_fields(pid)[1])
        except (TypeError, ValueError, IndexError):
            return False
        if pid == root:
            return True
    return False


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


def catches(pid):
    """Whether process `pid` has a handler for WAKE_SIGNAL (/proc/PID/status SigCgt): ours, or the program's."""
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (_SIGNUM - 1) & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False
