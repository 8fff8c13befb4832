"""Loading the agent into a Python process that is already running (python -m longreach --pid PID ...).

Modules: cli (options, what is printed), target (what /proc says about the process, and the preflight), elf (symbol
addresses in the target's mapped files), ptrace (stop one thread, call a function in it, put everything back),
injector (the steps, each with a deadline), boot (the file the target itself runs to start the agent).

May import: the base (errors, log); boot, which runs inside the target, imports only the package's face
(`longreach`). Nothing outside this room imports it except the launcher (__main__), which hands it its option
parsers.
"""
