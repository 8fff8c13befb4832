"""The job's gateway, in the process the user started: the other processes of the job register here, and a client
that selected one of them (`?pid=`, docs/protocol.md 5.3) is relayed to it.

The gateway listens on a Unix socket in a private directory (mode 0700), so only the job's user
can even connect, and every connection must first present the job token (compared in constant time) within a few
seconds. Nothing of the job listens on an outside address but the root's server. Two kinds of connection come in:

- `control`, one per process for its whole life: the hello says who it is (pid, ppid, capabilities, whether it is
  a helper such as multiprocessing's fork server, which is not listed); the gateway asks it for its process info
  when listing, and to open a session when a client selects it. Its end is the process's end.
- `session`: a process opening the session the gateway asked for; the relay (relay.py) then joins it to the
  client's connection.
"""

import os
import socket
import threading
import time

from longreach import exits, log
from longreach._threads import start_agent_thread
from longreach.errors import LongreachError
from longreach.job import config as job_config
from longreach.job.link import Link
from longreach.job.relay import Relay
from longreach.wire.auth import digests_equal
from longreach.wire.connection import drop_inherited

__all__ = ["Gateway"]

_log = log.get_logger("job")

HELLO_TIMEOUT = 5.0      # a connection that does not say hello with the token in time is closed
OPEN_TIMEOUT = 5.0       # how long a selected process may take to open its session
INFO_TIMEOUT = 1.0       # how long a listing waits for the processes' answers, all together
SETTLE_MIN = 0.4         # after the job first wakes: how long a listing waits for the processes that join now
SETTLE_QUIET = 0.15      # ... and then until none has joined for this long
SETTLE_MAX = 2.0         # ... but never longer than this
MAX_LINKS = 4096


class _Process(object):
    __slots__ = ("pid", "ppid", "link", "capabilities", "helper", "label", "info", "execd")

    def __init__(self, pid, ppid, link, capabilities, helper, execd):
        self.pid, self.ppid, self.link = pid, ppid, link
        self.capabilities, self.helper, self.execd = capabilities, helper, execd
        self.label = ""  # what it said it is when it joined (its hello's info); `exec'd` when nothing said
        self.info = None


