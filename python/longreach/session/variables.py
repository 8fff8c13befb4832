"""Variables: references, paging, and reprs that cannot hurt the session.

* References live until the program resumes (`Refs.clear()`).
* Children are produced page by page with itertools.islice, so the first page of a 10-million-element list or
  dict costs O(page), never O(n). Lengths are reported as indexedVariables / namedVariables.
* Reprs of builtin types are computed here, bounded (strings sliced before repr, containers rendered item by item
  up to a size budget, huge ints summarised). Reprs that run user code (a class's own __repr__) run through
  `runner(fn, timeout)` - on the stopped thread with a deadline - so one that raises, hangs or returns 100 MB
  shows as a short message instead.
"""

import itertools
import time

__all__ = ["Refs", "Renderer", "MAX_REPR"]

MAX_REPR = 512
_SCALARS = (bool, float, complex, type(None))
_CONTAINERS = (list, tuple, dict, set, frozenset)
_USER_REPR_BUDGET = 1.0


class Refs(object):
    def __init__(self):
        self._items = {}
        self._next = 1

    def add(self, kind, obj, expr=None):
        ref = self._next
        self._next += 1
        self._items[ref] = (kind, obj, expr)
        return ref

    def get(self, ref):
        return self._items.get(ref)

    def clear(self):
        self._items.clear()


