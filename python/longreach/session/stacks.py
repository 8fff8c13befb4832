"""The longreach/stacks request: every thread's current stack, read without stopping anything ("where is it
stuck?"). sys._current_frames() is a snapshot taken under the GIL; a thread blocked in a C call (time.sleep, a
lock, a socket read) shows the Python line that made the call."""

import sys

from longreach.session.inspection import user_stack
from longreach.session.threads import user_threads
from longreach.tracer.linetable import current_line

__all__ = ["on_stacks"]

MAX_FRAMES = 200


def on_stacks(session, args):
    limit = args.get("levels", MAX_FRAMES)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_FRAMES:
        limit = MAX_FRAMES
    frames = sys._current_frames()
    threads = []
    for ident, thread in sorted(user_threads().items(), key=lambda kv: session.dap_tid(kv[0])):
        # as stackTrace shows them: without the agent's frames (the launcher's below the program's <module>)
        user = user_stack(frames[ident]) if ident in frames else []
        stack = [{"name": getattr(frame.f_code, "co_qualname", frame.f_code.co_name),
                  "path": _client_path(session, frame.f_code.co_filename), "line": current_line(frame)}
                 for frame in user[:limit]]
        threads.append({"id": session.dap_tid(ident), "name": thread.name if thread is not None else
                        "Thread-%d" % ident, "frames": stack, "totalFrames": len(user)})
        user = None
    frames = None
    return {"threads": threads}


def _client_path(session, filename):
    try:
        return session.registry.resolver.to_client(filename)
    except Exception:
        return filename
