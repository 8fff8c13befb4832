"""The job's wiring into the public API (docs/protocol.md 5.3): the root's gateway, a child's membership, and what
a fork does to both. longreach.job holds the machinery; this module decides when it runs.

- `start_gateway(server)` (enable_attach with subprocess=True): the root listens for its children on a private Unix
  socket and puts LONGREACH_JOB and a PYTHONPATH entry into os.environ, so children inherit them.
- `boot()` (the bootstrap sitecustomize.py, before a child's own code): join the job as a member, with a debug
  server that has no listener of its own; the API (breakpoint(), is_attached()) then works in the child too.
- After a fork the child drops what it inherited (the gateway's listener, the parent's member link) and joins the
  job as a member of its own.
- While a client debugs the whole job (its attached flag exists) a child joins at once and is held for its
  breakpoints. Otherwise it joins once the job is awake (a client has asked for it: its awake flag exists), or at
  once when its program calls the agent (breakpoint(), wait_for_attach(), ...: join_now()). A process learns of
  the wake from the gateway's signal (job/wakeup.py), so until then no thread of ours runs there; a process where the
  signal is not ours (the root could not take it, or the program has its own) keeps one agent thread that looks
  every POLL seconds.
"""

import os
import sys
import threading
import time

from longreach import log
from longreach._threads import start_agent_thread
from longreach.job import config as job_config

__all__ = ["start_gateway", "boot", "join_now", "cancel_join", "pending"]

_log = log.get_logger("job")
# load_session() -> (factory, capabilities) and adopt(server) come from the API (this module never imports it);
# pending: the job this process is still to join (see join_now); flag: (config, its attached flag, its awake flag)
_state = {"config": None, "gateway": None, "member": None, "hooked": False, "load_session": None, "adopt": None,
          "pending": None, "flag": None, "pid": None, "forking": False,
          "signalled": lambda: False}
# held while a pending join runs, so that a program's call that joins waits for the one under way
_join_lock = threading.Lock()
_PYPY = sys.implementation.name == "pypy"
POLL = 0.25  # seconds between a waiting child's looks at the job's awake flag


