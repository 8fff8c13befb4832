"""Longreach: a secure in-process remote debugger (ptvsd 3 style API).

    import longreach
    longreach.enable_attach("secret", address=("0.0.0.0", 5678))
    longreach.wait_for_attach()
"""

from .api import break_into_debugger, enable_attach, is_attached, register_summary, wait_for_attach
from .errors import LongreachError
from .lazystart import breakpoint  # PYTHONBREAKPOINT=longreach.breakpoint (not in __all__: it would shadow the builtin)
from .processinfo import AGENT_VERSION as __version__

__all__ = ["enable_attach", "wait_for_attach", "is_attached", "break_into_debugger", "register_summary",
           "LongreachError",
           "__version__"]
