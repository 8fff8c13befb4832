"""What the agent knows about how the program it runs in ends, for the `exited` event.

Mechanism only: the launcher and the session's excepthook record facts here; the session reads them.
"""

import os

__all__ = ["note_exit", "note_uncaught", "exit_code", "system_exit_status"]

_state = {"exit_code": None}


def system_exit_status(code):
    """The process exit status the interpreter derives from SystemExit(code): None -> 0, int -> itself, else 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return int(code) & 0xFF if os.name == "posix" else int(code)
    return 1


def note_exit(status):
    """The launcher knows the exact status the program ends with."""
    _state["exit_code"] = status


def note_uncaught():
    """An uncaught exception reached sys.excepthook in the main thread: Python will exit with status 1 (unless the
    launcher records something more exact afterwards)."""
    if _state["exit_code"] is None:
        _state["exit_code"] = 1


def exit_code():
    code = _state["exit_code"]
    return 0 if code is None else code

