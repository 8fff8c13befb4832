"""Breakpoint registry: one per debug session (no class-level state).

Holds line breakpoints (condition, hitCondition, logMessage) per client source, function breakpoints and exception
filters; resolves client paths through a PathResolver, snaps lines to the next line that has code, and answers the
tracer's questions (which lines of which files; should this hit stop). Knows nothing of the wire: it returns DAP
breakpoint dicts and takes callables for log output.
"""

import linecache
import os
import re
import threading

from longreach.tracer import watchdog
from longreach.session.capabilities import EXCEPTION_FILTERS
from longreach.tracer.base import canon, code_lines

__all__ = ["Registry", "parse_hit_condition", "EXCEPTION_FILTERS"]

_HIT = re.compile(r"^\s*(==|>=|<=|>|<|%)?\s*(\d+)\s*$")
_SNAP_LIMIT = 20


def parse_hit_condition(text):
    """'5', '==5', '>=5', '>5', '<5', '<=5', '%5' -> predicate(hits); ValueError with advice otherwise."""
    m = _HIT.match(text or "")
    if not m:
        raise ValueError("hit condition %r is not understood; use a number, or ==N, >N, >=N, <N, <=N, %%N" % text)
    op, n = m.group(1) or "==", int(m.group(2))
    if op == "%" and n == 0:
        raise ValueError("hit condition %%0 divides by zero")
    return {"==": lambda h: h == n, ">=": lambda h: h >= n, ">": lambda h: h > n, "<": lambda h: h < n,
            "<=": lambda h: h <= n, "%": lambda h: h % n == 0}[op]


def _compile_log(message):
    """'x is {x}' -> [(text, None), (None, code of x)]; '{{' and '}}' are literal braces."""
    parts, i, buf = [], 0, ""
    while i < len(message):
        c = message[i]
        if message.startswith("{{", i) or message.startswith("}}", i):
            buf += c
            i += 2
        elif c == "{":
            j = message.find("}", i)
            if j < 0:
                raise ValueError("log message has an unclosed {")
            if buf:
                parts.append((buf, None))
                buf = ""
            expr = message[i + 1:j].strip()
            parts.append((expr, compile(expr, "<log message>", "eval")))
            i = j + 1
        else:
            buf += c
            i += 1
    if buf:
        parts.append((buf, None))
    return parts


class LineBreakpoint(object):
    """condition: code compiled when set (eval mode); hit: predicate of the hit count; log: _compile_log parts."""
    __slots__ = ("id", "client_path", "requested_line", "line", "file", "condition", "condition_text", "hit",
                 "log", "hits", "verified", "message")

    def to_dap(self, source):
        d = {"id": self.id, "verified": self.verified, "line": self.line, "source": source}
        if self.message:
            d["message"] = self.message
        return d


class FunctionBreakpoint(object):
    __slots__ = ("id", "name", "condition", "hit", "log", "hits")

    def __init__(self, bp_id, name):
        self.id, self.name = bp_id, name
        self.condition = self.hit = self.log = None
        self.hits = 0


_NO_LINES = {}


def executable_lines(path):
    """Line numbers of `path` that can produce line events (nested code included), or None if unreadable."""
    try:
        if os.path.isfile(path):
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        else:
            text = "".join(linecache.getlines(path))
    except (OSError, ValueError):
        return None
    if not text:
        return None
    try:
        code = compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    lines, todo = set(), [code]
    while todo:
        c = todo.pop()
        lines.update(code_lines(c))
        todo.extend(k for k in c.co_consts if hasattr(k, "co_code"))
    return lines


