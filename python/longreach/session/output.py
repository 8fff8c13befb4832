"""Redirect the program's stdout/stderr to DAP `output` events while attached; the real streams still get every
byte. Detach puts the original objects back (or, if the program replaced sys.stdout meanwhile, turns our wrapper
into a plain pass-through)."""

import sys

from longreach._threads import AGENT_THREAD_IDS
import threading

__all__ = ["OutputRedirect"]

_RETIRED = []  # retired tees, disarmed (they hold no session), reused by the next attach; see uninstall
_KEEP_RETIRED = 8


class _Tee(object):
    def __init__(self, target, category, emit):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_category", category)
        object.__setattr__(self, "_emit", emit)
        object.__setattr__(self, "active", True)

    def arm(self, emit):
        object.__setattr__(self, "_emit", emit)
        object.__setattr__(self, "active", True)

    def disarm(self):
        object.__setattr__(self, "active", False)
        object.__setattr__(self, "_emit", None)  # let go of the session

    def write(self, text):
        n = self._target.write(text)
        if self.active and text and threading.get_ident() not in AGENT_THREAD_IDS:
            try:
                self._emit(self._category, text if isinstance(text, str) else repr(text))
            except Exception:
                pass
        return n

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._target, name)

    def __setattr__(self, name, value):
        if name == "active":
            object.__setattr__(self, name, value)
        else:
            setattr(self._target, name, value)

    def __iter__(self):
        return iter(self._target)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


class OutputRedirect(object):
    def __init__(self, emit):
        """emit(category, text) sends one output event; it must not write to stdout/stderr."""
        self.emit = emit
        self._tees = {}

    def install(self):
        for name in ("stdout", "stderr"):
            target = getattr(sys, name, None)
            if target is None or isinstance(target, _Tee):
                continue
            tee = _take_retired(target, name)
            if tee is None:
                tee = _Tee(target, name, self.emit)
            else:
                tee.arm(self.emit)
            self._tees[name] = tee
            setattr(sys, name, tee)

    def uninstall(self):
        for name, tee in self._tees.items():
            tee.disarm()
            if getattr(sys, name, None) is tee:
                setattr(sys, name, tee._target)
            # Keep the retired tee alive: print() holds only a borrowed reference to sys.stdout until it reaches
            # the write method, so freeing the tee under a print running in another thread crashed the
            # interpreter. Disarmed, it holds nothing of the session, and the next attach wears it again, so
            # attaching over and over keeps a fixed few (only tees of streams the program replaced are let go).
            _RETIRED.append(tee)
            del _RETIRED[:-_KEEP_RETIRED]
        self._tees = {}


def _take_retired(target, category):
    for i, tee in enumerate(_RETIRED):
        if tee._target is target and tee._category == category:
            return _RETIRED.pop(i)
    return None
