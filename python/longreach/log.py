"""Opt-in logging (docs/protocol.md section 10). Off by default; never writes to stdout or stderr.

LONGREACH_LOG=wire,auth,dap (or `all`) enables areas; LONGREACH_LOG_FILE=PATH chooses the file
(default: longreach-<pid>.log in the temporary directory).
"""

import logging
import os
import tempfile
import threading

__all__ = ["get_logger", "enabled", "redact"]

_ROOT = "longreach"
_lock = threading.Lock()
_configured = False
_areas = frozenset()
_REDACTED_KEYS = frozenset(["secret", "proof", "serverProof", "nonce", "clientNonce"])
_MAX_TEXT = 1024


def _configure():
    global _configured, _areas
    with _lock:
        if _configured:
            return
        _configured = True
        root = logging.getLogger(_ROOT)
        root.addHandler(logging.NullHandler())
        root.propagate = False  # never reach the host program's handlers (and so never its console)
        spec = os.environ.get("LONGREACH_LOG", "").strip()
        if not spec:
            root.setLevel(logging.CRITICAL + 1)
            return
        _areas = frozenset(a.strip() for a in spec.split(",") if a.strip())
        path = os.environ.get("LONGREACH_LOG_FILE") or os.path.join(
            tempfile.gettempdir(), "longreach-%d.log" % os.getpid())
        try:
            handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        except Exception:
            root.setLevel(logging.CRITICAL + 1)
            return
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s [%(threadName)s] %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)


def enabled(area):
    _configure()
    return "all" in _areas or area in _areas


def get_logger(area):
    """logging.Logger named longreach.<area>; silent unless LONGREACH_LOG names the area (or `all`)."""
    _configure()
    logger = logging.getLogger(_ROOT + "." + area)
    if not enabled(area):
        logger.setLevel(logging.CRITICAL + 1)
        logger.disabled = True
    return logger


def redact(value):
    """A copy of a message fit for a log: secret-bearing values replaced by ***, long strings shortened."""
    if isinstance(value, dict):
        return dict((k, "***" if k in _REDACTED_KEYS else redact(v)) for k, v in value.items())
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "...(%d chars)" % len(value)
    return value
