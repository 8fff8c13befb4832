"""What the debugging session supports, as DAP capabilities: data only, so that a server can answer `initialize`
without loading the session (the rest of this package is imported at the first attach)."""

__all__ = ["CAPABILITIES", "EXCEPTION_FILTERS", "DATA_REQUESTS"]

EXCEPTION_FILTERS = [
    {"filter": "raised", "label": "Raised Exceptions", "default": False,
     "description": "Stop where any exception is raised in your code."},
    {"filter": "uncaught", "label": "Uncaught Exceptions", "default": True,
     "description": "Stop when an exception is about to end a thread or the program."},
    {"filter": "userUnhandled", "label": "User Uncaught Exceptions", "default": False,
     "description": "Stop when an exception leaves your code into library code."},
]
# Longreach's own requests for data values (data_requests.py)
DATA_REQUESTS = ["longreach/table", "longreach/stats"]

CAPABILITIES = {
    "supportsConfigurationDoneRequest": True,
    "supportsFunctionBreakpoints": True,
    "supportsConditionalBreakpoints": True,
    "supportsHitConditionalBreakpoints": True,
    "supportsLogPoints": True,
    "supportsEvaluateForHovers": True,
    "supportsSetVariable": True,
    "supportsCompletionsRequest": True,
    "supportsExceptionInfoRequest": True,
    "supportsLoadedSourcesRequest": True,
    "supportsModulesRequest": True,
    "supportsTerminateRequest": True,
    "supportsDelayedStackTraceLoading": True,
    "supportsValueFormattingOptions": False,
    "supportTerminateDebuggee": True,
    "exceptionBreakpointFilters": EXCEPTION_FILTERS,
    "longreachDataRequests": DATA_REQUESTS,
}
