"""What a listing shows about this process (docs/protocol.md section 5.1)."""

import itertools
import os
import socket
import struct
import sys
import time

__all__ = ["AGENT_NAME", "AGENT_VERSION", "PROTOCOL", "process_info", "runtime", "node_os", "node_arch",
           "mark_waiting", "clear_waiting", "waiting"]

AGENT_NAME = "longreach-python"
AGENT_VERSION = "0.1.0"
PROTOCOL = 1

_ARCH = {
    "x86_64": "x64", "amd64": "x64", "x64": "x64",
    "i386": "ia32", "i486": "ia32", "i586": "ia32", "i686": "ia32", "x86": "ia32",
    "aarch64": "arm64", "arm64": "arm64", "aarch64_be": "arm64",
    "ppc64le": "ppc64", "ppc64": "ppc64", "ppc": "ppc", "powerpc": "ppc",
    "s390x": "s390x", "s390": "s390", "riscv64": "riscv64", "loongarch64": "loong64",
    "mips": "mips", "mipsel": "mipsel", "mips64": "mips64el", "mips64el": "mips64el",
}


def _version(info):
    text = "%d.%d.%d" % (info[0], info[1], info[2])
    if info[3] != "final":
        text += {"alpha": "a", "beta": "b", "candidate": "rc"}.get(info[3], info[3]) + str(info[4])
    return text


_runtime = []


def runtime():
    """(runtime, runtimeVersion, runtimeDisplay), e.g. ("PyPy", "7.3.11", "PyPy 7.3.11 (Python 3.9.16)")."""
    if not _runtime:
        _runtime.append(_describe_runtime())
    return _runtime[0]


def _describe_runtime():
    name = {"cpython": "CPython", "pypy": "PyPy"}.get(sys.implementation.name, sys.implementation.name)
    python = _version(sys.version_info)
    pypy = getattr(sys, "pypy_version_info", None)
    if pypy is not None:
        version = _version(pypy)
        return name, version, "%s %s (Python %s)" % (name, version, python)
    if name == "CPython":
        return name, python, "%s %s" % (name, python)
    return name, python, "%s (Python %s)" % (name, python)


def node_os(platform_name=None):
    """sys.platform in Node's process.platform vocabulary (linux, darwin, win32, ...)."""
    name = sys.platform if platform_name is None else platform_name
    for prefix, node in (("linux", "linux"), ("darwin", "darwin"), ("win32", "win32"), ("cygwin", "cygwin"),
                         ("freebsd", "freebsd"), ("openbsd", "openbsd"), ("netbsd", "netbsd"),
                         ("sunos", "sunos"), ("aix", "aix"), ("android", "android")):
        if name.startswith(prefix):
            return node
    return name


def node_arch(machine=None, pointer_bits=None):
    """The interpreter's architecture in Node's process.arch vocabulary (x64, arm64, ia32, ...)."""
    machine = (os.uname().machine if machine is None else machine).lower()
    bits = struct.calcsize("P") * 8 if pointer_bits is None else pointer_bits
    if machine.startswith("armv8") or machine.startswith("armv9"):
        arch = "arm64" if bits == 64 else "arm"
    elif machine.startswith("arm"):
        arch = "arm64" if machine == "arm64" else "arm"
    else:
        arch = _ARCH.get(machine, machine or "unknown")
    if bits == 32 and arch == "x64":
        arch = "ia32"  # a 32-bit interpreter on a 64-bit machine
    return arch


_user_cache = {}


def _user():
    """The user's name, looked up once per effective uid (a forked child inherits the answer for free)."""
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    if uid not in _user_cache:
        try:
            import getpass
            _user_cache[uid] = getpass.getuser()
        except Exception:
            _user_cache[uid] = None
    return _user_cache[uid]


def _cwd():
    try:
        return os.getcwd()
    except OSError:
        return None


def process_info(attached=None):
    """The longreach/processInfo response body. `attached` is {"address", "since"} or None."""
    name, version, display = runtime()
    return {
        "pid": os.getpid(),
        "executable": sys.executable or None,
        "argv": list(getattr(sys, "argv", [])),
        "cwd": _cwd(),
        "runtime": name,
        "runtimeVersion": version,
        "runtimeDisplay": display,
        "os": node_os(),
        "arch": node_arch(),
        "hostname": socket.gethostname(),
        "user": _user(),
        "agent": AGENT_NAME,
        "agentVersion": AGENT_VERSION,
        "protocol": PROTOCOL,
        "attached": attached,
        "waiting": waiting(),
    }


# ---- waiting at breakpoint() (docs/protocol.md 5.3) ----------------------------------------------------------
# Process-wide: a process waits, whichever server or hub lists it. No lock (dict operations are atomic), so a fork
# can never leave one held; entries carry the pid, so a forked child never reports its parent's waiting threads.
_waiting = {}
_counter = itertools.count(1)


def mark_waiting(file, line):
    """Note that a thread waits for a debugger at file:line; returns a token for clear_waiting()."""
    token = next(_counter)
    _waiting[token] = (os.getpid(), {"file": file, "line": line,
                                     "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return token


def clear_waiting(token):
    _waiting.pop(token, None)


def waiting():
    """{"file", "line", "since"} of the longest-waiting thread of this process, or None."""
    pid = os.getpid()
    for owner, info in list(_waiting.values()):
        if owner == pid:
            return dict(info)
    return None