class Gateway(object):
    def __init__(self, redirect_output=True, lib=None):
        self.pid = os.getpid()
        from longreach.job import wakeup
        self.started = wakeup.uptime()  # (a process that started before this never had the job's variables)
        self.token = os.urandom(32).hex()
        self.folder = _private_folder()
        self.socket_path = os.path.join(self.folder, "gw")
        self.bootdir = job_config.write_bootdir(os.path.join(self.folder, "boot"), lib) if lib else None
        self.redirect_output = redirect_output
        self._lock = threading.Lock()
        self._processes = {}        # pid -> _Process (helpers included)
        self._seen = set()          # pids that registered before (a second hello with one is an exec)
        self._asks = {}             # id -> {"event", "answers"} for listings and session opens
        self._next_id = 0
        self._links = 0
        self._closing = False
        self._job_session = None
        self._awake_at = None       # when a client first asked for the job (wake())
        self.signals = False        # whether the job's processes wait for the wake signal (job/wakeup.py)
        self._signalled = []        # the pids that wake() sent it to
        self._ending = False        # a client killed the whole job: its other processes end with the root
        self._ended = False         # ... and they were ended
        self._last_join = 0.0
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._listener.bind(self.socket_path)
            os.chmod(self.socket_path, 0o600)
            self._listener.listen(128)
        except OSError:
            self._listener.close()
            _remove_folder(self.folder)
            raise
        self._thread = None

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def start(self):
        self._thread = start_agent_thread(self._accept_loop, "longreach-gateway")

    def environment(self):
        """The variables the job's children need: LONGREACH_JOB and, with a boot directory, PYTHONPATH."""
        env = {job_config.ENV: job_config.encode(self.socket_path, self.token, self.pid, self.redirect_output,
                                                 job_config.hold_seconds(), self.signals)}
        if self.bootdir:
            rest = os.environ.get("PYTHONPATH")
            env["PYTHONPATH"] = self.bootdir + (os.pathsep + rest if rest else "")
        return env

    def config(self):
        return job_config.decode(self.environment()[job_config.ENV])

    def end_with_root(self):
        """A client killed the whole job (terminate): each joined process was told to end as the root was; the
        processes of the job still running when the root ends (a worker the program started again meanwhile, one
        that never joined, another program) are ended then too (wakeup.end), at its exit or before the terminate's
        forced exit of a program that did not end by itself."""
        if self._ending:
            return
        self._ending = True
        exits.before_forced_exit.append(self._end_the_rest)

    def _end_the_rest(self):
        # (twice at worst: the forced exit's thread stops where it is once the interpreter's exit has begun, and
        # the exit's own call then does it all)
        if self._ending and not self._ended and os.getpid() == self.pid:
            from longreach.job import wakeup
            told = []
            if self._lock.acquire(timeout=0.5):
                try:
                    told = [process.pid for process in self._processes.values() if not process.helper]
                finally:
                    self._lock.release()
            wakeup.wait_gone(told, 1.0)  # (the joined processes end as they were told to, first)
            # again while new ones appear (a pool of the program starting workers again), for a second at most
            deadline, ended = time.monotonic() + 1.0, set()
            while True:
                found = [pid for pid in wakeup.processes(self.pid, self.socket_path) if pid not in ended]
                ended.update(wakeup.end(found))
                if time.monotonic() >= deadline or not found:
                    break
                time.sleep(0.15)
            self._ended = True

    def close(self):
        """At the root's exit: stop accepting and remove the private directory (children then find no gateway
        and stay undebugged; those registered see their control link end and drop their agent)."""
        if os.getpid() != self.pid:
            return
        self._end_the_rest()
        self._closing = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            links = [p.link for p in self._processes.values()]
        for link in links:
            link.close()
        _remove_folder(self.folder)

    def forget(self):
        """In a forked child: drop the inherited descriptors; the files belong to the root."""
        self._closing = True
        drop_inherited(self._listener)
        if self._processes:
            for process in list(self._processes.values()):
                process.link.forget()
            self._processes = {}
        self._lock = threading.Lock()

    # ---- waking the job -------------------------------------------------------------------------------------------
    def wake(self):
        """A client asks for the job (a listing, a ?pid= selection, an attach to the whole job): from now on its
        processes join (docs/protocol.md 5.3). Until then a child that has not called the agent waits without
        joining. The `awake` file says so to them, and the wake signal to those that wait for it without a thread
        of ours (job/wakeup.py)."""
        if self._awake_at is not None:
            return
        try:
            with open(os.path.join(self.folder, "awake"), "w"):
                pass
        except OSError:
            _log.warning("cannot wake the job's processes; they join when their programs call the agent")
        self._awake_at = time.monotonic()
        if self.signals:
            from longreach.job import wakeup
            if wakeup.ours():  # (a program that took the signal over since may use it in its children too)
                with self._lock:
                    joined = set(self._processes)
                self._signalled = wakeup.signal_descendants(self.pid, skip=joined, socket_path=self.socket_path)

    def _settle(self, until=None):
        """Just after the first wake: let the processes that are joining now do so (bounded by SETTLE_MAX), or
        stop early once `until()` is true."""
        start = self._awake_at
        if start is None or not (self._signalled or has_children()):
            return  # (no child process, nor a process of the job woken elsewhere: nobody to wait for)
        while True:
            now = time.monotonic()
            if now >= start + SETTLE_MAX or (until is not None and until()):
                return
            if now >= start + SETTLE_MIN and now >= self._last_join + SETTLE_QUIET:
                return
            time.sleep(0.03)

    # ---- what the server asks (server.job) ---------------------------------------------------------------------
    def pids(self):
        with self._lock:
            return [self.pid] + sorted(p.pid for p in self._processes.values() if not p.helper)

    def process_info(self, own, wake=True):
        """The root's processInfo body: its own fields, ppid, label, and, once the job has other processes,
        `processes` (itself first). `wake`: a client asks (not a hub registering the root)."""
        me = dict(own)
        me.setdefault("ppid", os.getppid())
        me.setdefault("label", job_config.label())
        me.setdefault("waiting", None)
        if wake:
            self.wake()
            self._settle()
        answers = self._ask_all()
        with self._lock:
            processes = dict(self._processes)
        rows = [me]
        if wake:  # (the processes that have not joined: only once the job was asked for, when they would have)
            from longreach.job import notjoined
            for row in notjoined.rows(self.pid, self.socket_path, self.bootdir, self.started, processes, me):
                row["ppid"] = self._visible_parent(row["ppid"], processes)
                rows.append(row)
        for pid in sorted(processes):
            process = processes[pid]
            if process.helper:
                continue
            info = answers.get(pid) or process.info
            if not isinstance(info, dict):
                continue
            info = dict(info)
            info["pid"] = pid
            info["ppid"] = self._visible_parent(process.ppid, processes)
            if not info.get("label") and process.execd:
                info["label"] = "exec'd"
            rows.append(info)
        rows[1:] = sorted(rows[1:], key=lambda row: row["pid"])
        if len(rows) == 1:  # alone, the root lists as any single process does (docs/protocol.md 5.3)
            return own
        me = dict(me)
        me["processes"] = rows
        return me

    def select(self, conn, pid):
        """longreach/selectProcess for a process other than the root: open a session there and relay to it."""
        self.wake()
        self._settle(until=lambda: pid in self._processes)
        with self._lock:
            process = self._processes.get(pid)
        if process is None:
            from longreach.job import notjoined
            why = notjoined.error(pid, self.pid, self.socket_path, self.bootdir, self.pids(), self.started)
            if why is not None:
                raise why
        if process is None or process.helper:
            raise LongreachError("LR_NO_SUCH_PROCESS", "no process %d is reachable through this address; its "
                                 "processes: %s (see longreach list)" % (pid, ", ".join(map(str, self.pids()))))
        ask = self.open_session(process, conn)
        if ask is None:
            raise LongreachError("LR_TIMEOUT", "process %d did not open a debugging session within %g s (it may "
                                 "be ending or stuck outside Python); try again or attach to another process"
                                 % (pid, OPEN_TIMEOUT))
        relay = Relay(conn, ask["link"], pid)
        conn.state["relay"] = relay
        self.run_port(ask, relay)
        return {"capabilities": dict(process.capabilities or {})}

    def open_session(self, process, conn):
        """Ask `process` to open a session for the client on `conn`: the ask (its "link" set), or None when the
        process has ended or did not answer in time. run_port() then gives the link its reader."""
        ask = self._new_ask()
        ask["pid"] = process.pid
        peer = conn.peer.rpartition(":")
        sent = process.link.send({"type": "open", "id": ask["id"], "peer": [peer[0].strip("[]"),
                                                                            int(peer[2] or 0)]})
        ok = sent and ask["event"].wait(OPEN_TIMEOUT)
        self._drop_ask(ask)
        if not ok or ask.get("link") is None:
            return None
        return ask

    def run_port(self, ask, reader):
        """The opened session's link is read by `reader.run()` (on the thread that accepted it)."""
        ask["relay"] = reader
        ask["started"].set()

    def is_member(self, process):
        with self._lock:
            return self._processes.get(process.pid) is process

    def members(self):
        with self._lock:
            return [p for p in self._processes.values() if not p.helper]

    def root_name(self):
        label = job_config.label()
        return "pid %d%s" % (self.pid, " " + label if label else "")

    def label_of(self, pid):
        """A process's current label (asked now, briefly), '' when it does not say."""
        return self.labels_of([pid]).get(pid, "")

    def labels_of(self, pids):
        """{pid: current label} of these processes, asked all at once (within INFO_TIMEOUT together)."""
        with self._lock:
            targets = [self._processes[pid] for pid in pids if pid in self._processes]
        if not targets:
            return {}
        ask = self._new_ask()
        ask["expect"] = len(targets)
        for process in targets:
            process.link.send({"type": "info", "id": ask["id"]})
        ask["event"].wait(INFO_TIMEOUT)
        self._drop_ask(ask)
        with self._lock:
            answers = dict(ask["answers"])
        return dict((pid, (info or {}).get("label") or "") for pid, info in answers.items())

    # ---- a session over the whole job (jobsession.py) -------------------------------------------------------------
    def job_session(self, server, conn):
        from longreach.job.jobsession import JobSession
        session = JobSession(self, server, conn)
        self._job_session = session
        self.wake()  # processes joining from now on are brought into the session as they come
        try:
            with open(os.path.join(self.folder, "attached"), "w"):
                pass
        except OSError:
            pass
        return session

    def job_session_ended(self, session):
        if self._job_session is session:
            self._job_session = None
            try:
                os.unlink(os.path.join(self.folder, "attached"))
            except OSError:
                pass

    def _joined(self, process):
        session = self._job_session
        if session is not None and not process.helper:
            try:
                start_agent_thread(session.join, "longreach-job-join", (process,))
            except Exception:
                _log.exception("cannot bring process %d into the job session", process.pid)

    # ---- connections from the job's processes ------------------------------------------------------------------
    def _accept_loop(self):
        while not self._closing:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                if self._closing:
                    return
                time.sleep(0.05)
                continue
            with self._lock:
                full = self._links >= MAX_LINKS
                if not full:
                    self._links += 1
            if full:
                sock.close()
                continue
            try:
                start_agent_thread(self._serve, "longreach-gateway-link", (sock,))
            except Exception:
                with self._lock:
                    self._links -= 1
                sock.close()

    def _serve(self, sock):
        link = Link(sock)
        try:
            hello = link.recv(HELLO_TIMEOUT)
            if not isinstance(hello, dict) or hello.get("type") != "hello" or not _token_ok(
                    hello.get("token"), self.token) or not isinstance(hello.get("pid"), int):
                _log.warning("refused a local connection without the job token")
                return
            link.trust()
            if hello.get("kind") == "control":
                self._control(link, hello)
            elif hello.get("kind") == "session":
                self._session(link, hello)
        except Exception:
            _log.exception("a job link failed")
        finally:
            with self._lock:
                self._links -= 1
            link.close()

    def _control(self, link, hello):
        pid = hello["pid"]
        ppid = hello.get("ppid") if isinstance(hello.get("ppid"), int) else None
        caps = hello.get("capabilities") if isinstance(hello.get("capabilities"), dict) else {}
        with self._lock:
            process = _Process(pid, ppid, link, caps, bool(hello.get("helper")), pid in self._seen)
            process.info = hello.get("info") if isinstance(hello.get("info"), dict) else None
            process.label = (process.info or {}).get("label") or ("exec'd" if process.execd else "")
            old = self._processes.get(pid)
            self._processes[pid] = process
            self._seen.add(pid)
            self._last_join = time.monotonic()
        if old is not None:
            old.link.close()  # the same pid again: an exec; the old image's link is stale
        self._joined(process)
        _log.info("process %d (parent %s) joined the job%s", pid, ppid, " as a helper" if process.helper else "")
        try:
            while True:
                message = link.recv()
                if message is None:
                    break
                if message.get("type") == "info":
                    self._answer(message.get("id"), pid, message.get("info"))
        finally:
            with self._lock:
                left = self._processes.get(pid) is process
                if left:
                    del self._processes[pid]
            session = self._job_session
            if left and session is not None and not process.helper:
                session.left(process)
            _log.info("process %d left the job", pid)

    def _session(self, link, hello):
        with self._lock:
            ask = self._asks.get(hello.get("id"))
        if ask is None or ask.get("pid", hello["pid"]) != hello["pid"]:
            return
        ask["link"] = link
        ask["event"].set()
        # this thread becomes the relay's reader once the client's side is set up
        if ask["started"].wait(OPEN_TIMEOUT + 1.0) and ask.get("relay") is not None:
            ask["relay"].run()
        else:
            link.close()

    # ---- questions to the processes -----------------------------------------------------------------------------
    def _new_ask(self):
        with self._lock:
            self._next_id += 1
            ask = {"id": self._next_id, "event": threading.Event(), "started": threading.Event(), "answers": {}}
            self._asks[ask["id"]] = ask
        return ask

    def _drop_ask(self, ask):
        with self._lock:
            self._asks.pop(ask["id"], None)

    def _answer(self, ask_id, pid, info):
        with self._lock:
            ask = self._asks.get(ask_id)
            if ask is None or not isinstance(info, dict):
                return
            ask["answers"][pid] = info
            done = len(ask["answers"]) >= ask.get("expect", 0)
        if done:
            ask["event"].set()

    def _ask_all(self):
        ask = self._new_ask()
        with self._lock:
            targets = [p for p in self._processes.values() if not p.helper]
            ask["expect"] = len(targets)
        if not targets:
            self._drop_ask(ask)
            return {}
        for process in targets:
            process.link.send({"type": "info", "id": ask["id"]})
        ask["event"].wait(INFO_TIMEOUT)
        self._drop_ask(ask)
        with self._lock:
            return dict(ask["answers"])

    def _visible_parent(self, ppid, processes):
        """A process forked by a helper (multiprocessing's fork server) is shown under the helper's parent."""
        seen = set()
        while ppid in processes and processes[ppid].helper and ppid not in seen:
            seen.add(ppid)
            ppid = processes[ppid].ppid
        return ppid


def _private_folder():
    """A new folder only this user can enter, in the temporary directory: tempfile.mkdtemp() without importing
    tempfile, which brings shutil, bz2 and lzma into the root and so into every process it forks."""
    for base in (os.environ.get("TMPDIR"), os.environ.get("TEMP"), os.environ.get("TMP"), "/tmp", "/var/tmp"):
        if not base:
            continue
        for _ in range(16):
            path = os.path.join(base, "longreach-job-" + os.urandom(6).hex())
            try:
                os.mkdir(path, 0o700)
                return path
            except FileExistsError:
                continue
            except OSError:
                break
    raise OSError("no temporary directory where a private folder can be made (set TMPDIR)")


def _remove_folder(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def has_children():
    """Whether this process has a child process now; True when it cannot tell."""
    from longreach.job.wakeup import children
    found = children(os.getpid())
    return found is None or bool(found)


def _token_ok(offered, token):
    if not isinstance(offered, str):
        return False
    return digests_equal(offered.encode("utf-8", "replace"), token.encode("ascii"))
