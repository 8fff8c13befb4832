"""Call a function inside another process's thread, then put the thread back exactly as it was (Linux x86-64).

PTRACE_SEIZE + PTRACE_INTERRUPT stop only the chosen thread (no SIGSTOP is sent, other threads keep running). Its
general registers (PTRACE_GETREGS) and its whole extended state (PTRACE_GETREGSET NT_X86_XSTATE, at the size the
kernel reports — gdb 13 writes a fixed, smaller size back, which newer kernels refuse on CPUs with AMX, so gdb cannot
restore a thread there) are saved. A call sets rip to the function, the arguments in rdi/rsi/..., and a return
address of 0 on a fresh, aligned stack slot below the red zone: the return faults at address 0, the fault stops the
thread for us before any handler sees it, and we read rax. orig_rax = -1 keeps the kernel from restarting a system
call the thread was in while our function runs; restoring the saved registers (orig_rax included) lets the kernel
restart that call afterwards as if a signal had interrupted it. Every wait has a deadline.
"""

import ctypes
import errno
import os
import platform
import signal
import time

__all__ = ["PtraceError", "Thread", "supported"]

PTRACE_POKEDATA = 5
PTRACE_CONT = 7
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_DETACH = 17
PTRACE_GETREGSET = 0x4204
PTRACE_SETREGSET = 0x4205
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
NT_X86_XSTATE = 0x202
WALL = 0x40000000
PTRACE_EVENT_STOP = 128

_FIELDS = ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base "
           "gs_base ds es fs gs").split()


class Regs(ctypes.Structure):
    _fields_ = [(name, ctypes.c_ulonglong) for name in _FIELDS]


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class PtraceError(Exception):
    """A ptrace step failed. `errno` is the system's error number (EPERM: not allowed), or None."""

    def __init__(self, message, err=None):
        Exception.__init__(self, message)
        self.errno = err


def supported():
    return platform.system() == "Linux" and platform.machine().lower() in ("x86_64", "amd64")


_libc = None


def _ptrace(request, tid, addr, data):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        _libc.ptrace.restype = ctypes.c_long
    ctypes.set_errno(0)
    result = _libc.ptrace(request, tid, addr, data)
    if result == -1 and ctypes.get_errno():
        err = ctypes.get_errno()
        raise PtraceError("ptrace(%d) on thread %d: %s" % (request, tid, os.strerror(err)), err)
    return result


