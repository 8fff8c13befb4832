"""Breakpoints compiled into a copy of a function (every interpreter): the line of a breakpoint starts with
`if <condition>: _hit(...)` (or just `_hit(...)`), so a breakpoint costs nothing but its condition until it fires.

How: the function is compiled again from its source with that statement inserted, in the abstract syntax tree,
before the statement that starts the breakpoint's line, every inserted node carrying that line's number. Only the
top-level statement holding the function is compiled (with the module's `from __future__` imports), so the cost
follows the function's size, not the module's, and every other line keeps its number.

Safety check, before anything is installed: the same top-level statement, compiled unmodified, must give a code
object identical to the running one (bytecode, constants, names, line table, exception table, flags — nested code
objects included). Stale or missing source, code made by exec() or by a code generator, or a different optimisation
level fails it, and the caller keeps today's mechanism for that function. The copy must also keep the original's
locals, cells, free variables and flags (a condition naming a variable of an enclosing function that this one does
not use would need a new free variable, so it is refused), and must start the same lines.

The condition runs inside `try: ... except Exception:` so that a condition that raises reports the error through the
hook (`_hit_error`) and never reaches the program. Conditions with `:=` (which would assign the program's own
variable, where eval() of old only assigned a snapshot) are refused.

Refused shapes (the caller falls back, per function, and logs the reason): generators and coroutines (their frames
resume past a new copy); `while`/`for` headers (the line runs on every iteration, not once); a line that continues a
statement begun on an earlier line; a line that starts no statement of the function (a decorator, an `except`
clause); a docstring; lambdas, comprehensions, module and class bodies (no statement list, or run once).

`_hit(condition)` and `_hit_error(condition)` are module-level functions reached through
`__import__('sys').modules[...]`, so the copy needs no new global name, cell or constant object; they call the
target that the tracer set with `set_target`. Nothing here knows about breakpoints beyond line numbers and
condition texts.
"""

import ast
import copy
import linecache
import os
import sys
import types

from longreach.tracer import linetable, watchdog

__all__ = ["copy_with_breakpoints", "set_target", "same_code", "condition_compiles_in", "clear_cache"]

_NO_RESTART = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async generator
_HAS_END = sys.version_info >= (3, 8)
_target = [None]
_trees = {}  # filename -> (stat key, lines, tree)
_ME = __name__
_ARMED = watchdog.ARMED
# compiled in as `"<this>".on`, then replaced in the copy's constants by watchdog.ARMED
_PLACEHOLDER = "\x00longreach: watchdog.ARMED"
# CPython 3.8-3.10: the false path's test is compiled as the global name below, and its LOAD_GLOBAL is then rewritten
# into LOAD_CONST of watchdog.ARMED_LIST (same size, no cache): two instructions instead of an attribute lookup
_ARMED_NAME = "__longreach_armed__"
_PATCH_GLOBAL = sys.implementation.name == "cpython" and sys.version_info < (3, 11)
_NO_PATCH = "more than 256 names or constants: the attribute test instead"


def set_target(callback):
    """callback(frame, condition text or None, exception or None); None: hooks do nothing."""
    _target[0] = callback


def _hit(condition):
    frame = sys._getframe(1)
    if _ARMED.on:
        watchdog.left(frame)
    cb = _target[0]
    if cb is not None:
        try:
            cb(frame, condition, None)
        except Exception:
            pass  # the program's line runs on whatever happens here


def _hit_error(condition):
    error = sys.exc_info()[1]
    frame = sys._getframe(1)
    if _ARMED.on:
        watchdog.left(frame)
    cb = _target[0]
    if cb is not None:
        try:
            cb(frame, condition, error)
        except Exception:
            pass


def _left(_unused):
    """A false condition ended while ARMED.on: the watchdog has an interrupt under way, or the debugger pauses every
    thread (then the hook hears of it, to stop this thread for the pause)."""
    frame = sys._getframe(1)
    watchdog.left(frame)
    cb = _target[0]
    if cb is not None and watchdog.is_pausing():
        try:
            cb(frame, watchdog.PASSING, None)
        except Exception:
            pass


def _interrupted(condition):
    """The condition ran past its budget and took the watchdog's interrupt: reported like a condition that raised."""
    frame = sys._getframe(1)
    error = watchdog.arrived(frame)
    cb = _target[0]
    if cb is not None:
        try:
            cb(frame, condition, error)
        except Exception:
            pass