class Registry(object):
    def __init__(self, resolver):
        self.resolver = resolver
        self._lock = threading.Lock()
        self._by_source = {}      # client path -> [LineBreakpoint]
        self._by_location = {}    # (canon file, line) -> [LineBreakpoint]
        self._by_file = {}        # canon file -> {line: (LineBreakpoint, ...)}
        self._by_code_file = {}   # co_filename as the code object spells it -> the same {line: (...)}, filled by at()
        self._functions = []      # [FunctionBreakpoint]
        self.exception_filters = frozenset()
        self._next_id = 1
        self._exe_cache = {}

    def _new_id(self):
        i = self._next_id
        self._next_id += 1
        return i

    # ---- line breakpoints ----
    def set_source(self, client_path, specs):
        """Replace every breakpoint of one client source; returns the LineBreakpoint list (in request order)."""
        remote, why, note = self.resolver.resolve(client_path)
        bps = []
        for spec in specs:
            bp = LineBreakpoint()
            bp.id = self._new_id()
            bp.client_path = client_path
            bp.requested_line = bp.line = int(spec.get("line", 0))
            bp.file = None
            bp.condition = bp.hit = bp.log = bp.condition_text = None
            bp.hits = 0
            bp.verified = False
            bp.message = None
            try:
                if spec.get("condition"):
                    bp.condition = compile(spec["condition"], "<condition>", "eval")
                    bp.condition_text = spec["condition"]
                if spec.get("hitCondition"):
                    bp.hit = parse_hit_condition(spec["hitCondition"])
                if spec.get("logMessage"):
                    bp.log = _compile_log(spec["logMessage"])
            except SyntaxError as e:
                bp.message = "condition or log message is not valid Python: %s" % (e.msg,)
            except ValueError as e:
                bp.message = str(e)
            if bp.message is None:
                if remote is None:
                    bp.message = why
                elif self._place(bp, remote) and note:
                    bp.message = note  # several files matched: say which one the breakpoint is in
            bps.append(bp)
        with self._lock:
            self._by_source[client_path] = bps
            self._reindex()
        return bps

    def _place(self, bp, remote):
        lines = self._exe_cache.get(remote)
        if lines is None:
            lines = self._exe_cache[remote] = executable_lines(remote) or ()
        bp.file = remote
        if not lines or bp.requested_line in lines:
            bp.verified = True
            bp.message = None
            return True
        later = [n for n in lines if bp.requested_line < n <= bp.requested_line + _SNAP_LIMIT]
        if later:
            bp.line = min(later)
            bp.verified = True
            bp.message = None
            return True
        bp.file = None
        bp.message = "line %d of %s has no code" % (bp.requested_line, os.path.basename(remote))
        return False

    def _reindex(self):
        loc, by_file = {}, {}
        for bps in self._by_source.values():
            for bp in bps:
                if bp.verified and bp.file is not None:
                    loc.setdefault((bp.file, bp.line), []).append(bp)
        for (f, line), bps in loc.items():
            by_file.setdefault(f, {})[line] = tuple(bps)
        # at() reads these without the lock: whole new dicts, the file index before the cache built from it
        self._by_location = loc
        self._by_file = by_file
        self._by_code_file = {}

    def lines_by_file(self):
        out = {}
        for (f, line) in self._by_location:
            out.setdefault(f, set()).add(line)
        return out

    def conditions_by_file(self):
        """{file: {line: condition text}} for the lines where every breakpoint has the same condition: the tracer
        compiles it into the code, so the line costs that condition until it is true (others are evaluated when
        the line's hook fires)."""
        out = {}
        for (f, line), bps in self._by_location.items():
            texts = set(bp.condition_text for bp in bps)
            if len(texts) == 1:
                text = texts.pop()
                if text:
                    out.setdefault(f, {})[line] = text
        return out

    def runs_user_code(self):
        """True when some breakpoint has a condition or a log message (user code that runs under a budget)."""
        return any(bp.condition is not None or bp.log is not None for bps in self._by_source.values() for bp in bps) \
            or any(e.condition is not None for e in self._functions)

    def has_unverified(self):
        return any(not bp.verified and bp.file is None and "loaded" in (bp.message or "")
                   for bps in self._by_source.values() for bp in bps)

    def file_loaded(self, remote_file):
        """A new file's code ran: place waiting breakpoints that name it; returns the ones now verified."""
        changed = []
        with self._lock:
            for client_path, bps in self._by_source.items():
                waiting = [bp for bp in bps if not bp.verified and bp.file is None and "loaded" in (bp.message or "")]
                if waiting and self.resolver.match_new_file(client_path, remote_file):
                    for bp in waiting:
                        if self._place(bp, remote_file):
                            changed.append(bp)
            if changed:
                self._reindex()
        return changed

    def at(self, frame):
        """The breakpoints on the line `frame` is at (called on every hit: two dict look-ups)."""
        by_code_file = self._by_code_file
        lines = by_code_file.get(frame.f_code.co_filename)
        if lines is None:
            name = frame.f_code.co_filename
            lines = by_code_file[name] = self._by_file.get(canon(name), _NO_LINES)
        return lines.get(frame.f_lineno, ())

    def all_line_breakpoints(self):
        return [bp for bps in self._by_source.values() for bp in bps]

    # ---- function breakpoints ----
    def set_functions(self, specs):
        """[(name, verified, message)] in request order."""
        funcs, out = [], []
        for spec in specs:
            name = spec.get("name") or ""
            entry = FunctionBreakpoint(self._new_id(), name)
            msg = None
            try:
                if not name.strip():
                    raise ValueError("function breakpoint needs a function name")
                if spec.get("condition"):
                    entry.condition = compile(spec["condition"], "<condition>", "eval")
                if spec.get("hitCondition"):
                    entry.hit = parse_hit_condition(spec["hitCondition"])
            except SyntaxError as e:
                msg = "condition is not valid Python: %s" % (e.msg,)
            except ValueError as e:
                msg = str(e)
            if msg is None:
                funcs.append(entry)
            out.append({"id": entry.id, "verified": msg is None, "message": msg} if msg else
                       {"id": entry.id, "verified": True})
        self._functions = funcs
        return out

    def function_names(self):
        return set(e.name.strip() for e in self._functions)

    def functions_at(self, code):
        names = (code.co_name, getattr(code, "co_qualname", None))
        return [e for e in self._functions if e.name.strip() in names]

    # ---- exceptions ----
    def set_exception_filters(self, filters):
        known = set(f["filter"] for f in EXCEPTION_FILTERS)
        bad = [f for f in filters if f not in known]
        if bad:
            raise ValueError("unknown exception filter %s; known filters: %s" % (
                ", ".join(map(repr, bad)), ", ".join(sorted(known))))
        self.exception_filters = frozenset(filters)


