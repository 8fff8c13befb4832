"""Agent threads: daemon threads the tracer never traces, never stops, and `threads` responses hide."""

import sys
import threading

__all__ = ["AGENT_THREAD_IDS", "start_agent_thread", "is_agent_thread"]

# Thread idents of the agent's own threads. Mutated only under _lock; read freely (set membership is atomic).
AGENT_THREAD_IDS = set()
_lock = threading.Lock()


def start_agent_thread(target, name, args=()):
    """Start `target(*args)` on a daemon thread registered in AGENT_THREAD_IDS until it ends."""
    registered = threading.Event()

    def run():
        sys.settrace(None)  # never trace the agent's own machinery, whatever threading.settrace the host set
        ident = threading.get_ident()
        with _lock:
            AGENT_THREAD_IDS.add(ident)
        registered.set()
        try:
            target(*args)
        finally:
            with _lock:
                AGENT_THREAD_IDS.discard(ident)

    thread = threading.Thread(target=run, name=name)
    thread.daemon = True
    thread.start()
    registered.wait()
    return thread


def is_agent_thread(ident=None):
    return (threading.get_ident() if ident is None else ident) in AGENT_THREAD_IDS
