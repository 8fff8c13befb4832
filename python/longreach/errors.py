"""The one table of Longreach error codes (a copy of spec/errors.json; tests prove they are identical)."""

__all__ = ["ERRORS", "LongreachError", "error_body"]

ERRORS = {
    "LR_AUTH_FAILED": 1001,
    "LR_AUTH_REQUIRED": 1002,
    "LR_SECRET_REQUIRED": 1003,
    "LR_INSECURE_SECRET": 1004,
    "LR_THROTTLED": 1005,
    "LR_VERSION_MISMATCH": 1101,
    "LR_NOT_LONGREACH": 1102,
    "LR_TLS_UNTRUSTED": 1201,
    "LR_TLS_CHANGED": 1202,
    "LR_TLS_MISMATCH": 1203,
    "LR_TLS_FAILED": 1204,
    "LR_REFUSED": 1301,
    "LR_TIMEOUT": 1302,
    "LR_UNREACHABLE": 1303,
    "LR_CLOSED": 1304,
    "LR_FRAME_TOO_LARGE": 1401,
    "LR_BAD_FRAME": 1402,
    "LR_BAD_MESSAGE": 1403,
    "LR_ALREADY_ATTACHED": 1501,
    "LR_BAD_REQUEST": 1502,
    "LR_UNSUPPORTED": 1503,
    "LR_INTERNAL": 1504,
    "LR_NOT_STOPPED": 1505,
    "LR_EVAL_FAILED": 1506,
    "LR_NO_SUCH_PROCESS": 1507,
    "LR_EVAL_BUDGET": 1508,
    "LR_BAD_QUALIFIER": 1601,
    "LR_BAD_OPTION": 1602,
    "LR_ADDRESS_IN_USE": 1603,
    "LR_ALREADY_ENABLED": 1604,
    "LR_CERT": 1605,
    "LR_INJECT_REFUSED": 1701,
    "LR_INJECT_UNSUPPORTED": 1702,
    "LR_INJECT_FAILED": 1703,
}


class LongreachError(Exception):
    """An error with a stable code from the table. `str(err)` is "LR_CODE: message"."""

    def __init__(self, code, message, retry_after_ms=None):
        if code not in ERRORS:
            raise ValueError("unknown Longreach error code %r" % (code,))
        Exception.__init__(self, "%s: %s" % (code, message))
        self.code = code
        self.id = ERRORS[code]
        self.message = message
        self.retry_after_ms = retry_after_ms  # LR_THROTTLED: when to try again (protocol section 4.5)


def error_body(code, message, retry_after_ms=None):
    """The DAP structured error of protocol section 9, as the `body` of an error response."""
    error = {"id": ERRORS[code], "format": message, "showUser": True, "code": code}
    if retry_after_ms is not None:
        error["retryAfterMs"] = int(retry_after_ms)
    return {"error": error}
