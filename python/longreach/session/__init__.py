"""The debugging session: DAP requests translated to the tracer (bdb's policy half).

capabilities  what the session supports (data only: a server answers initialize with it, the session unloaded)
core          DebugSession: the dispatch table, attach/detach, stops and resumes, the tracer's policy
breakpoints   the breakpoint registry (lines, functions, exceptions), conditions, hit counts, log messages
paths         matching the client's file names to the files this process runs
threads       stopping and resuming threads (Coordinator), the user's threads
thread_events thread started/exited events while the program runs
output        the program's stdout/stderr teed to the client as output events
inspection    stackTrace, scopes, variables, evaluate, setVariable, completions, source
variables     rendering values and variable references
evaluate      evaluation in a frame, assignment, completions
stacks        every thread's stack without stopping (the longreach/stacks request of `longreach stacks`)
values/       summaries of arrays, tensors and DataFrames, paging, statistics (looked at, never imported)
budget        every call into user code (reprs, summaries, evaluate) under a time budget, interrupted on overrun
data_requests longreach/table and longreach/stats

May import: longreach.tracer, longreach.wire (framing helpers only), longreach.errors, longreach.log,
longreach.program, longreach._threads. Never imports longreach.api.

Importing the package loads only `capabilities`; `DebugSession` loads the rest, at the first attach (the agent of a
program nobody debugs never loads it).
"""

from longreach.session.capabilities import CAPABILITIES

__all__ = ["DebugSession", "CAPABILITIES"]


def __getattr__(name):
    if name == "DebugSession":
        from longreach.session.core import DebugSession
        globals()["DebugSession"] = DebugSession
        return DebugSession
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
