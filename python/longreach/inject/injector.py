"""The steps of loading the agent into a running CPython, each with a deadline. A failure at any step leaves the
target as it was: nothing is queued until every check passed, and a queued bootstrap that has not run by the
deadline is withdrawn (its parameter file is deleted, so when it runs later it finds nothing and does nothing)."""

import errno
import json
import os
import shutil
import tempfile
import time

from longreach import log
from longreach.errors import LongreachError
from longreach.inject import elf, ptrace, target as targets

__all__ = ["inject"]

_log = log.get_logger("inject")
MAP_FAILED_MIN = (1 << 64) - 4095
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOT_FILE = os.path.join(PACKAGE_DIR, "inject", "boot.py")


def preflight(pid, command):
    """The Target, or LongreachError saying exactly what to fix."""
    target = targets.inspect(pid)
    targets.check_permission(target, command)
    if target.kind == "node":
        raise LongreachError("LR_INJECT_UNSUPPORTED", "%s is a Node.js process: use `longreach inject %d --listen "
                             "...` for it" % (target.describe(), pid))
    if target.kind == "pypy":
        raise LongreachError("LR_INJECT_UNSUPPORTED", "%s: PyPy has no way to load code into a running process "
                             "(no sys.remote_exec, and calling its C API from outside is not safe); start the "
                             "program under the agent: `pypy3 -m longreach --listen [HOST:]PORT --secret-env VAR "
                             "script.py`, or call longreach.enable_attach() in it" % target.describe())
    if target.kind != "cpython":
        raise LongreachError("LR_INJECT_UNSUPPORTED", "%s is not a Python interpreter (its program is %s); give the "
                             "id of a python process (`pgrep -a python`)" % (target.describe(),
                                                                               target.exe or "unknown"))
    if target.version < (3, 8):
        raise LongreachError("LR_INJECT_UNSUPPORTED", "%s: the agent needs CPython 3.8 or newer" %
                             target.describe())
    if not ptrace.supported():
        raise LongreachError("LR_INJECT_UNSUPPORTED", "loading into a running process is implemented for Linux "
                             "x86-64 only; start the program under the agent (python -m longreach --listen ...)")
    targets.check_readable_by(target, BOOT_FILE)
    return target


def _symbols(target):
    images = set(target.python_images)
    found = elf.find_symbols(target.pid, ("Py_AddPendingCall", "PyRun_SimpleString"),
                             lambda path: path.replace(" (deleted)", "") in images)
    libc = elf.find_symbols(target.pid, ("mmap",), lambda path: "/libc.so" in path or "/libc-" in path)
    found.update(libc)
    missing = [n for n in ("Py_AddPendingCall", "PyRun_SimpleString", "mmap") if n not in found]
    if missing:
        raise LongreachError("LR_INJECT_UNSUPPORTED", "%s: %s does not export %s, which loading needs (an "
                             "interpreter linked without exported symbols, or a libc other than glibc); start the "
                             "program under the agent instead" % (target.describe(), " and ".join(sorted(images))
                                                                  if "mmap" not in missing else "its C library", ", ".join(missing)))
    return found


def bootstrap_source(params_path):
    """The code the target runs at its next safe point: short, no names left in __main__, never raises."""
    return ("try:exec(compile(open(%r,'rb').read(),%r,'exec'),{'__name__':'__longreach_boot__','PARAMS':%r})\n"
            "except BaseException:pass\n" % (BOOT_FILE, BOOT_FILE, params_path))


