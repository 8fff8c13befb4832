"""The longreach/stacks request: every thread's current stack, read without stopping anything ("where is it
stuck?"). sys._current_frames() is a snapshot taken under the GIL; a thread blocked in a C call (time.sleep, a
lock, a socket read) shows the Python line that made the call."""

import sys

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
        stack = []
        frame = frames.get(ident)
        while frame is not None and len(stack) < limit:
            code = frame.f_code
            stack.append({"name": getattr(code, "co_qualname", code.co_name), "path": _client_path(session,
                                                                                                      code.co_filename),
                          "line": current_line(frame)})
            frame = frame.f_back
        depth = len(stack)
        while frame is not None:
            depth += 1
            frame = frame.f_back
        threads.append({"id": session.dap_tid(ident), "name": thread.name if thread is not None else
                        "Thread-%d" % ident, "frames": stack, "totalFrames": depth})
    frames = None
    return {"threads": threads}


def _client_path(session, filename):
    try:
        return session.registry.resolver.to_client(filename)
    except Exception:
        return filename