def _builtin_repr(value, budget, depth=0):
    """Bounded repr of builtin values; None when the value's repr is user code."""
    t = type(value)
    if t is int:
        if value.bit_length() > 4000:
            return "<int of %d bits>" % value.bit_length()
        return repr(value)
    if t in _SCALARS:
        return repr(value)
    if t is str:
        if len(value) > budget:
            return repr(value[:budget]) + "... (%d chars)" % len(value)
        return repr(value)
    if t in (bytes, bytearray):
        if len(value) > budget:
            return repr(value[:budget]) + "... (%d bytes)" % len(value)
        return repr(value)
    if t in _CONTAINERS:
        if depth > 2:
            return "%s(len=%d)" % (t.__name__, len(value))
        if t is dict:
            items = value.items()
        else:
            items = value
        opener, closer = {list: ("[", "]"), tuple: ("(", ")"), dict: ("{", "}"), set: ("{", "}"),
                          frozenset: ("frozenset({", "})")}[t]
        if not value:
            return {set: "set()", frozenset: "frozenset()"}.get(t, opener + closer)
        parts, used = [], len(opener)
        for item in itertools.islice(items, 100):
            if t is dict:
                k = _builtin_repr(item[0], budget // 2, depth + 1) or object.__repr__(item[0])
                v = _builtin_repr(item[1], budget // 2, depth + 1) or _short_default(item[1])
                s = k + ": " + v
            else:
                s = _builtin_repr(item, budget // 2, depth + 1) or _short_default(item)
            used += len(s) + 2
            parts.append(s)
            if used > budget:
                break
        more = len(value) - len(parts)
        text = ", ".join(parts)
        if more > 0:
            text += ", ... (%d more)" % more
        elif t is tuple and len(value) == 1:
            text += ","
        return opener + text + closer
    return None


def _short_default(value):
    """A repr for an element of a container that does not run user code."""
    t = type(value)
    if t.__repr__ is object.__repr__:
        return object.__repr__(value)
    return "<%s object>" % t.__name__


def _truncate(text):
    if not isinstance(text, str):
        return "<__repr__ returned %s, not str>" % type(text).__name__
    if len(text) > MAX_REPR:
        return text[:MAX_REPR] + "... (%d chars)" % len(text)
    return text


class Renderer(object):
    """Turns values into DAP variables. `runner(fn, timeout)` runs user code (reprs, evaluate) safely."""

    def __init__(self, refs, runner):
        self.refs = refs
        self.runner = runner

    # ---- reprs ----
    def reprs(self, values):
        """Reprs of many values; user __repr__s share one deadline."""
        out = [None] * len(values)
        pending = []
        for i, v in enumerate(values):
            r = _builtin_repr(v, MAX_REPR)
            if type(v) is _Unavailable:
                r = v.text
            elif r is None and type(v).__repr__ is object.__repr__:
                r = object.__repr__(v)
            if r is None:
                pending.append(i)
            out[i] = r
        if pending:
            results = {}

            def job():
                deadline = time.monotonic() + _USER_REPR_BUDGET
                for i in pending:
                    if time.monotonic() > deadline:
                        break
                    try:
                        results[i] = _truncate(repr(values[i]))
                    except BaseException as e:  # noqa: B902
                        results[i] = "<repr raised %s: %s>" % (type(e).__name__, _safe_str(e))
            try:
                self.runner(job, _USER_REPR_BUDGET + 0.5)
            except TimeoutError:
                pass
            except BaseException:  # noqa: B902
                pass
            for i in pending:
                out[i] = results.get(i, "<repr took longer than %.1f s>" % _USER_REPR_BUDGET)
        return out

    def repr1(self, value):
        return self.reprs([value])[0]

    # ---- variables ----
    def child_count(self, value):
        """(indexed, named) counts for an expandable value, None otherwise."""
        t = type(value)
        if t in _CONTAINERS or (isinstance(value, _CONTAINERS) and not isinstance(value, (str, bytes))):
            try:
                n = len(value)
            except Exception:
                return None
            return (n, 0) if n else None
        names = _attr_names(value)
        return (0, len(names)) if names else None

    def variable(self, name, value, rep, expr):
        v = {"name": name, "value": rep, "type": type(value).__name__, "variablesReference": 0}
        if expr is not None:
            v["evaluateName"] = expr
        counts = self.child_count(value)
        if counts is not None:
            v["variablesReference"] = self.refs.add("value", value, expr)
            if counts[0]:
                v["indexedVariables"] = counts[0]
            if counts[1]:
                v["namedVariables"] = counts[1]
        return v

    def make(self, pairs):
        """pairs: [(name, value, evaluateName)] -> DAP variables (reprs computed together)."""
        reps = self.reprs([p[1] for p in pairs])
        return [self.variable(n, v, r, e) for (n, v, e), r in zip(pairs, reps)]

    def children(self, value, expr, start, count):
        start = max(0, int(start or 0))
        stop = None if not count else start + int(count)
        t = value
        pairs = []
        if isinstance(t, (list, tuple)):
            end = len(t) if stop is None else min(len(t), stop)
            for i in range(start, end):
                pairs.append((str(i), t[i], "%s[%d]" % (expr, i) if expr else None))
        elif isinstance(t, dict):
            for k, v in itertools.islice(t.items(), start, stop):
                kr = _builtin_repr(k, 100) or _short_default(k)
                pairs.append((kr, v, "%s[%s]" % (expr, kr) if expr and _builtin_repr(k, 100) else None))
        elif isinstance(t, (set, frozenset)):
            for i, v in enumerate(itertools.islice(t, start, stop), start):
                pairs.append(("<%d>" % i, v, None))
        else:
            for n in _attr_names(value)[start:stop]:
                try:
                    v = getattr(value, n)
                except Exception as e:
                    v = _Unavailable("<%s: %s>" % (type(e).__name__, _safe_str(e)))
                pairs.append((n, v, "%s.%s" % (expr, n) if expr else None))
        return self.make(pairs)

    def mapping(self, mapping, start, count, skip=()):
        items = ((k, v) for k, v in mapping.items() if k not in skip)
        stop = None if not count else int(start or 0) + int(count)
        return self.make([(str(k), v, str(k)) for k, v in itertools.islice(items, int(start or 0), stop)])


class _Unavailable(object):
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _safe_str(e):
    try:
        return _truncate(str(e))
    except Exception:
        return "?"


def _attr_names(value):
    """Instance attribute names (its __dict__ and __slots__), never calling __dir__ or properties."""
    names = []
    try:
        d = object.__getattribute__(value, "__dict__")
        if isinstance(d, dict):
            names.extend(k for k in d if isinstance(k, str))
    except Exception:
        pass
    try:
        for klass in type(value).__mro__:
            slots = klass.__dict__.get("__slots__", ())
            if isinstance(slots, str):
                slots = (slots,)
            for s in slots:
                if s not in ("__dict__", "__weakref__") and s not in names:
                    names.append(s)
    except Exception:
        pass
    return sorted(names)
