"""Variables: references, paging, and reprs that cannot hurt the session.

* References live until the program resumes (`Refs.clear()`).
* Children are produced page by page with itertools.islice, so the first page of a 10-million-element list or
  dict costs O(page), never O(n); a request without a count gets at most MAX_PAGE (1000) children. Lengths
  are reported as indexedVariables.
* Data values (numpy, torch, pandas, ... see session/values/) get a one-line summary from their metadata and
  children a page at a time; never a full repr.
* Reprs of builtin types are computed here, bounded (strings sliced before repr, containers rendered item by item
  up to a size budget, huge ints summarised). Reprs that run user code (a class's own __repr__, __len__, a
  summary) run through `runner(fn, timeout)` - on the stopped thread under a budget, interrupted past it - so
  one that raises, hangs or returns 100 MB shows as a short message instead.
"""

import gc
import itertools
import time

from longreach.session.budget import BudgetExceeded
from longreach.session.values import Lazy, kind_of
from longreach.session.values.registry import MAX_PAGE

__all__ = ["Refs", "Renderer", "MAX_REPR", "PAGE"]

# children of a summarised value (array, tensor, DataFrame) per unpaged request
PAGE = 100

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
    """Turns values into DAP variables. `runner(fn, timeout)` runs user code on the stopped thread under a
    budget (session/budget.py): reprs, summaries, lengths and children of anything but exact builtin types."""

    def __init__(self, refs, runner):
        self.refs = refs
        self.runner = runner

    # ---- one line per value ----
    def describe(self, values):
        """[(text, type name, indexed count, named count (-1: some), presentationHint or None)] for `values`; the
        program's code for all of them runs in one job per budget (a value that overruns is skipped)."""
        out = [None] * len(values)
        pending = []
        for i, v in enumerate(values):
            t = type(v)
            if t is _Unavailable:
                out[i] = (v.text, "", 0, 0, None)
            elif t is Lazy:
                out[i] = ("(%s)" % v.label, "", 0, 0, {"kind": "virtual", "lazy": True})
            elif kind_of(v) is not None:
                pending.append(i)
            else:
                text = _builtin_repr(v, MAX_REPR)
                if text is not None:
                    out[i] = (text, t.__name__, len(v) if t in _CONTAINERS else 0, 0, None)
                elif t.__repr__ is object.__repr__ and not isinstance(v, _CONTAINERS):
                    out[i] = (object.__repr__(v), t.__name__, 0, len(_attr_names(v)), None)
                else:
                    pending.append(i)
        overruns = 0
        while pending:
            progress = [0]

            @_no_collection
            def job(todo=pending, progress=progress):
                deadline = time.monotonic() + _USER_REPR_BUDGET
                for n, i in enumerate(todo):
                    progress[0] = n
                    if time.monotonic() > deadline:
                        return
                    out[i] = _describe_one(values[i])
                progress[0] = len(todo)
            try:
                self.runner(job, _USER_REPR_BUDGET)
                pending = [i for i in pending[progress[0]:] if out[i] is None]
                if pending:  # the job's own deadline passed: the rest show that
                    _fill(out, pending, "<not shown: the values before it used the %g s budget>" % _USER_REPR_BUDGET)
                    break
            except BudgetExceeded as e:
                stuck = pending[min(progress[0], len(pending) - 1)]
                if not e.interrupted:
                    _fill(out, pending, "<not shown: %s>" % e)
                    break
                out[stuck] = ("<not shown: its repr ran past the %g s budget and was interrupted>"
                              % _USER_REPR_BUDGET, type(values[stuck]).__name__, 0, 0, None)
                overruns += 1
                pending = [i for i in pending if out[i] is None]
                if overruns >= 3:
                    _fill(out, pending, "<not shown: three reprs before it ran past their budget>")
                    break
            except BaseException as e:  # noqa: B902 - a fault of the agent's own: every value still gets a line
                _fill(out, pending, "<not shown: %s: %s>" % (type(e).__name__, _safe_str(e)))
                break
        return out

    def reprs(self, values):
        return [d[0] for d in self.describe(values)]

    def repr1(self, value):
        return self.describe([value])[0][0]

    # ---- variables ----
    def variable(self, name, value, info, expr):
        text, tname, indexed, named, hint = info
        v = {"name": name, "value": text, "type": tname, "variablesReference": 0}
        if expr is not None:
            v["evaluateName"] = expr
        if hint is not None:
            v["presentationHint"] = hint
        if type(value) is Lazy:
            v["variablesReference"] = self.refs.add("lazy", (name, value), expr)
        elif indexed or named:
            v["variablesReference"] = self.refs.add("value", value, expr)
            if indexed:
                v["indexedVariables"] = indexed
            if named > 0:
                v["namedVariables"] = named
        return v

    def make(self, pairs):
        """pairs: [(name, value, evaluateName)] -> DAP variables (described together)."""
        infos = self.describe([p[1] for p in pairs])
        return [self.variable(n, v, i, e) for (n, v, e), i in zip(pairs, infos)]

    def children(self, value, expr, start, count, flt=None):
        start = max(0, int(start or 0))
        k = kind_of(value)
        if k is not None:
            pairs = self.runner(_no_collection(lambda: _kind_children(k, value, expr, start, count, flt)),
                                _USER_REPR_BUDGET)
            return self.make(pairs)
        indexed = type(value) in _CONTAINERS or isinstance(value, _CONTAINERS)
        if (flt == "named" and indexed) or (flt == "indexed" and not indexed):
            return []
        stop = start + int(count) if count else start + MAX_PAGE
        if type(value) not in _CONTAINERS:
            pairs = self.runner(lambda: _plain_children(value, expr, start, stop), _USER_REPR_BUDGET)
        else:
            pairs = _plain_children(value, expr, start, stop)
        return self.make(pairs)

    def lazy(self, name, lazy, expr, budget):
        """The one child of a lazy variable: `lazy.fn()` computed now (statistics, a transpose)."""
        value = self.runner(lazy.fn, budget)
        return self.make([(name, value, expr)])

    def mapping(self, mapping, start, count, skip=()):
        items = ((k, v) for k, v in mapping.items() if k not in skip)
        stop = int(start or 0) + int(count) if count else None
        return self.make([(str(k), v, str(k)) for k, v in itertools.islice(items, int(start or 0), stop)])


