"""Per-address throttling of failed authentication attempts (docs/protocol.md section 4.5).

After the n-th consecutive failure from an address, attempts from it are refused for min(base * 2^(n-1), cap)
seconds. A success resets the count; so does `forget_after` seconds without failures.
"""

import threading
import time

__all__ = ["Throttle"]

_MAX_ENTRIES = 4096


class Throttle(object):
    def __init__(self, base=0.25, cap=30.0, forget_after=600.0, clock=time.monotonic):
        self.base = base
        self.cap = cap
        self.forget_after = forget_after
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = {}  # address -> (consecutive failures, time of the last one)

    def retry_in(self, address):
        """Seconds until `address` may try again; 0.0 when it may try now."""
        now = self._clock()
        with self._lock:
            entry = self._live(address, now)
            if entry is None:
                return 0.0
            count, last = entry
            return max(0.0, last + self._window(count) - now)

    def failure(self, address):
        """Record a failed attempt; returns the new penalty window in seconds."""
        now = self._clock()
        with self._lock:
            entry = self._live(address, now)
            count = 1 if entry is None else entry[0] + 1
            self._failures[address] = (count, now)
            if len(self._failures) > _MAX_ENTRIES:
                self._prune(now)
            return self._window(count)

    def success(self, address):
        with self._lock:
            self._failures.pop(address, None)

    def _window(self, count):
        if count >= 64:
            return self.cap
        return min(self.base * (2 ** (count - 1)), self.cap)

    def _live(self, address, now):
        entry = self._failures.get(address)
        if entry is not None and now - entry[1] >= self.forget_after:
            del self._failures[address]
            return None
        return entry

    def _prune(self, now):
        for address, (_, last) in list(self._failures.items()):
            if now - last >= self.forget_after:
                del self._failures[address]
        if len(self._failures) > _MAX_ENTRIES:
            # Bound memory even under a flood from many addresses: forget the oldest half.
            by_age = sorted(self._failures.items(), key=lambda item: item[1][1])
            for address, _ in by_age[:len(by_age) // 2]:
                del self._failures[address]
