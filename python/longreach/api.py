"""The public API, ptvsd 3 names: enable_attach, wait_for_attach, is_attached, break_into_debugger.

Options are validated here, at the boundary, with the option's name in the message. The server and the session do
the work; this module keeps the one process-wide server and its lifecycle (exit, fork).
"""

import atexit
import os
import sys
import threading

from longreach import breakhook, envconfig, log
from longreach.errors import LongreachError
from longreach.wire.connection import format_peer
from longreach.wire.server import DEFAULT_CAPABILITIES, Server, tls_context

__all__ = ["enable_attach", "wait_for_attach", "is_attached", "break_into_debugger", "register_summary"]

_log = log.get_logger("api")
_lock = threading.Lock()
_server = None
_hooks_installed = False


def enable_attach(secret, address=("0.0.0.0", 5678), certfile=None, keyfile=None, redirect_output=True,
                  allow_plain_secret=False, subprocess=True, connect=None, ca=None, fingerprint=None):
    """Start the debug server in this process; returns the (host, port) it listens on (port 0 picks one).

    `secret` is a non-empty string a debugger must prove it knows, or None to let anyone attach. With certfile and
    keyfile the server speaks TLS (tcps://). Non-blocking: the server runs on a daemon thread. With `subprocess`
    (the default) the processes this one starts (fork, multiprocessing, subprocess of Python) join its job and are
    reached through the same address with `?pid=` (docs/protocol.md 5.3).

    Reverse connect: with connect=(host, port) (or "host:port") nothing listens; the agent dials that hub
    (`longreach listen`), keeps dialing while it is away, and returns its address at once. The hub must prove it
    knows the secret first. ca=FILE or fingerprint="sha256:HEX" make the agent speak TLS and trust the hub by them.
    """
    global _server
    _check_secret(secret)
    if connect is not None or ca is not None or fingerprint is not None:
        return _enable_connect(secret, address, certfile, keyfile, redirect_output, connect, ca, fingerprint, subprocess)
    host, port = _check_address(address)
    certfile, keyfile = _check_path("certfile", certfile), _check_path("keyfile", keyfile)
    if keyfile is not None and certfile is None:
        raise LongreachError("LR_CERT", "keyfile was given without certfile; pass both for TLS, or neither")
    _check_bool("redirect_output", redirect_output)
    _check_bool("allow_plain_secret", allow_plain_secret)
    _check_bool("subprocess", subprocess)
    _cancel_join()
    with _lock:
        if _server is not None and getattr(_server, "job_member", False):
            _leave_job()  # a child of a debugged job that listens itself is its own job from now on
        if _server is not None:
            raise LongreachError("LR_ALREADY_ENABLED", "the debug server is already listening on %s in this "
                                 "process; call enable_attach() once" % (format_peer(_server.address) if _server.address
                                                                         else "(dialing a hub)"))
        tls = tls_context(certfile, keyfile) if certfile is not None else None
        session_factory, capabilities = _load_session()
        server = Server(secret, host, port, tls=tls, allow_plain_secret=allow_plain_secret,
                        redirect_output=redirect_output, session_factory=session_factory,
                        capabilities=capabilities)
        bound = server.listen()
        server.start()
        _server = server
        _install_hooks()
        if subprocess:
            from longreach import child
            child.start_gateway(server, _load_session, _adopt_server, redirect_output)
    breakhook.install(_current_server, in_forks=server.job is not None)  # breakpoint() stops, or waits for a debugger
    if secret is None and not envconfig.is_loopback(bound[0]):
        _warn("longreach: WARNING: debug server on %s accepts anyone without a secret; anyone who can reach this "
              "port can run code in this process\n" % format_peer(bound))
    return bound[0], bound[1]


