"""What /proc says about a process we are asked to load the agent into, and the preflight: every reason the system
would refuse, found before the target is touched, each with the exact fix in its message."""

import os
import pwd
import re

from longreach.errors import LongreachError

__all__ = ["Target", "inspect", "check_permission", "check_readable_by"]

CAP_SYS_PTRACE = 19
_CPYTHON = re.compile(r"/(?:lib)?python(\d)\.(\d+)[a-z]*(?:\.so[.\d]*)?$")
_PYPY = re.compile(r"/(?:lib)?pypy[\d.]*(?:-c)?(?:\.so[.\d]*)?$")
_NODE = re.compile(r"/(?:node|nodejs|libnode\.so[.\d]*)$")


class Target(object):
    """kind: "cpython", "pypy", "node" or None; version: (major, minor) or None; uids/gids: (real, effective,
    saved, fs); paths: the files mapped into it (None when they cannot be read)."""

    def __init__(self, pid):
        self.pid = pid
        self.name = ""
        self.uids = self.gids = ()
        self.exe = None
        self.paths = None
        self.kind = None
        self.version = None
        self.python_images = []  # the interpreter's files (executable, libpython) mapped into it

    def describe(self):
        what = {"cpython": "CPython", "pypy": "PyPy", "node": "Node.js"}.get(self.kind, "")
        if self.version and self.kind == "cpython":
            what += " %d.%d" % self.version
        return "process %d (%s%s)" % (self.pid, self.name, ", " + what if what else "")


def _user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "uid %d" % uid


def inspect(pid):
    """Target for `pid`: LongreachError LR_BAD_OPTION when there is no such process (or it is this one)."""
    if pid == os.getpid():
        raise LongreachError("LR_BAD_OPTION", "--pid %d is this injector itself; give the id of the program to "
                             "debug (see `ps`)" % pid)
    target = Target(pid)
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == "Name":
                    target.name = value.strip()
                elif key == "Uid":
                    target.uids = tuple(int(x) for x in value.split())
                elif key == "Gid":
                    target.gids = tuple(int(x) for x in value.split())
    except (FileNotFoundError, ProcessLookupError):
        raise LongreachError("LR_BAD_OPTION", "--pid %d: there is no such process (see `ps` for the program's id)"
                             % pid)
    except OSError as err:
        raise LongreachError("LR_INJECT_REFUSED", "--pid %d: cannot read /proc/%d/status (%s)" % (
            pid, pid, err.strerror))
    try:
        target.exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        pass
    try:
        with open("/proc/%d/maps" % pid) as f:
            target.paths = sorted(set(line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6
                                      and line.split(None, 5)[5].startswith("/")))
    except OSError:
        pass
    _classify(target)
    return target


def _classify(target):
    paths = list(target.paths or []) + ([target.exe] if target.exe else [])
    for path in paths:
        path = path.replace(" (deleted)", "")
        m = _CPYTHON.search(path)
        if m:
            target.kind, target.version = "cpython", (int(m.group(1)), int(m.group(2)))
            target.python_images.append(path)
    if target.kind:
        return
    for path in paths:
        if _PYPY.search(path):
            target.kind = "pypy"
            return
        if _NODE.search(path):
            target.kind = "node"
            return


def _capabilities():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def yama_scope():
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _container_hint():
    return ("in a container, add the capability: `docker run --cap-add SYS_PTRACE ...`, or in Kubernetes "
            "`securityContext: {capabilities: {add: [\"SYS_PTRACE\"]}}`")


def check_permission(target, command="python3 -m longreach --pid %d ..."):
    """LR_INJECT_REFUSED, with the fix, when this process may not trace the target."""
    me = os.geteuid()
    has_cap = bool(_capabilities() & (1 << CAP_SYS_PTRACE))
    same_user = bool(target.uids) and all(u == me for u in target.uids[:3])
    command = command % target.pid
    if not same_user and not has_cap:
        owner = target.uids[1] if len(target.uids) > 1 else -1
        if me == 0:
            raise LongreachError("LR_INJECT_REFUSED", "%s runs as %s (uid %d) and this root process lacks "
                                 "CAP_SYS_PTRACE, which tracing another user's process needs; %s" % (
                                     target.describe(), _user(owner), owner, _container_hint()))
        raise LongreachError("LR_INJECT_REFUSED", "%s runs as %s (uid %d) and you are %s (uid %d); only the same "
                             "user or root may load code into it: run `sudo -u %s %s` (or the same as root)" % (
                                 target.describe(), _user(owner), owner, _user(me), me, _user(owner), command))
    scope = yama_scope()
    if scope == 3:
        raise LongreachError("LR_INJECT_REFUSED", "the kernel's Yama ptrace_scope is 3 (no process may be traced "
                             "until reboot); nothing can load code into a running process on this host: start the "
                             "program under the agent (python -m longreach --listen ... script.py)")
    if scope in (1, 2) and not has_cap:
        why = "only a parent may trace its child" if scope == 1 else "only processes with CAP_SYS_PTRACE may trace"
        raise LongreachError("LR_INJECT_REFUSED", "the kernel's Yama ptrace_scope is %d (%s): run `sudo %s`, or "
                             "allow tracing until reboot with `sudo sysctl kernel.yama.ptrace_scope=0`%s" % (
                                 scope, why, command, "" if me != 0 else "; " + _container_hint()))


def refused_by_kernel(target, err):
    """The message for ptrace failing with EPERM although the preflight saw no reason (seccomp, LSMs, a
    non-dumpable process)."""
    scope = yama_scope()
    return ("the kernel refused to let this process trace %s (%s; Yama ptrace_scope %s); run as root, and %s" % (
        target.describe(), err, "absent" if scope is None else scope, _container_hint()))


def check_readable_by(target, path):
    """LR_INJECT_REFUSED when the target's user cannot read `path` (the agent's files) — the bootstrap runs as
    that user."""
    uid = target.uids[1] if len(target.uids) > 1 else os.geteuid()
    if uid == 0 or uid == os.geteuid():
        return
    gids = set(target.gids[:2])
    current = os.path.abspath(path)
    while True:
        try:
            st = os.stat(current)
        except OSError:
            return
        need = 0o4 if current == os.path.abspath(path) else 0o1
        shift = 6 if st.st_uid == uid else 3 if st.st_gid in gids else 0
        if not (st.st_mode >> shift) & need:
            raise LongreachError("LR_INJECT_REFUSED", "%s runs as %s, who cannot read the Longreach package at %s "
                                 "(%s is not %s to that user); install longreach where that user can read it, "
                                 "e.g. `pip install` into a shared environment, and run the injector from there" % (
                                     target.describe(), _user(uid), path, current,
                                     "readable" if need == 0o4 else "searchable"))
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent
