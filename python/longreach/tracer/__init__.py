"""The tracing mechanism: where a thread could stop, and asking a policy whether it does (bdb's mechanism half).

base        TracerBase, the policy interface, canon() and the helpers every implementation shares
factory     make_tracer(policy): MonitoringTracer on CPython 3.12+, SettraceTracer elsewhere
monitoring  sys.monitoring (CPython 3.12+)
settrace    sys.settrace / threading.settrace (CPython 3.8-3.11, PyPy), hook mode and global mode
compiled    compiled breakpoints: functions holding line breakpoints run a copy with them compiled in
linehook    makes those copies from source (every interpreter), with the safety check against the running code
linetable   the copies' line tables on 3.10+ (inserted nodes take the breakpoint's line)
watchdog    the time budget of breakpoint conditions and log messages run on the program's own threads
conditions  conditions precompiled for frames that are traced (no eval per hit)
hooks       entry hooks: functions holding breakpoints run a copy of their code that calls the tracer in
            (also the finding and swapping of copies that compiled.py reuses)
codehook    makes those copies, per bytecode version
adopt       gives threads that are already running a trace function (CPython 3.8-3.11, through ctypes)

Knows nothing of DAP, sessions or sockets. May import: longreach.log, longreach._threads, the standard library.
"""