def _enable_connect(secret, address, certfile, keyfile, redirect_output, connect, ca, fingerprint, subprocess):
    global _server
    if connect is None:
        raise LongreachError("LR_BAD_OPTION", "ca and fingerprint are for trusting a hub: pass connect=(host, port)")
    if not (isinstance(address, (tuple, list)) and tuple(address) == ("0.0.0.0", 5678)):
        raise LongreachError("LR_BAD_OPTION", "give address (listen) or connect (dial a hub), not both")
    if certfile is not None or keyfile is not None:
        raise LongreachError("LR_BAD_OPTION", "certfile and keyfile are for listening; with connect the hub serves "
                             "TLS: trust it with ca=FILE or fingerprint='sha256:HEX'")
    _check_bool("redirect_output", redirect_output)
    _check_bool("subprocess", subprocess)
    _cancel_join()
    with _lock:
        if _server is not None and getattr(_server, "job_member", False):
            _leave_job()  # a child of a debugged job that dials a hub itself is its own job from now on
        if _server is not None:
            raise LongreachError("LR_ALREADY_ENABLED", "the debug server is already started in this process; "
                                 "call enable_attach() once")
        session_factory, capabilities = _load_session()
        from longreach.wire.dial import start_connect
        server = start_connect(secret, connect, ca=ca, fingerprint=fingerprint, redirect_output=redirect_output,
                               session_factory=session_factory, capabilities=capabilities)
        _server = server
        _install_hooks()
        if subprocess:  # children join through this process, listed and selected through the hub (5.3)
            from longreach import child
            child.start_gateway(server, _load_session, _adopt_server, redirect_output)
    # breakpoint() stops here, or waits for a debugger to come through the hub
    breakhook.install(_current_server, in_forks=server.job is not None)
    return server.dialer.host, server.dialer.port


def _join_job():
    """Called by the job's bootstrap (longreach/job/config.py) in a child, before its own code."""
    from longreach import child
    child.boot(_load_session, _adopt_server)
    if child.pending():
        breakhook.install(_current_server, in_forks=True)  # as once joined (_adopt_server): joins, then waits


def _adopt_server(server):
    """A job's child (longreach.child) serves through its gateway with this server: the API works there too."""
    global _server
    with _lock:
        _server = server
    _install_hooks()
    breakhook.install(_current_server, in_forks=True)  # in a child it waits for a debugger coming through the root


def _current_server():
    """The process's server; a job's child still to join (longreach.child) joins first: the program calls the agent.
    Never with _lock held (the join takes it, in _adopt_server)."""
    if _server is None:
        child = sys.modules.get("longreach.child")
        if child is not None:
            child.join_now()
    return _server


def _cancel_join():
    child = sys.modules.get("longreach.child")
    if child is not None:
        child.cancel_join()


def _leave_job():
    global _server
    server, _server = _server, None
    try:
        server.close(timeout=0.5)
    except Exception:
        pass


def _load_session():
    """The debugging half (longreach.session) as the server's session factory and capabilities. Only the
    capabilities load now; the session itself loads at the first attach (`longreach.session.DebugSession`), so a
    program nobody debugs never carries it. When it cannot load, the server still lists and authenticates, and
    attach answers LR_UNSUPPORTED."""
    try:
        from longreach import session
    except ImportError as err:
        _log.warning("debugging unavailable: cannot import longreach.session: %s", err)
        return None, dict(DEFAULT_CAPABILITIES)

    def new_session(send, peer, options):
        try:
            debug_session = session.DebugSession
        except Exception as err:
            _log.warning("debugging unavailable: cannot load longreach.session: %r", err)
            raise LongreachError("LR_UNSUPPORTED", "this agent cannot debug: its session module failed to load "
                                 "(details in the LONGREACH_LOG=server log)")
        return debug_session(send, peer, options)

    return new_session, dict(getattr(session, "CAPABILITIES", DEFAULT_CAPABILITIES))


