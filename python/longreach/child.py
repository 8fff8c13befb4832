"""The job's wiring into the public API (docs/protocol.md 5.3): the root's gateway, a child's membership, and what
a fork does to both. longreach.job holds the machinery; this module decides when it runs.

- `start_gateway(server)` (enable_attach with subprocess=True): the root listens for its children on a private Unix
  socket and puts LONGREACH_JOB and a PYTHONPATH entry into os.environ, so children inherit them.
- `boot()` (the bootstrap sitecustomize.py, before a child's own code): join the job as a member, with a debug
  server that has no listener of its own; the API (breakpoint(), is_attached()) then works in the child too.
- After a fork the child drops what it inherited (the gateway's listener, the parent's member link) and joins the
  job as a member of its own.
"""

import os
import platform
import sys

from longreach import log
from longreach.job import config as job_config

__all__ = ["start_gateway", "boot"]

_log = log.get_logger("job")
# load_session() -> (factory, capabilities) and adopt(server) come from the API (this module never imports it)
_state = {"config": None, "gateway": None, "member": None, "hooked": False, "load_session": None, "adopt": None}


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
    os.environ.update(gateway.environment())
    server.job = gateway
    _state["config"], _state["gateway"] = gateway.config(), gateway
    import atexit
    atexit.register(gateway.close)
    forkwarn.install()
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
        _join(config, helper=kind == "forkserver")
    except Exception:
        _log.exception("joining the job failed")


def _join(config, helper=False, deferred=None):
    from longreach.job import forkwarn
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
    _state["adopt"](server)
    forkwarn.install()
    _install_fork_hook()
    if deferred is None and not helper:
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
    if frame is None and platform.python_implementation() == "PyPy":
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
    config = _state["config"]
    gateway, member = _state["gateway"], _state["member"]
    _state["gateway"] = _state["member"] = None
    try:
        if gateway is not None:
            gateway.forget()
        if member is not None:
            member.forget()
        if config is not None:
            # PyPy: no thread may start inside an at-fork hook (member.py, _after_hook)
            _join(config, helper=False,
                  deferred=sys._getframe() if platform.python_implementation() == "PyPy" else None)
    except Exception:
        _log.exception("joining the job after fork failed")
