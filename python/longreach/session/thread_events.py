"""DAP `thread` events: which program threads started or ended since the client last heard (docs/protocol.md 5.2).

`announce()` compares the live threads with those already announced and sends the difference; the session calls it
at configurationDone and at every stop. Between those, `watch()` starts one hidden agent thread that looks every
INTERVAL seconds until `stop()` (detach, terminate, the program's end), so a thread that starts or ends while the
program runs is reported within about half a second. Nothing is traced for this. Each look costs a thread count and
a list of idents (no frames); the full comparison runs only when those changed.
"""

import threading

from longreach import log
from longreach._threads import start_agent_thread
from longreach.session.threads import user_threads

try:
    import _thread
except ImportError:  # pragma: no cover - every supported runtime has it
    import thread as _thread

__all__ = ["ThreadEvents", "INTERVAL"]

_log = log.get_logger("dap")

INTERVAL = 0.2
_count = getattr(_thread, "_count", lambda: None)


def _signature():
    """Changes when a thread starts or ends (threads started by _thread, or known to threading)."""
    return _count(), frozenset(t.ident for t in threading.enumerate())


class ThreadEvents(object):
    def __init__(self, send_event, dap_tid):
        self._send_event = send_event
        self._dap_tid = dap_tid
        self._announced = set()
        self._lock = threading.Lock()   # announce() runs on a stopping thread, the reader and the watcher
        self._stopped = threading.Event()
        self._watcher = None

    def announce(self):
        with self._lock:
            live = user_threads()
            for ident in live:
                if ident not in self._announced:
                    self._announced.add(ident)
                    self._send_event("thread", {"reason": "started", "threadId": self._dap_tid(ident)})
            for ident in list(self._announced):
                if ident not in live:
                    self._announced.discard(ident)
                    self._send_event("thread", {"reason": "exited", "threadId": self._dap_tid(ident)})

    def watch(self):
        """Start the watcher (once; never after stop())."""
        with self._lock:
            if self._watcher is not None or self._stopped.is_set():
                return
            self._watcher = start_agent_thread(self._loop, "longreach-threads")

    def stop(self, timeout=1.0):
        """End the watcher and wait (bounded) until it has: no event follows, no thread outlives the session."""
        self._stopped.set()
        watcher = self._watcher
        if watcher is not None and watcher.ident != threading.get_ident():
            watcher.join(timeout)

    def forget_after_fork(self):
        """In a forked child the watcher does not exist and these locks may be held by the parent's threads."""
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._stopped.set()
        self._watcher = None

    def _loop(self):
        last = None
        while not self._stopped.wait(INTERVAL):
            try:
                now = _signature()
                if now != last:
                    last = now
                    self.announce()
            except Exception:
                _log.exception("looking for started and ended threads failed")
