"""Longreach's own requests for data values, beside DAP's: `longreach/table` (a row window of a DataFrame, a
Series or an array of 1 or 2 dimensions, as cells of text) and `longreach/stats` (min, max, mean, std, nan and inf
counts, computed where the data lives). Both evaluate an expression in a frame like `evaluate` does and run the
library's code under the prompt's budget. The capability `longreachDataRequests` lists them.
Mixed into DebugSession (core.py's HANDLERS table maps the commands).
"""

from longreach.errors import LongreachError
from longreach.session.capabilities import DATA_REQUESTS
from longreach.session.budget import BudgetExceeded, eval_budget, over_budget
from longreach.session.evaluate import evaluate
from longreach.session.values import kind_of
from longreach.session.values.registry import short_repr
from longreach.session.variables import _no_collection

__all__ = ["DataHandlers", "DATA_REQUESTS"]

MAX_ROWS = 1000
MAX_COLUMNS = 200


def _count_arg(args, name, default, most):
    v = args.get(name, default)
    if v is None:
        return default
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > most:
        raise LongreachError("LR_BAD_REQUEST", "%s must be an integer from 0 to %d" % (name, most))
    return v


class DataHandlers(object):
    def _data_value(self, args, what):
        """(value, expression) of the request's expression in its frame, evaluated under the prompt's budget."""
        expression = args.get("expression")
        if not isinstance(expression, str) or not expression.strip():
            raise LongreachError("LR_BAD_REQUEST", "%s needs an expression" % what)
        _ident, frame = self._frame_arg(args, required=False)
        if frame is None:
            frame = self._any_stopped_frame()
        return self._data_call(lambda: evaluate(frame, expression, "watch")[0]), expression

    def _data_call(self, fn):
        try:
            return self._run_user(fn, eval_budget("repl"))
        except LongreachError:
            raise
        except BudgetExceeded as e:
            raise over_budget(e)
        except LookupError as e:
            raise LongreachError("LR_EVAL_FAILED", self._exc_text(e).strip("'\""))
        except SyntaxError as e:
            raise LongreachError("LR_EVAL_FAILED", "SyntaxError: %s" % (e.msg,))
        except BaseException as e:  # noqa: B902
            raise LongreachError("LR_EVAL_FAILED", "%s: %s" % (type(e).__name__, self._exc_text(e)))

    def on_longreach_table(self, args):
        start = _count_arg(args, "start", 0, 1 << 62)
        rows = _count_arg(args, "rows", 20, MAX_ROWS)
        columns = _count_arg(args, "columns", 20, MAX_COLUMNS)
        value, expression = self._data_value(args, "longreach/table")
        k = kind_of(value)
        if k is None:
            raise LongreachError("LR_EVAL_FAILED", "%s is a %s: only a DataFrame, a Series or an array of 1 or 2 "
                                 "dimensions can be shown as a table" % (expression, type(value).__name__))
        body = self._data_call(_no_collection(lambda: k.table(value, start, rows, columns)))
        body["type"] = self._data_call(lambda: k.type_name(value))
        body["start"] = start
        return body

    def on_longreach_stats(self, args):
        value, expression = self._data_value(args, "longreach/stats")
        k = kind_of(value)
        if k is None:
            raise LongreachError("LR_EVAL_FAILED", "%s is a %s: statistics are computed for numeric arrays, "
                                 "tensors, Series and DataFrames" % (expression, short_repr(type(value).__name__)))
        stats = self._data_call(lambda: k.stats(value))
        return {"statistics": dict(stats), "type": self._data_call(lambda: k.type_name(value))}