class Thread(object):
    """One seized thread. Use as a context manager: on exit the thread's state is restored and it is released."""

    def __init__(self, tid, deadline):
        self.tid = tid
        self.deadline = deadline
        self.saved = None
        self.xstate = None
        self.in_syscall = False
        self.pending_signals = []
        self._seized = False

    # ---- stop and release ----------------------------------------------------------------------------------
    def __enter__(self):
        _ptrace(PTRACE_SEIZE, self.tid, None, None)
        self._seized = True
        try:
            _ptrace(PTRACE_INTERRUPT, self.tid, None, None)
            self._wait_stop(lambda sig, event: event == PTRACE_EVENT_STOP)
            self.saved = self.get_regs()
            self.xstate = self._get_xstate()
            orig = ctypes.c_longlong(self.saved.orig_rax).value
            self.in_syscall = orig >= 0
        except BaseException:
            self._release(restore=False)
            raise
        return self

    def __exit__(self, *exc):
        self._release(restore=True)
        return False

    def _release(self, restore):
        if not self._seized:
            return
        try:
            if restore and self.saved is not None:
                self.set_regs(self.saved)
                if self.xstate is not None:
                    self._set_xstate(self.xstate)
        finally:
            self._seized = False
            # A signal that arrived while we held the thread is handed back to it on release.
            sig = self.pending_signals[0] if self.pending_signals else 0
            try:
                _ptrace(PTRACE_DETACH, self.tid, None, ctypes.c_void_p(sig))
            except PtraceError as err:
                if err.errno != errno.ESRCH:
                    raise

    # ---- registers and memory ------------------------------------------------------------------------------
    def get_regs(self):
        regs = Regs()
        _ptrace(PTRACE_GETREGS, self.tid, None, ctypes.byref(regs))
        return regs

    def set_regs(self, regs):
        _ptrace(PTRACE_SETREGS, self.tid, None, ctypes.byref(regs))

    def _get_xstate(self):
        buf = ctypes.create_string_buffer(64 * 1024)
        iov = _IoVec(ctypes.cast(buf, ctypes.c_void_p), len(buf))
        try:
            _ptrace(PTRACE_GETREGSET, self.tid, ctypes.c_void_p(NT_X86_XSTATE), ctypes.byref(iov))
        except PtraceError as err:
            if err.errno in (errno.EINVAL, errno.ENODEV, errno.EIO):
                return None  # no XSAVE on this CPU: the general registers are all there is to keep
            raise
        return buf.raw[:iov.len]

    def _set_xstate(self, data):
        buf = ctypes.create_string_buffer(data, len(data))
        iov = _IoVec(ctypes.cast(buf, ctypes.c_void_p), len(data))
        _ptrace(PTRACE_SETREGSET, self.tid, ctypes.c_void_p(NT_X86_XSTATE), ctypes.byref(iov))

    def write(self, address, data):
        data = bytes(data) + b"\0" * (-len(data) % 8)
        for i in range(0, len(data), 8):
            word = int.from_bytes(data[i:i + 8], "little")
            _ptrace(PTRACE_POKEDATA, self.tid, ctypes.c_void_p(address + i), ctypes.c_void_p(word))

    # ---- calls ---------------------------------------------------------------------------------------------
    def call(self, function, *args, **kw):
        """Run function(*args) (at most 6 integer/pointer arguments) in the thread; returns rax. `timeout` bounds
        it; past it the thread is stopped and put back as it was before the call, and PtraceError is raised."""
        timeout = kw.get("timeout", 2.0)
        regs = Regs.from_buffer_copy(self.saved)
        sp = ((self.saved.rsp - 4096) & ~0xF) - 8  # below the red zone; rsp % 16 == 8 at a function's entry
        self.write(sp, b"\0" * 8)  # return address 0: returning faults, and the fault stops the thread for us
        for name, value in zip(("rdi", "rsi", "rdx", "rcx", "r8", "r9"), args):
            setattr(regs, name, value & 0xFFFFFFFFFFFFFFFF)
        regs.rsp, regs.rip, regs.rax = sp, function, 0
        regs.orig_rax = 0xFFFFFFFFFFFFFFFF
        regs.eflags &= ~0x400  # direction flag clear, as the ABI requires
        self.set_regs(regs)
        deadline = min(self.deadline, time.monotonic() + timeout)
        _ptrace(PTRACE_CONT, self.tid, None, None)
        try:
            self._wait_stop(lambda sig, event: sig == signal.SIGSEGV and event == 0 and self.get_regs().rip == 0,
                            deadline=deadline, forward=True)
        except PtraceError:
            # Late: stop it wherever it is and put back the state from before the call (the caller reports it).
            try:
                _ptrace(PTRACE_INTERRUPT, self.tid, None, None)
                self._wait_stop(lambda sig, event: True, deadline=time.monotonic() + 1.0)
            except PtraceError:
                pass
            raise PtraceError("the call into the target did not return within %.1f s" % timeout)
        return self.get_regs().rax

    def _wait_stop(self, done, deadline=None, forward=False):
        """Wait until the thread stops in a way `done(sig, event)` accepts. Other stops are passed on: a signal
        meant for the program is delivered (forward=True) or kept to deliver on release."""
        deadline = self.deadline if deadline is None else deadline
        while True:
            while True:
                try:
                    pid, status = os.waitpid(self.tid, os.WNOHANG | WALL)
                except ChildProcessError:
                    raise PtraceError("thread %d vanished" % self.tid, errno.ESRCH)
                if pid:
                    break
                if time.monotonic() > deadline:
                    raise PtraceError("thread %d did not stop in time" % self.tid, errno.ETIMEDOUT)
                time.sleep(0.002)
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                self._seized = False
                raise PtraceError("the process ended", errno.ESRCH)
            sig, event = os.WSTOPSIG(status), status >> 16
            if done(sig, event):
                return
            if event == 0 and sig != signal.SIGTRAP and forward:
                _ptrace(PTRACE_CONT, self.tid, None, ctypes.c_void_p(sig))
            else:
                if event == 0 and sig != signal.SIGTRAP:
                    self.pending_signals.append(sig)
                _ptrace(PTRACE_CONT, self.tid, None, None)