def should_stop(bp, frame, emit_log, condition_error, known=None):
    """Apply condition, hit count and log message of one breakpoint (a LineBreakpoint or a FunctionBreakpoint)
    at `frame`; True when the thread should stop. emit_log(text) sends a log message; condition_error(text)
    reports a condition that raised (the thread then stops, so the user sees it). known: the condition's outcome
    when compiled code already evaluated it (True, or the exception it raised), None to evaluate it here.

    Runs on every hit of the line, so a false condition costs one eval of the code compiled when the breakpoint
    was set, in the frame's globals and f_locals (a snapshot refreshed on each access before 3.13, a live view
    since PEP 667: either way the current values)."""
    cond = bp.condition
    if known is None and cond is not None:
        value, error = watchdog.run(_truth, cond, frame)
        if error is None and not value:
            return False
        known = True if error is None else error
    if known is not None and cond is not None and known is not True:
        if isinstance(known, watchdog.ConditionTimeout):
            condition_error(str(known))
        else:
            condition_error("breakpoint condition raised %s: %s" % (type(known).__name__, known))
        return True
    bp.hits += 1
    hit = bp.hit
    if hit is not None and not hit(bp.hits):
        return False
    log = bp.log
    if log is not None:
        emit_log(_format_log(log, frame))
        return False
    return True


def _truth(code, frame):
    return bool(eval(code, frame.f_globals, frame.f_locals))


def _text(code, frame):
    return str(eval(code, frame.f_globals, frame.f_locals))


def _format_log(parts, frame):
    out = []
    for text, code in parts:
        if code is None:
            out.append(text)
        else:
            value, error = watchdog.run(_text, code, frame)
            if error is None:
                out.append(value)
            elif isinstance(error, watchdog.ConditionTimeout):
                out.append("<%s>" % watchdog.ConditionTimeout(error.budget, "log message expression {%s}" % text))
            else:
                out.append("<%s: %s>" % (type(error).__name__, error))
    return "".join(out) + "\n"