def inject(pid, options, timeout=10.0, command="python3 -m longreach --pid %d ..."):
    """Start the agent in process `pid` with options {secret, host, port, certfile, keyfile, allow_plain_secret}.
    Returns (target, {"address": [host, port], "runtime": ...}); LongreachError otherwise. `timeout` counts from
    when the target is first touched: reading its interpreter's symbols beforehand is our own work, bounded by the
    file (about 35 ms here, several times that on a loaded machine)."""
    target = preflight(pid, command)
    symbols = _symbols(target)
    deadline = time.monotonic() + timeout
    workdir = tempfile.mkdtemp(prefix="longreach-inject-")
    try:
        uid, gid = target.uids[1], target.gids[1]
        if uid != os.geteuid():
            os.chown(workdir, uid, gid)
        params_path = os.path.join(workdir, "params.json")
        fd = os.open(params_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if uid != os.geteuid():
                os.fchown(f.fileno(), uid, gid)
            json.dump(dict(options, package=PACKAGE_DIR), f)
        _queue(target, symbols, bootstrap_source(params_path).encode("utf-8") + b"\0", deadline)
        return target, _await(target, workdir, params_path, deadline, timeout)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _queue(target, symbols, code, deadline):
    """Stop the main thread, map a page, copy the bootstrap there, queue PyRun_SimpleString(page) as a pending
    call, and put the thread back."""
    try:
        with ptrace.Thread(target.pid, deadline) as thread:
            page = thread.call(symbols["mmap"], 0, 4096, 3, 0x22, (1 << 64) - 1, 0)  # PROT_RW, PRIVATE|ANONYMOUS
            if page >= MAP_FAILED_MIN or page == 0:
                raise LongreachError("LR_INJECT_FAILED", "%s: mmap in the target failed (%s); nothing was changed" % (
                    target.describe(), os.strerror((1 << 64) - page) if page else "null"))
            thread.write(page, code)
            queued = thread.call(symbols["Py_AddPendingCall"], symbols["PyRun_SimpleString"], page)
            if queued & 0xFFFFFFFF:
                raise LongreachError("LR_INJECT_FAILED", "%s: the interpreter's queue of pending calls is full or "
                                     "it is shutting down; nothing was changed, try again" % target.describe())
    except ptrace.PtraceError as err:
        if err.errno == 1:  # EPERM
            raise LongreachError("LR_INJECT_REFUSED", targets.refused_by_kernel(target, err))
        if err.errno == 3:  # ESRCH
            raise LongreachError("LR_INJECT_FAILED", "%s ended while loading" % target.describe())
        if err.errno == errno.ETIMEDOUT:
            raise LongreachError("LR_TIMEOUT", "%s: %s (a busy machine?); the thread was put back as it was, nothing "
                                 "was changed. Try again, or with a longer --timeout" % (target.describe(), err))
        raise LongreachError("LR_INJECT_FAILED", "%s: %s; the thread was put back as it was, nothing was changed"
                             % (target.describe(), err))


def _await(target, workdir, params_path, deadline, timeout):
    result_path = os.path.join(workdir, "result.json")
    grace = None
    while True:
        if os.path.exists(result_path):
            with open(result_path, encoding="utf-8") as f:
                result = json.load(f)
            if result.get("ok"):
                return result
            if result.get("code") == "LR_ALREADY_ENABLED":
                host, port = result["address"]
                raise LongreachError("LR_ALREADY_ENABLED", "%s already has a Longreach agent listening on %s:%d; "
                                     "attach to it (tcp://%s:%d), nothing was changed" % (
                                         target.describe(), host, port, host, port))
            code = result.get("code")
            raise LongreachError(code if code in _codes() else "LR_INJECT_FAILED", "%s: the agent did not start: "
                                 "%s" % (target.describe(), result.get("message")))
        now = time.monotonic()
        if grace is not None and now > grace:
            raise LongreachError("LR_INJECT_FAILED", "%s took the parameters but reported nothing within 5 s"
                                 % target.describe())
        if grace is None and now > deadline:
            try:
                os.unlink(params_path)
            except FileNotFoundError:
                grace = now + 5.0  # the bootstrap took them just now: give it a moment to answer
                continue
            raise LongreachError("LR_TIMEOUT", "%s did not run Python code in its main thread within %g s (it is "
                                 "blocked in a system call such as time.sleep() or input(), waiting on a lock, or "
                                 "in a long C call); the loader runs only when the main thread next runs Python "
                                 "code. Nothing was changed: the queued loader was withdrawn and will do nothing. "
                                 "Try again later or with a longer --timeout" % (target.describe(), timeout))
        if not os.path.exists("/proc/%d" % target.pid):
            raise LongreachError("LR_INJECT_FAILED", "%s ended before the agent started" % target.describe())
        time.sleep(0.02)


def _codes():
    from longreach.errors import ERRORS
    return ERRORS