def wait_for_attach(timeout=None):
    """Block until a debugger has attached and finished configuration (configurationDone).
    Returns True then, or False when `timeout` seconds passed first."""
    import numbers
    if timeout is not None and (not isinstance(timeout, numbers.Real) or isinstance(timeout, bool)
                                or timeout != timeout or timeout < 0):
        raise LongreachError("LR_BAD_OPTION", "timeout must be None or a number of seconds >= 0, got %r"
                             % (timeout,))
    server = _current_server()
    if server is None:
        raise LongreachError("LR_BAD_REQUEST", "call enable_attach() before wait_for_attach()")
    if not server.wait_configured(timeout):
        return False
    # Optional session hook: let the session trace the waiting thread from here on (a runtime without a way to
    # reach an already-running thread, such as PyPy, could otherwise never stop the main thread).
    session = server.current_session()
    adopt = getattr(session, "adopt_thread", None)
    if adopt is not None:
        try:
            adopt(sys._getframe(1))
        except Exception:
            _log.exception("adopting the thread that waited for attach failed")
    return True


def is_attached():
    """True while a debugger is attached."""
    server = _current_server()
    return server is not None and server.current_session() is not None


def break_into_debugger():
    """Stop at the caller's line when a debugger is attached; do nothing otherwise."""
    server = _current_server()
    session = None if server is None else server.current_session()
    if session is None:
        return
    try:
        session.break_into(sys._getframe(1))
    except Exception:
        _log.exception("break_into_debugger failed")


def register_summary(target, summary, children=None):
    """Show objects of `target` (a class, or a "module.QualName" string, so the module need not be imported)
    in the debugger with `summary(obj) -> str`, one line from the object's metadata; `children(obj)` optionally
    yields (name, value) pairs to expand. Both run on the stopped thread under the evaluation budget. Subclasses
    match too; a later registration for the same name wins. See docs/values.md."""
    from longreach.session.values import registry
    try:
        registry.register_summary(target, summary, children)
    except TypeError as e:
        raise LongreachError("LR_BAD_OPTION", str(e))


# ---- lifecycle ----------------------------------------------------------------------------------------------
def _install_hooks():
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
    if sys.version_info >= (3, 12):
        from longreach.job import forkwarn
        forkwarn.install()  # our threads must not make 3.12's fork warning appear, with or without a job


def _at_exit():
    server = _server
    if server is not None:
        try:
            server.close(timeout=0.5)
        except Exception:
            pass


def _after_fork_in_child():
    """A forked child gets no half-working server: inherited sockets are dropped (the parent keeps serving), the
    inherited session is closed, and the child may call enable_attach() itself."""
    global _server, _lock
    _lock = threading.Lock()
    server, _server = _server, None
    if server is not None:
        try:
            server.after_fork_in_child()
        except Exception:
            pass


# ---- validation ---------------------------------------------------------------------------------------------
def _check_secret(secret):
    if secret is None:
        return
    if not isinstance(secret, str):
        raise LongreachError("LR_BAD_OPTION", "secret must be a string, or None to let anyone attach (got %s)"
                             % type(secret).__name__)
    if not secret:
        raise LongreachError("LR_BAD_OPTION", "secret must not be empty; pass None to let anyone attach")
    try:
        secret.encode("utf-8")
    except UnicodeEncodeError:
        raise LongreachError("LR_BAD_OPTION", "secret must be encodable as UTF-8")


def _check_address(address):
    if not isinstance(address, (tuple, list)) or len(address) != 2:
        raise LongreachError("LR_BAD_OPTION", "address must be a (host, port) pair such as ('0.0.0.0', 5678), "
                             "got %r" % (address,))
    host, port = address
    if not isinstance(host, str):
        raise LongreachError("LR_BAD_OPTION", "address host must be a string such as '0.0.0.0' or '127.0.0.1', "
                             "got %r" % (host,))
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise LongreachError("LR_BAD_OPTION", "address port must be an integer from 0 to 65535 (0 picks a free "
                             "port), got %r" % (port,))
    return host, port


def _check_path(name, value):
    if value is None:
        return None
    try:
        path = os.fspath(value)
    except TypeError:
        raise LongreachError("LR_CERT", "%s must be a file path, got %s" % (name, type(value).__name__))
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise LongreachError("LR_CERT", "%s must not be empty" % name)
    return path


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise LongreachError("LR_BAD_OPTION", "%s must be True or False, got %r" % (name, value))


def _warn(text):
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(text)
        stream.flush()
    except Exception:
        pass
