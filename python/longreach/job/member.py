"""A process of a job other than its root: registers with the gateway and serves the sessions it asks for.

The member dials the gateway's Unix socket (never listening itself), says hello with the job token, and keeps that
control link for its whole life on one agent thread that only waits for the gateway's questions: its process info
(for listings) and `open` (a client selected this process: dial a session socket and hand it to this process's
debug server, which treats it as an authenticated connection). If the gateway goes away the link ends and the
member simply stops: the process runs on, undebugged, with nothing left listening.
"""

import os
import socket
import sys

from longreach import log, processinfo
from longreach._threads import start_agent_thread
from longreach.errors import LongreachError
from longreach.job import config as job_config
from longreach.job.link import Link

__all__ = ["Member"]

_log = log.get_logger("job")


class Member(object):
    def __init__(self, config, server, helper=False):
        self.config = config
        self.server = server
        self.helper = helper
        self.pid = os.getpid()
        self.link = None
        self.thread = None

    def start(self, deferred=None, then=None):
        """Register with the gateway; False (and nothing left behind) when it cannot be reached. `deferred` (the
        frame of an at-fork hook): start the member's thread only once os.fork() has returned (_after_hook), then
        call then(frame) there, with the frame of the child's first call (where a PyPy child is held)."""
        try:
            sock = self._dial()
        except OSError as err:
            _log.info("no gateway for this job (%s); this process is not followed", err)
            return False
        self.link = Link(sock)
        self.link.trust()
        hello = {"type": "hello", "kind": "control", "token": self.config["token"], "pid": self.pid,
                 "ppid": os.getppid(), "helper": self.helper, "capabilities": self.server.capabilities}
        if not self.helper:
            hello["info"] = self.process_info(processinfo.process_info(None))
        if not self.link.send(hello):
            self.link.close()
            return False
        if deferred:
            def started(frame):
                self._start_thread()
                if then is not None:
                    then(frame)
            _after_hook(deferred, started)
        else:
            self._start_thread()
        return True

    def _start_thread(self):
        self.thread = start_agent_thread(self._loop, "longreach-job-member")

    def forget(self):
        """In a forked child: drop the parent's link without disturbing it."""
        if self.link is not None:
            self.link.forget()

    def _dial(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.config["socket"])
        except OSError:
            sock.close()
            raise
        return sock

    # ---- what the server asks (server.job) ---------------------------------------------------------------------
    def pids(self):
        return [self.pid]

    def process_info(self, own, wake=True):
        own = dict(own)
        own["ppid"] = os.getppid()
        own["label"] = job_config.label()
        own.setdefault("waiting", None)
        return own

    def select(self, conn, pid):
        raise LongreachError("LR_NO_SUCH_PROCESS", "no process %d is reachable through this address; its "
                             "processes: %d (see longreach list)" % (pid, self.pid))

    # ---- the control link ----------------------------------------------------------------------------------------
    def _loop(self):
        link = self.link
        while True:
            message = link.recv()
            if message is None:
                break
            kind = message.get("type")
            if kind == "info":
                info = self.process_info(processinfo.process_info(self.server.attached_info()))
                link.send({"type": "info", "id": message.get("id"), "info": info})
            elif kind == "open":
                self._open(message)
        _log.info("the job's gateway went away; this process is no longer reachable")
        link.close()

    def _open(self, message):
        peer = message.get("peer")
        if not (isinstance(peer, list) and len(peer) == 2 and isinstance(peer[0], str)
                and isinstance(peer[1], int)):
            peer = ["gateway", 0]
        try:
            sock = self._dial()
        except OSError as err:
            _log.warning("cannot open a session with the gateway: %s", err)
            return
        if not Link(sock).send({"type": "hello", "kind": "session", "token": self.config["token"],
                                "pid": self.pid, "id": message.get("id")}):
            sock.close()
            return
        self.server.admit(sock, (peer[0], peer[1]))


def _after_hook(hook, fn):
    """Run fn(frame) at the first profiler event once os.fork() has returned in the child (`frame`: the event's
    frame, the child's own code), having put back the profiler
    that was there. `hook` is the frame of our at-fork hook. PyPy crashes a forked child that starts a thread inside
    an at-fork hook (reproduced without Longreach), but not one that starts it once os.fork() has returned. Leaving
    our hook is not enough: hooks registered after ours (breakhook's, or the program's own) run next, called from
    the same frame as ours while that frame still stands on the os.fork() call (same f_lasti). A child that never
    calls anything again stays listed, but cannot be selected."""
    old = sys.getprofile()
    forker = hook.f_back  # the frame that called os.fork()
    at = forker.f_lasti if forker is not None else None

    def once(frame, event, arg):
        if event == "c_return":
            return
        outer = frame
        while outer is not None:
            if outer is hook or (outer is forker and outer.f_lasti == at):
                return  # in our hook, or in another at-fork hook: os.fork() has not returned yet
            outer = outer.f_back
        sys.setprofile(old)
        try:
            fn(frame)
        except Exception:
            _log.exception("starting the member's thread failed")

    sys.setprofile(once)
