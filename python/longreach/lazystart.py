"""PYTHONBREAKPOINT=longreach.breakpoint: the agent starts at the first breakpoint() (docs/environment.md).

Python imports this (through `longreach`) only when breakpoint() is first called, so nothing of the agent is loaded,
and nothing listens, before. The settings come from the environment (envconfig: LONGREACH_LISTEN or
LONGREACH_CONNECT, the secret, TLS files); then breakpoint() behaves as with any agent (breakhook). A bad setting is
reported once, in one line on stderr naming the variable to fix, and breakpoint() does nothing: the program goes on.
"""

import os
import threading

from longreach import api, breakhook, envconfig
from longreach.errors import LongreachError

__all__ = ["breakpoint"]

_lock = threading.Lock()
_failed = False
_hooked = False


def _after_fork_in_child():
    global _lock
    _lock = threading.Lock()  # a thread of the parent may have held it; the child starts its own agent afresh


def breakpoint(*args, **kws):
    """The PYTHONBREAKPOINT target: start the agent if none runs, then stop here (or wait for a debugger)."""
    frame = breakhook.caller_frame()
    if breakhook.chosen_hook() == "0":  # called directly (longreach.breakpoint()) with breakpoint() disabled
        return None
    server = breakhook.live_server() or _start()
    if server is not None:
        breakhook.stop_here(server, frame)
    return None


def _start():
    """Start the agent the environment describes, once per process; the server, or None (reported) on failure."""
    global _failed, _hooked
    if not _hooked and hasattr(os, "register_at_fork"):
        # only from the first start on can a thread hold the lock at a fork (`import longreach` alone costs a
        # forked child nothing)
        _hooked = True
        os.register_at_fork(after_in_child=_after_fork_in_child)
    with _lock:
        if _failed or breakhook.current_server() is not None:
            return breakhook.live_server()  # None at the end of the program: breakpoint() does nothing then
        try:
            envconfig.breakpoint_wait(os.environ)  # validate every setting before anything starts
            config = envconfig.agent_config(os.environ, hook="PYTHONBREAKPOINT=" + breakhook.OUR_HOOK)
            _STARTERS[config.mode](config)
        except LongreachError as err:
            _failed = True
            breakhook.report_once(err.message)
            return None
        config = None  # drop the secret
        return breakhook.live_server()


def _listen(config):
    host, port = config.address
    shown = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    try:
        api.enable_attach(config.secret, address=(host, port), certfile=config.certfile, keyfile=config.keyfile)
    except LongreachError as err:
        if err.code == "LR_CERT":
            raise LongreachError(err.code, "LONGREACH_CERTFILE / LONGREACH_KEYFILE: " + err.message)
        if err.code in ("LR_ADDRESS_IN_USE", "LR_BAD_OPTION"):
            raise LongreachError(err.code, "LONGREACH_LISTEN=%s: %s" % (shown, err.message))
        raise


def _connect(config):
    host, port = config.address
    shown = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    if config.secret is None:
        raise LongreachError("LR_BAD_OPTION", "LONGREACH_CONNECT=%s needs a secret (the hub must prove it knows it): "
                             "set LONGREACH_SECRET_FILE or LONGREACH_SECRET" % shown)
    try:
        api.enable_attach(config.secret, connect=(host, port), ca=config.ca, fingerprint=config.fingerprint)
    except LongreachError as err:
        if err.code == "LR_CERT":
            raise LongreachError(err.code, "LONGREACH_CA: " + err.message)
        if err.code == "LR_BAD_OPTION" and "fingerprint" in err.message:
            raise LongreachError(err.code, "LONGREACH_FINGERPRINT: " + err.message)
        raise


_STARTERS = {"listen": _listen, "connect": _connect}