def _no_collection(fn):
    """fn with the cyclic garbage collector paused: the few objects a summary makes would otherwise trigger a full
    collection of the program's heap now and then (400 ms beside a 10M-item list), a cost that belongs to the
    program's own next allocation. Restored as it was, whatever fn does."""
    def run(*args, **kwargs):
        was = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was:
                gc.enable()
    return run


def _fill(out, indexes, text):
    for i in indexes:
        if out[i] is None:
            out[i] = (text, "", 0, 0, None)


def _describe_one(v):
    """Runs on the stopped thread: the program's code (summaries, __repr__, __len__) may run here."""
    k = kind_of(v)
    if k is not None:
        try:
            text = k.summary(v)
            if not isinstance(text, str):
                text = "<summary was %s, not str>" % type(text).__name__
            elif len(text) > MAX_REPR * 2:
                text = text[:MAX_REPR * 2] + "\u2026"
        except Exception as e:
            text = "<summary failed: %s: %s>" % (type(e).__name__, _safe_str(e))
        try:
            tname = k.type_name(v)
        except Exception:
            tname = type(v).__name__
        try:
            indexed = int(k.indexed(v))
        except Exception:
            indexed = 0
        try:
            named = -1 if k.has_named(v) else 0
        except Exception:
            named = 0
        return (text, tname, indexed, named, {"kind": k.hint} if k.hint else None)
    try:
        text = _builtin_repr(v, MAX_REPR)
        if text is None:
            text = _truncate(repr(v))
    except Exception as e:
        text = "<repr raised %s: %s>" % (type(e).__name__, _safe_str(e))
    indexed = 0
    if isinstance(v, _CONTAINERS):
        try:
            indexed = len(v)
        except Exception:
            indexed = 0
    named = 0 if isinstance(v, _CONTAINERS) else len(_attr_names(v))
    return (text, type(v).__name__, indexed, named, None)


def _kind_children(k, value, expr, start, count, flt):
    pairs = []
    join = (lambda suffix: expr + suffix if expr and suffix else None)
    if flt != "indexed" and (start == 0 or flt == "named") and k.has_named(value):
        pairs.extend((n, v, join(s)) for n, v, s in k.named(value))
    if flt != "named":
        n = k.indexed(value)
        stop = min(n, start + int(count) if count else start + PAGE)
        pairs.extend((name, v, join(s)) for name, v, s in k.items(value, start, stop))
    return pairs


def _plain_children(t, expr, start, stop):
    pairs = []
    if isinstance(t, (list, tuple)):
        end = min(len(t), stop)
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
        for n in _attr_names(t)[start:stop]:
            try:
                v = getattr(t, n)
            except Exception as e:
                v = _Unavailable("<%s: %s>" % (type(e).__name__, _safe_str(e)))
            pairs.append((n, v, "%s.%s" % (expr, n) if expr else None))
    return pairs


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
