"""Evaluate expressions and statements in a frame, write locals back, and complete names.

Writing a frame's locals: on 3.13+ `frame.f_locals` is a write-through proxy. Before, it is a snapshot dict, so
after changing it we copy it back with PyFrame_LocalsToFast (CPython, through ctypes) or
__pypy__.locals_to_fast (PyPy).
"""

import builtins
import keyword
import re
import sys

__all__ = ["evaluate", "assign_local", "completions", "locals_to_fast"]

_WRITE_THROUGH = sys.version_info >= (3, 13)


def _locals_to_fast_impl():
    if _WRITE_THROUGH:
        return None
    if sys.implementation.name == "pypy":
        try:
            import __pypy__
            return __pypy__.locals_to_fast
        except (ImportError, AttributeError):
            return None
    try:
        import ctypes
        api = ctypes.PyDLL(ctypes.pythonapi._name, handle=ctypes.pythonapi._handle)
        fn = api.PyFrame_LocalsToFast
        fn.argtypes = [ctypes.py_object, ctypes.c_int]
        fn.restype = None
        return lambda frame: fn(frame, 0)
    except Exception:
        return None


_TO_FAST = _locals_to_fast_impl()


def locals_to_fast(frame):
    if _TO_FAST is not None:
        _TO_FAST(frame)


def _compile(expression, repl):
    """(code, is_expression). Statements are allowed only in the REPL."""
    try:
        return compile(expression, "<debug>", "eval"), True
    except SyntaxError:
        if not repl:
            raise
    # "single" needs the newline that ends a compound statement typed on one line (`while True: pass`)
    one_line = "\n" not in expression.strip()
    return compile(expression + "\n" if one_line else expression, "<debug>", "single" if one_line else "exec"), False


def evaluate(frame, expression, context):
    """Evaluate in `frame` (None: __main__'s globals). Returns (value, is_expression); statements return None."""
    code, is_expr = _compile(expression, context == "repl")
    if frame is None:
        g = sys.modules["__main__"].__dict__
        return (eval(code, g) if is_expr else _exec(code, g, g)), is_expr
    g = frame.f_globals
    loc = frame.f_locals
    if is_expr:
        return eval(code, g, loc), True
    _exec(code, g, loc)
    if loc is not g:
        locals_to_fast(frame)
    return None, False


def _exec(code, g, loc):
    # "single" mode prints expression results through sys.displayhook: silence that, the REPL shows the value
    hook = sys.displayhook
    sys.displayhook = lambda value: None
    try:
        exec(code, g, loc)
    finally:
        sys.displayhook = hook
    return None


def assign_local(frame, name, value):
    if name in frame.f_code.co_varnames or name in frame.f_code.co_cellvars or name in frame.f_code.co_freevars \
            or frame.f_locals is not frame.f_globals:
        loc = frame.f_locals
        loc[name] = value
        if loc is not frame.f_globals:
            locals_to_fast(frame)
    else:
        frame.f_globals[name] = value


def completions(frame, text, column, run):
    """DAP completion targets for `text` with the cursor at 1-based `column`. `run(fn)` runs user code safely."""
    before = text[:max(0, column - 1)]
    m = re.search(r"[A-Za-z_][\w.]*$|\.$", before)
    word = m.group(0) if m else ""
    if "." in word:
        base, _, prefix = word.rpartition(".")

        def attrs():
            obj = evaluate(frame, base, "watch")[0]
            return dir(obj)
        try:
            names = run(attrs)
        except BaseException:  # noqa: B902
            names = []
        kind = "property"
    else:
        prefix = word
        names = set(keyword.kwlist) | set(dir(builtins))
        if frame is not None:
            names |= set(frame.f_globals) | set(frame.f_locals)
        else:
            names |= set(sys.modules["__main__"].__dict__)
        kind = "variable"
    out = []
    for n in sorted(names):
        if isinstance(n, str) and n.startswith(prefix) and (prefix.startswith("_") or not n.startswith("__")):
            out.append({"label": n, "type": kind, "start": column - len(prefix), "length": len(prefix)})
        if len(out) >= 200:
            break
    return out