def clear_cache():
    _trees.clear()


# ---- comparing code objects ----

_ATTRS = ("co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals", "co_flags", "co_firstlineno",
          "co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars", "co_name", "co_qualname",
          "co_lnotab", "co_linetable", "co_exceptiontable", "co_stacksize")


def same_code(a, b):
    """True when two code objects are the same program: every attribute that shapes what runs, nested code too."""
    for name in _ATTRS:
        if name == "co_lnotab" and hasattr(a, "co_linetable"):
            continue  # derived from co_linetable (and deprecated) where that exists
        if getattr(a, name, None) != getattr(b, name, None):
            return False
    ca, cb = a.co_consts, b.co_consts
    if len(ca) != len(cb):
        return False
    for x, y in zip(ca, cb):
        if isinstance(x, types.CodeType):
            if not isinstance(y, types.CodeType) or not same_code(x, y):
                return False
        elif type(x) is not type(y) or repr(x) != repr(y):
            return False
    return True


# ---- source ----

def _module_tree(filename):
    """(tree, future imports) of the file a code object names, from its current source; None if unreadable."""
    try:
        st = os.stat(filename)
        key = (st.st_mtime_ns, st.st_size)
    except (OSError, ValueError):
        key = None
    cached = _trees.get(filename)
    if cached is not None and cached[0] == key and key is not None:
        return cached[1]
    linecache.checkcache(filename)
    lines = linecache.getlines(filename)
    if not lines:
        return None
    try:
        tree = ast.parse("".join(lines), filename)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    # the module's future imports, then its other imports: 3.11+ compiles `module.f()` differently when `module`
    # is a name the module imports, so the symbol table must see them (they are compiled, never run)
    context = [s for s in tree.body if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
    todo = [s for s in tree.body if s not in context]
    while todo:
        stmt = todo.pop(0)
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            context.append(stmt)
        elif not isinstance(stmt, _NEW_SCOPE):
            for inner in _bodies(stmt):
                todo.extend(inner)
    result = (tree, context)
    if key is not None:
        _trees[filename] = (key, result)
    return result


def _source_lines(filename):
    linecache.checkcache(filename)
    return linecache.getlines(filename)


def _code_at_column_0(text):
    return bool(text) and text[0] not in " \t\r\n#)]}"


def _top_statement(filename, first):
    """(tree, context) from the lines of the top-level statement that holds line `first` and the module's
    column-0 imports, parsed alone (keeping their line numbers); None when that guess does not parse."""
    lines = _source_lines(filename)
    if not lines or first > len(lines):
        return None
    start = first
    while start > 1 and not _code_at_column_0(lines[start - 1]):
        start -= 1
    while start > 1 and lines[start - 2].startswith("@"):
        start -= 1
    end = first + 1
    while end <= len(lines) and not _code_at_column_0(lines[end - 1]):
        end += 1
    try:
        tree = ast.parse("\n" * (start - 1) + "".join(lines[start - 1:end - 1]), filename)
        context = []
        i = 0
        while i < len(lines):
            text = lines[i]
            if text.startswith(("import ", "from ")):
                j = i + 1
                while text.count("(") > text.count(")") or text.rstrip().endswith("\\"):
                    text += lines[j]
                    j += 1
                context.extend(ast.parse("\n" * i + text, filename).body)
                i = j
            else:
                i += 1
    except (SyntaxError, ValueError, IndexError, RecursionError, MemoryError):
        return None
    futures = [s for s in context if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
    return tree, futures + [s for s in context if s not in futures]


def _first_line(node):
    decos = getattr(node, "decorator_list", None) or ()
    return min([node.lineno] + [d.lineno for d in decos])


def _compile(stmt, futures, filename):
    module = ast.Module(body=list(futures) + [stmt], type_ignores=[])
    return compile(module, filename, "exec", dont_inherit=True)


def _find_code(code, name, first, qualname):
    """The code objects nested in `code` (itself included) with that name and first line."""
    out = []
    todo = [code]
    while todo:
        c = todo.pop()
        if c.co_name == name and c.co_firstlineno == first and getattr(c, "co_qualname", qualname) == qualname:
            out.append(c)
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return out


def _find_def(top, name, first):
    """The def node of the function `name` whose first line (decorators included) is `first`."""
    for node in ast.walk(top):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name \
                and _first_line(node) == first:
            return node
    return None


def _path(node, target):
    """[(parent, field, index or None)] from `node` down to `target` ([] when node is target)."""
    if node is target:
        return []
    line = target.lineno
    for field, value in ast.iter_fields(node):
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if not isinstance(item, ast.AST):
                continue
            end = getattr(item, "end_lineno", None)
            if end is not None and not (_first_line(item) <= line <= end):
                continue
            found = _path(item, target)
            if found is not None:
                return [(node, field, i if isinstance(value, list) else None)] + found
    return None


def _rebuilt(top, path, replacement):
    """`top` with the node at the end of `path` replaced, copying only the nodes on the way; the bodies of classes
    on the way keep only that way (a method's code does not depend on its class's other statements), so compiling
    costs what the function costs, not its class or module."""
    child = replacement
    for parent, field, i in reversed(path):
        new = copy.copy(parent)
        if i is None:
            setattr(new, field, child)
        elif isinstance(parent, ast.ClassDef) and field == "body":
            setattr(new, field, [child])
        else:
            items = list(getattr(parent, field))
            items[i] = child
            setattr(new, field, items)
        child = new
    return child


# ---- where a line's statement is ----

_LOOPS = (ast.For, ast.While, ast.AsyncFor)
_NEW_SCOPE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _bodies(stmt):
    """The statement lists directly inside a compound statement (not nested scopes)."""
    for field in ("body", "orelse", "finalbody"):
        value = getattr(stmt, field, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            yield value
    for h in getattr(stmt, "handlers", None) or ():
        yield h.body
    for case in getattr(stmt, "cases", None) or ():
        yield case.body


def _locate(body, line, is_function_body):
    """(statement list, index) of the outermost statement of the function that starts on `line`, or (None, reason)."""
    for i, stmt in enumerate(body):
        start = _first_line(stmt)
        end = getattr(stmt, "end_lineno", start) or start
        if start < line == stmt.lineno:
            return None, "the def line of a decorated function runs after its decorators"
        if start == line:
            if isinstance(stmt, _LOOPS):
                return None, "a loop header runs on every iteration"
            if is_function_body and i == 0 and isinstance(stmt, ast.Expr) and \
                    isinstance(getattr(stmt, "value", None), ast.Constant) and isinstance(stmt.value.value, str):
                return None, "a docstring"
            return (body, i), None
        if start < line <= end:
            if isinstance(stmt, _NEW_SCOPE):
                return None, "the line belongs to another function"
            for inner in _bodies(stmt):
                if inner and inner[0].lineno <= line:
                    found, why = _locate(inner, line, False)
                    if found is not None or why != "no statement starts on this line":
                        return found, why
            return None, "the line continues a statement that starts on line %d" % start
    return None, "no statement starts on this line"


def _refused_condition(text):
    try:
        tree = ast.parse(text.strip(), "<condition>", "eval")
    except SyntaxError as e:
        return None, "the condition is not valid Python: %s" % (e.msg,)
    for node in ast.walk(tree):
        if isinstance(node, getattr(ast, "NamedExpr", ())):
            return None, "the condition assigns with :="
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)):
            return None, "the condition yields or awaits"
        if isinstance(node, (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
            return None, "the condition makes a function or comprehension of its own"
    return tree.body, None


def condition_compiles_in(text):
    """None when `text` can be compiled into a function, else the reason."""
    return _refused_condition(text)[1]


def _call(func, arg):
    """__import__('sys').modules[<this module>].func(arg)"""
    mods = ast.Attribute(value=ast.Call(func=ast.Name(id="__import__", ctx=ast.Load()),
                                        args=[ast.Constant(value="sys")], keywords=[]),
                         attr="modules", ctx=ast.Load())
    target = ast.Subscript(value=mods, slice=_index(ast.Constant(value=_ME)), ctx=ast.Load())
    return ast.Expr(value=ast.Call(func=ast.Attribute(value=target, attr=func, ctx=ast.Load()),
                                   args=[ast.Constant(value=arg)], keywords=[]))


def _index(node):
    if sys.version_info < (3, 9):
        return ast.Index(value=node)
    return node


def _armed(attr):
    return ast.Attribute(value=ast.Constant(value=_PLACEHOLDER), attr=attr, ctx=ast.Load())


def _inserted(condition, patch=False):
    """The statement for one breakpoint line: a plain hook call, or the condition guarded by try/except:

        try:
            try:
                if <condition>: _hit(<text>)
                elif ARMED.on: _left(None)       # only while the watchdog interrupts some condition
            except Exception: _hit_error(<text>)
        except ARMED.Interrupted: _interrupted(<text>)

    The outer `try` catches the watchdog's interrupt wherever it lands in the inserted code, `_hit_error` included."""
    if condition is None:
        return _call("_hit", None), None
    expr, why = _refused_condition(condition)
    if expr is None:
        return _call("_hit", None), None  # the hook fires on every run of the line; the policy evaluates it
    guard = ast.If(test=expr, body=[_call("_hit", condition)],
                   orelse=[ast.If(test=ast.Name(id=_ARMED_NAME, ctx=ast.Load()) if patch else _armed("on"),
                                  body=[_call("_left", None)], orelse=[])])
    handler = ast.ExceptHandler(type=ast.Name(id="Exception", ctx=ast.Load()), name=None,
                                body=[_call("_hit_error", condition)])
    inner = ast.Try(body=[guard], handlers=[handler], orelse=[], finalbody=[])
    late = ast.ExceptHandler(type=_armed("Interrupted"), name=None, body=[_call("_interrupted", condition)])
    return ast.Try(body=[inner], handlers=[late], orelse=[], finalbody=[]), None


# 3.10+: the compiler gives some jumps of a try statement no line, and a line event follows them when execution
# reaches the next instruction of the same line (tracing would report the breakpoint's line twice). So the inserted
# nodes are compiled on a sentinel line (line + _FAR), and the copy's line table is then rewritten: the sentinel
# becomes the line, and the instructions without a line that follow inserted ones take that line too.
_FAR = 1 << 24 if sys.version_info >= (3, 10) else 0


def _place(node, line):
    for n in ast.walk(node):
        if "lineno" in n._attributes:
            n.lineno = n.end_lineno = line + _FAR
            n.col_offset = n.end_col_offset = 0


# ---- the copy ----

def copy_with_breakpoints(code, points):
    """`code` with a hook at each of `points` ({line: condition text or None}, lines of `code` itself).
    Returns (new code object, None), or (None, why not). A condition that cannot be compiled into this function
    (it would change its variables) gives plain hooks, which leave the condition to the caller."""
    new, why = _copy(code, points, _PATCH_GLOBAL)
    if new is None and why == _NO_PATCH:
        new, why = _copy(code, points, False)
    if new is None and why.startswith("the condition") and any(points.values()):
        new, why = _copy(code, dict.fromkeys(points), False)
    return new, why


def _copy(code, points, patch):
    if not isinstance(code, types.CodeType):
        return None, "not a Python code object"
    if code.co_flags & _NO_RESTART:
        return None, "a generator or coroutine resumes in the code it started with"
    if code.co_name.startswith("<"):
        return None, "%s has no statement list of its own" % code.co_name
    first = code.co_firstlineno
    qualname = getattr(code, "co_qualname", None)
    # the function's top-level statement alone (a guess from indentation) first; the whole module when that guess
    # does not give the running code (a string at column 0 inside it, an import inside an if or try)
    for whole in (False, True):
        found = _module_tree(code.co_filename) if whole else _top_statement(code.co_filename, first)
        if found is None:
            if whole:
                return None, "no source for %s" % code.co_filename
            continue
        tree, futures = found
        top = None
        for stmt in tree.body:
            if _first_line(stmt) <= first <= (getattr(stmt, "end_lineno", None) or first):
                top = stmt
                break
        original = None if top is None else _find_def(top, code.co_name, first)
        if original is None:
            if whole:
                return None, "the source has no function %s on line %d" % (code.co_name, first)
            continue
        path = _path(top, original)
        try:
            plain = _find_code(_compile(_rebuilt(top, path, original), futures, code.co_filename), code.co_name,
                               first, qualname)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            if whole:
                return None, "the source does not compile: %s" % (e,)
            continue
        if any(same_code(c, code) for c in plain):
            break
        if whole:
            return None, "the source on disk does not match the running code"
    fn = copy.deepcopy(original)
    edited = _rebuilt(top, path, fn)
    inserted = []
    body_starts = _first_line(fn.body[0])
    for line in sorted(points, reverse=True):
        if first <= line < body_starts:
            continue  # the def line (decorators, signature): it runs in the code that defines the function
        where, why = _locate(fn.body, line, True)
        if where is None:
            return None, "line %d: %s" % (line, why)
        stmt, why = _inserted(points[line], patch)
        if stmt is None:
            return None, "line %d: %s" % (line, why)
        _place(stmt, line)
        inserted.append((stmt, line))
        body, i = where
        body.insert(i, stmt)
    try:
        made = _find_code(_compile(edited, futures, code.co_filename), code.co_name, first, qualname)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return None, "the condition does not compile here: %s" % (e,)
    if len(made) != 1:
        return None, "the copy cannot be told apart from other functions on line %d" % first
    raw = made[0]
    new = linetable.relined(raw, _FAR)
    if new is None:
        return None, "the copy's line table could not be rewritten"
    for name in ("co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_flags", "co_varnames",
                 "co_freevars", "co_cellvars"):
        if getattr(new, name, None) != getattr(code, name, None):
            return None, "the condition changes the function's %s" % name[3:]
    if _lines(new) != _lines(code):
        return None, "the copy would not start the same lines"
    if _PLACEHOLDER in raw.co_consts:
        region = _region(raw, inserted, edited, futures, code)
        new = new.replace(co_consts=tuple(_ARMED if type(c) is str and c == _PLACEHOLDER else c
                                          for c in new.co_consts))
        if patch:
            new = _armed_list_loads(new)
            if new is None:
                return None, _NO_PATCH
        if region:
            new = linetable.threaded_jumps(new, region)
            watchdog.regions[new] = region
        else:
            _log_region(code)
    return new, None


def _armed_list_loads(code):
    """3.8-3.10: every LOAD_GLOBAL of _ARMED_NAME in `code` made LOAD_CONST of watchdog.ARMED_LIST; None if an
    argument would not fit in one byte."""
    import opcode
    if _ARMED_NAME not in code.co_names:
        return code
    name = code.co_names.index(_ARMED_NAME)
    const = len(code.co_consts)
    if name > 255 or const > 255:
        return None
    raw = bytearray(code.co_code)
    load_global, load_const, extended = (opcode.opmap["LOAD_GLOBAL"], opcode.opmap["LOAD_CONST"],
                                         opcode.opmap["EXTENDED_ARG"])
    for i in range(0, len(raw), 2):
        if raw[i] == load_global and raw[i + 1] == name and (i == 0 or raw[i - 2] != extended):
            raw[i], raw[i + 1] = load_const, const
    return code.replace(co_code=bytes(raw), co_consts=code.co_consts + (watchdog.ARMED_LIST,))


def _log_region(code):
    from longreach import log
    log.get_logger("dap").info("conditions compiled into %s (%s line %d) run without a time budget: the inserted "
                               "code could not be located", code.co_name, code.co_filename, code.co_firstlineno)


def _region(raw, inserted, edited, futures, code):
    """The byte offsets of the inserted instructions in `raw` (the copy before its line table is rewritten), for
    the watchdog to tell a condition's call from the program's own; None if they cannot be told apart."""
    if _FAR:
        return frozenset(o for start, end, line in raw.co_lines() if line is not None and line >= _FAR
                         for o in range(start, end, 2))
    # 3.8, 3.9, PyPy: no sentinel line in the copy; compile it once more with the inserted code on far lines (the
    # bytecode does not depend on line numbers: checked) and read their offsets from that line table
    import dis
    far = max(code_line for _o, code_line in dis.findlinestarts(raw)) + 100000
    for stmt, line in inserted:
        for n in ast.walk(stmt):
            if "lineno" in n._attributes:
                n.lineno = n.end_lineno = line + far
    try:
        shadow = _find_code(_compile(edited, futures, code.co_filename), code.co_name, code.co_firstlineno,
                            getattr(code, "co_qualname", None))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(shadow) != 1 or shadow[0].co_code != raw.co_code:
        return None
    starts = list(dis.findlinestarts(shadow[0])) + [(len(raw.co_code), None)]
    out = set()
    for (start, line), (end, _next) in zip(starts, starts[1:]):
        if line >= far:
            out.update(range(start, end, 2))
    return frozenset(out)


def _lines(code):
    if hasattr(code, "co_lines"):
        return set(line for _s, _e, line in code.co_lines() if line is not None)
    import dis
    return set(line for _o, line in dis.findlinestarts(code))
