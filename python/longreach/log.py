"""Opt-in logging (docs/protocol.md section 10). Off by default; never writes to stdout or stderr.

LONGREACH_LOG=wire,auth,dap (or `all`) enables areas; LONGREACH_LOG_FILE=PATH chooses the file
(default: longreach-<pid>.log in the temporary directory).

With LONGREACH_LOG unset the agent does not even import `logging` (a program that does not use it pays nothing for
it: no module, no at-fork hook of its own in every forked child); an area that is off gets a stand-in whose methods
do nothing.
"""

import os
import threading

__all__ = ["get_logger", "enabled", "redact"]

_ROOT = "longreach"
_lock = threading.Lock()
_configured = False
_areas = frozenset()
_REDACTED_KEYS = frozenset(["secret", "proof", "serverProof", "nonce", "clientNonce"])
_MAX_TEXT = 1024


class _Silent(object):
    """What get_logger() returns for an area that is off: the logging.Logger methods the agent calls, doing nothing."""

    disabled = True

    def _nothing(self, *args, **kws):
        return None

    debug = info = warning = error = exception = critical = log = setLevel = _nothing

    def isEnabledFor(self, level):
        return False


_SILENT = _Silent()


def _configure():
    global _configured, _areas
    with _lock:
        if _configured:
            return
        _configured = True
        spec = os.environ.get("LONGREACH_LOG", "").strip()
        if not spec:
            return
        import logging
        import tempfile
        root = logging.getLogger(_ROOT)
        root.addHandler(logging.NullHandler())
        root.propagate = False  # never reach the host program's handlers (and so never its console)
        root.setLevel(logging.CRITICAL + 1)
        areas = frozenset(a.strip() for a in spec.split(",") if a.strip())
        path = os.environ.get("LONGREACH_LOG_FILE") or os.path.join(
            tempfile.gettempdir(), "longreach-%d.log" % os.getpid())
        try:
            handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        except Exception:
            return
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s [%(threadName)s] %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        _areas = areas


def enabled(area):
    _configure()
    return "all" in _areas or area in _areas


def get_logger(area):
    """logging.Logger named longreach.<area> when LONGREACH_LOG names the area (or `all`); else a silent stand-in."""
    if not enabled(area):
        return _SILENT
    import logging
    return logging.getLogger(_ROOT + "." + area)


def redact(value):
    """A copy of a message fit for a log: secret-bearing values replaced by ***, long strings shortened."""
    if isinstance(value, dict):
        return dict((k, "***" if k in _REDACTED_KEYS else redact(v)) for k, v in value.items())
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "...(%d chars)" % len(value)
    return value