def start_gateway(server, load_session, adopt, redirect_output=True):
    """Make this process the root of a job. Never raises: without a gateway the program runs as before."""
    from longreach import processinfo
    from longreach.job import forkwarn, member  # noqa: F401 (loaded here once, so forked children need not)
    from longreach.job.gateway import Gateway
    _state["load_session"], _state["adopt"] = load_session, adopt
    processinfo.process_info(None)  # its cached parts (user, runtime) are then inherited by forked children
    if not hasattr(os, "fork") or not hasattr(__import__("socket"), "AF_UNIX"):
        return None
    try:
        gateway = Gateway(redirect_output=redirect_output, lib=os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
    except OSError as err:
        _log.warning("cannot start the job's gateway (%s); child processes are not followed", err)
        return None
    gateway.start()
    from longreach.job import wakeup
    gateway.signals = wakeup.install(_on_wake)  # the job's processes then wait for the wake without a thread of ours
    _state["signalled"] = wakeup.ours
    os.environ.update(gateway.environment())
    server.job = gateway
    _state["config"], _state["gateway"] = gateway.config(), gateway
    _flags(_state["config"])  # the flags' paths, worked out once here rather than in each child
    import atexit
    atexit.register(gateway.close)
    _install_fork_hook()
    return gateway


def boot(load_session, adopt):
    """In a new Python process whose environment names a job: join it (never raises, never prints)."""
    _state["load_session"], _state["adopt"] = load_session, adopt
    if _state["config"] is not None:
        return
    config = job_config.decode(os.environ.get(job_config.ENV))
    if config is None or config["root"] == os.getpid():
        return
    kind = job_config.helper_kind()
    if kind == "tracker":
        return
    try:
        job_config.mark_image()
        if kind == "forkserver" or _whole_job_debugged(config):
            _join(config, helper=kind == "forkserver")
        else:
            _join_later(config)
    except Exception:
        _log.exception("joining the job failed")


def join_now():
    """The program calls the agent (breakpoint(), wait_for_attach(), ...) in a child still to join: join at once
    (unheld), or wait for the join under way. Cheap when there is nothing to join; never raises."""
    if _state["pending"] is None:
        return
    with _join_lock:
        config = _state["pending"]
        if config is None:
            return
        try:
            _join(config, hold=False)
        except Exception:
            _log.exception("joining the job failed")
        finally:
            _state["pending"] = None


def pending():
    """True while this process is still to join its job."""
    return _state["pending"] is not None


def cancel_join():
    """enable_attach() in a child still to join: it becomes its own job; the late join must not take its place."""
    if _state["pending"] is None:
        return
    with _join_lock:
        _state["pending"] = None


def _flags(config):
    flag = _state["flag"]
    if flag is None or flag[0] is not config:  # worked out once: forked children inherit it
        flag = _state["flag"] = (config, job_config.attached_flag(config), job_config.awake_flag(config))
    return flag


def _whole_job_debugged(config):
    return os.access(_flags(config)[1], os.F_OK)


def _join_later(config, deferred=None, forked=False):
    """Join once the job is awake (join_now() may come first). A process with our handler of the wake signal
    (job/wakeup.py: a fork child inherits it, a new interpreter takes it when the root says so) does nothing more:
    the gateway signals it at the wake. Others keep a thread that looks for the awake flag. `deferred` (PyPy: the
    frame of our at-fork hook): no thread starts before os.fork() has returned (member._after_hook). `forked`: a fork
    child, which has the parent's hooks already."""
    _state["pid"], _state["forking"] = os.getpid(), deferred is not None
    _state["config"], _state["pending"] = config, config
    if not forked:
        _install_fork_hook()  # a child forked meanwhile has its own join to make
        if config.get("signal") is True:
            from longreach.job import wakeup
            if wakeup.install(_on_wake):
                _state["signalled"] = wakeup.ours
    # pending and the handler first, then the flag: a wake between them finds this process and signals it
    if _state["signalled"]() and not os.access(_flags(config)[2], os.F_OK):
        if deferred is not None:  # PyPy: a wake before os.fork() has returned is ignored; look again after it
            from longreach.job import member
            member._after_hook(deferred, lambda frame: _forked(config))
        return
    if not forked and sys.version_info >= (3, 12):
        from longreach.job import forkwarn
        forkwarn.install()  # the waiting thread is ours: a fork meanwhile must not warn because of it

    def wait_then_join():
        awake = _flags(config)[2]
        while _state["pending"] is config and not os.access(awake, os.F_OK):
            if not os.access(config["socket"], os.F_OK):
                return  # the root has exited, and its job with it
            time.sleep(POLL)
        join_now()

    if deferred is None:
        start_agent_thread(wait_then_join, "longreach-job-join")
    else:
        from longreach.job import member
        member._after_hook(deferred, lambda frame: start_agent_thread(wait_then_join, "longreach-job-join"))


def _on_wake():
    """The job's wake signal (job/wakeup.py), in the main thread between two lines of the program: a process still
    to join (the one whose at-fork hook said so, not a child forked an instant ago) joins on a thread of ours."""
    if _state["pending"] is not None and _state["pid"] == os.getpid() and not _state["forking"]:
        start_agent_thread(join_now, "longreach-job-join", in_handler=True)


def _forked(config):
    """PyPy's fork child once os.fork() has returned (no thread may start before): a wake meanwhile was ignored."""
    _state["forking"] = False
    if _state["pending"] is config and os.access(_flags(config)[2], os.F_OK):
        start_agent_thread(join_now, "longreach-job-join")


def _join(config, helper=False, deferred=None, hold=True):
    from longreach.job.member import Member
    from longreach.wire.server import Server
    session_factory, capabilities = _state["load_session"]()
    server = Server(None, host="", port=0, redirect_output=bool(config.get("redirect", True)),
                    session_factory=session_factory, capabilities=capabilities)
    server.job_member = True
    member = Member(config, server, helper=helper)
    server.job = member
    if not member.start(deferred=deferred, then=None if helper else (lambda frame: _hold(config, server, frame))):
        return
    _state["config"], _state["member"] = config, member
    _state["adopt"](server)  # (its hooks include the fork-warning filter)
    _install_fork_hook()
    if deferred is None and not helper and hold:
        _hold(config, server, None)


def _hold(config, server, frame):
    """A client debugs the whole job: let its session set this process's breakpoints before the process's code runs
    (bounded by config["hold"]). `frame` (PyPy's fork child, held at its first call once os.fork() returned, where
    the member's thread can run): the code already running there, which the session then traces where it needs to
    (a breakpoint in the very function being called)."""
    if not os.path.exists(job_config.attached_flag(config)):
        return
    if not server.wait_configured(config.get("hold", job_config.DEFAULT_HOLD)):
        return
    if frame is None and _PYPY:
        # As wait_for_attach does: on PyPy nothing else could reach this thread, and the breakpoints in the modules
        # it imports next would never be hit (CPython's tracer reaches every thread by itself).
        frame = sys._getframe(1)
    if frame is None:
        return
    adopt = getattr(server.current_session(), "adopt_thread", None)
    if adopt is not None:
        try:
            adopt(frame)
        except Exception:
            _log.exception("adopting the thread that waited for the job session failed")


def _install_fork_hook():
    if _state["hooked"] or not hasattr(os, "register_at_fork"):
        return
    _state["hooked"] = True
    # registered after the API's own hook, so it runs after the inherited server was dropped
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _after_fork_in_child():
    global _join_lock
    _join_lock = threading.Lock()  # the parent's may have been held by its joining thread, which is not here
    config = _state["config"]
    gateway, member = _state["gateway"], _state["member"]
    _state["gateway"] = _state["member"] = _state["pending"] = None
    try:
        if gateway is not None:
            gateway.forget()
        if member is not None:
            member.forget()
        if config is not None:
            job_config.mark_image(forked=True)
            # PyPy: no thread may start inside an at-fork hook (member.py, _after_hook)
            deferred = sys._getframe() if _PYPY else None
            if _whole_job_debugged(config):
                _join(config, helper=False, deferred=deferred)
            else:
                _join_later(config, deferred=deferred, forked=True)
    except Exception:
        _log.exception("joining the job after fork failed")
