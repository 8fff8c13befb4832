"""Why a process of the job has not joined it, for `?pid=` of one that has not and for listings (docs/protocol.md 5.3).

A process that will never join is told apart from one that has not joined *yet* (busy in one long call since the
wake): it runs another program; it is Node.js, to which a Python root gives no hook; it is a Python interpreter that
started before the root's agent did (enable_attach() called late, longreach inject), or without the job's
environment (its parent passed an environment of its own), with a PYTHONPATH of its own, or with -I, -E or -S, each
of which skips the job's bootstrap. What /proc shows (Linux); where it cannot tell, the process is taken to be on
its way.
"""

import os

from longreach.errors import LongreachError
from longreach.job import config as job_config
from longreach.job import wakeup

__all__ = ["error", "rows"]

_SKIPS = {
    "I": "-I (isolated mode), which ignores PYTHONPATH, where the job's bootstrap is",
    "E": "-E, which ignores PYTHONPATH, where the job's bootstrap is",
    "S": "-S, which skips the site module, which loads the job's bootstrap",
}


def error(pid, root, socket_path, bootdir, pids, since=None):
    """The LongreachError to answer `?pid=` of process `pid` with, which has not joined; None when it is not one of
    the job's. LR_NO_SUCH_PROCESS when it never will, LR_TIMEOUT when it may still. `since`: when the gateway
    started (uptime())."""
    found = reason(pid, root, socket_path, bootdir, since)
    if found is None:
        return None
    never, why = found
    if never:
        return LongreachError("LR_NO_SUCH_PROCESS", "process %d belongs to this job but %s; its processes: %s (see "
                              "longreach list)" % (pid, why, ", ".join(map(str, pids))))
    return LongreachError("LR_TIMEOUT", "process %d belongs to this job but %s; try again once it returns "
                          "(longreach list shows when it has joined)" % (pid, why))


_NOT_YET = ("has not joined it: a process joins once the job is asked for, between two lines of Python or two "
            "turns of a Node.js event loop, so it has been in one long call since (into C code, or blocked), or is "
            "stuck")


def reason(pid, root, socket_path, bootdir, since=None, env=None):
    """(never, why) for process `pid` of the job, which has not joined it: `never` when it never will by itself;
    None when it is not one of the job's (or has gone). `env`: its /proc/PID/environ, when already read."""
    env = _environ(pid) if env is None else env
    named = wakeup.names_job(pid, socket_path)
    if not named and not wakeup.descends(pid, root):
        if wakeup.group_orphan(pid, root) and wakeup.program(pid):
            return False, _NOT_YET  # (forked in the job, no exec, its parent gone: it has the wake's handler)
        return None
    program = wakeup.program(pid)
    if not program:
        return None
    why = _never(pid, program, named, env, bootdir, since)
    return (True, why) if why else (False, _NOT_YET)


def rows(root, socket_path, bootdir, since, joined, own):
    """A listing's rows for the processes of the job that have not joined it (`joined`: the pids that have), each
    saying why in `notJoined` (docs/protocol.md 5.3), labelled by the rank its environment gives it, if any; `own`:
    the root's process info, for the machine's fields. multiprocessing's resource tracker and fork server (never
    user code) are left out."""
    found = []
    for pid in wakeup.processes(root, socket_path):
        if pid in joined or pid == root:
            continue
        env = _environ(pid)
        found_reason = reason(pid, root, socket_path, bootdir, since, env)
        if found_reason is None:
            continue
        argv = wakeup.argv(pid)
        if argv and argv[-1] == "":
            argv = argv[:-1]
        if job_config.helper_kind(argv) is not None:
            continue
        fields = wakeup.stat_fields(pid) or []
        found.append({
            "pid": pid, "ppid": int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None,
            "label": job_config.rank_label(env or {}),  # (a rank started before an injected agent)
            "executable": _link(pid, "exe"), "argv": argv, "cwd": _link(pid, "cwd"), "runtime": "",
            "runtimeVersion": "", "runtimeDisplay": "", "os": own.get("os"), "arch": own.get("arch"),
            "hostname": own.get("hostname"), "user": own.get("user"), "agent": "", "agentVersion": "",
            "protocol": own.get("protocol"), "attached": None, "waiting": None, "notJoined": found_reason[1],
        })
    return found


def _link(pid, name):
    try:
        return os.readlink("/proc/%d/%s" % (pid, name))
    except OSError:
        return ""


def _never(pid, program, named, env, bootdir, since):
    """Why process `pid` will never join by itself, or ''."""
    if not program.startswith(("python", "pypy", "node")):
        return "runs %s, which does not join it (only Python and Node.js processes do)" % program
    if program.startswith("node"):
        return ("runs %s: a Python root puts no hook in NODE_OPTIONS, so a Node.js child joins only when it is "
                "started with --import longreach/register" % program)
    if not named and since is not None and _started_before(pid, since):
        return ("started before the agent did in the job's root (enable_attach() called late, or longreach inject), "
                "so it is not in the job: load the agent into it as well (longreach inject %d)" % pid)
    if not named:
        # no variable: a new program started with an environment of its own, or a child forked by the root, which
        # shows the root's own first environment; a forked one has the root's handler of the wake signal
        if wakeup.catches(os.getpid()) and not wakeup.catches(pid):
            return ("was started without the job's environment (LONGREACH_JOB and PYTHONPATH: the program that "
                    "started it passed an environment of its own), so no agent runs in it")
        return ""
    flags = [flag for flag in _python_flags(wakeup.argv(pid)) if flag in _SKIPS]
    if flags:
        return "runs %s with %s, so no agent runs in it" % (program, _SKIPS[flags[0]])
    if bootdir and env is not None and bootdir not in env.get("PYTHONPATH", "").split(os.pathsep):
        return ("was started with a PYTHONPATH of its own, without the job's bootstrap directory, so no agent runs in "
                "it (add to the inherited PYTHONPATH instead)")
    return ""


def _python_flags(argv):
    """The one-letter options of a Python command line before its program (-c, -m, a script or -)."""
    flags = []
    i = 1
    while i < len(argv):
        word = argv[i]
        if not word.startswith("-") or word == "-" or word == "--":
            break
        if word.startswith("--"):
            i += 2 if word == "--check-hash-based-pycs" else 1
            continue
        letters = word[1:]
        for at, letter in enumerate(letters):
            if letter in "cm":
                return flags
            if letter in "WX":  # their argument: the rest of this word, or the next one
                i += 1 if at == len(letters) - 1 else 0
                break
            flags.append(letter)
        i += 1
    return flags


def _started_before(pid, since):
    try:
        return int(wakeup.stat_fields(pid)[19]) / float(os.sysconf("SC_CLK_TCK")) + 0.02 < since
    except (TypeError, ValueError, IndexError, OSError):
        return False


def _environ(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as environ:
            block = environ.read()
    except OSError:
        return None
    env = {}
    for entry in block.split(b"\0"):
        name, eq, value = entry.partition(b"=")
        if eq and name:
            env.setdefault(name.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
    return env
