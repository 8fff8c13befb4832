"""The table of value kinds and the helpers every kind uses.

A Kind turns one family of objects into DAP material: `summary` (one line), `type_name`, `indexed` (how many
children by index), `items` (a page of them), `named` (a few named children, some lazy), and optionally `stats`
and `table`. Every method receives the object and may run the library's code (shape, dtype, iloc...): the
renderer calls them on the stopped thread under a time budget, never on the agent's own threads.

Kinds are found by the names of the classes in a type's MRO ("numpy.ndarray", "torch.Tensor"), so nothing is
imported to recognise a value; duck-typed kinds (predicates over the type) are asked after the names. The result
is cached per type (weakly: the program's classes are not kept alive).

Users and libraries add their own with `longreach.register_summary` (docs/values.md).
"""

import itertools
import sys
import weakref

__all__ = ["Kind", "Lazy", "Row", "kind_of", "register_summary", "KINDS", "by_name", "by_predicate",
           "count_text", "bytes_text", "num_text", "short_repr", "module_of", "shape_text"]

KINDS = {}          # "module.QualName" -> Kind
_PREDICATES = []    # [(fn(type) -> bool, Kind)] for duck typing
_USER = {}          # "module.QualName" -> Kind, asked before KINDS
_cache = weakref.WeakKeyDictionary()
_NOT_FOUND = object()

# statistics are computed for every summary up to this many elements (cheap: well under a millisecond)
STATS_AUTO_ITEMS = 100000
# children of one unpaged variables request, at most
MAX_PAGE = 1000


class Kind(object):
    """Base of the kinds: the defaults fit an object without children."""
    name = "value"
    hint = "data"

    def summary(self, value):
        raise NotImplementedError

    def type_name(self, value):
        return type(value).__name__

    def indexed(self, value):
        return 0

    def items(self, value, start, stop):
        """[(name, child, expression suffix or None)] for indexes start..stop-1."""
        return []

    def named(self, value):
        """[(name, child or Lazy, expression suffix or None)]."""
        return []

    def has_named(self, value):
        return False

    def stats(self, value):
        raise LookupError("no statistics for %s" % self.type_name(value))

    def table(self, value, start, rows, columns):
        raise LookupError("%s cannot be shown as a table (a DataFrame, a Series or an array of 1 or 2 "
                          "dimensions can)" % self.type_name(value))


class Lazy(object):
    """A child computed only when the client expands it (DAP presentationHint.lazy): statistics, a transpose."""
    __slots__ = ("fn", "label")

    def __init__(self, fn, label="expand to compute"):
        self.fn = fn
        self.label = label

    def __repr__(self):
        return "(%s)" % self.label


class Row(object):
    """Row i of a DataFrame: shown as `col=value, ...`, expanded into its cells (each read with iat, so an int
    column stays an int beside a float one)."""
    __slots__ = ("frame", "i")

    def __init__(self, frame, i):
        self.frame = frame
        self.i = i


def by_name(*names):
    """Class decorator: register a Kind instance for these fully qualified class names."""
    def register(cls):
        k = cls()
        for n in names:
            KINDS[n] = k
        return cls
    return register


def by_predicate(pred):
    def register(cls):
        _PREDICATES.append((pred, cls()))
        return cls
    return register


def _qualname(t):
    try:
        return "%s.%s" % (t.__module__, t.__qualname__)
    except Exception:
        return None


def kind_of(value):
    """The Kind of this value, or None (then it is shown with a bounded repr)."""
    t = type(value)
    try:
        k = _cache.get(t, _NOT_FOUND)
    except TypeError:
        return None
    if k is _NOT_FOUND:
        k = _find(t)
        try:
            _cache[t] = k
        except TypeError:
            pass
    return k


def _find(t):
    try:
        mro = t.__mro__
    except Exception:
        return None
    names = [_qualname(c) for c in mro]
    if _USER:
        for n in names:
            k = _USER.get(n)
            if k is not None:
                return k
    for n in names:
        k = KINDS.get(n)
        if k is not None:
            return k
    for pred, k in _PREDICATES:
        try:
            if pred(t):
                return k
        except Exception:
            continue
    return None


class _UserKind(Kind):
    def __init__(self, summary, children):
        self._summary = summary
        self._children = children

    def summary(self, value):
        text = self._summary(value)
        if not isinstance(text, str):
            raise TypeError("the summary function returned %s, not str" % type(text).__name__)
        return text

    def has_named(self, value):
        return self._children is not None

    def named(self, value):
        out = []
        for pair in itertools.islice(self._children(value), MAX_PAGE):
            name, child = pair
            out.append((str(name), child, None))
        return out


def register_summary(target, summary, children=None):
    """Show objects of `target` (a class, or "module.QualName") with `summary(obj) -> str`; `children(obj)`
    optionally yields (name, value) pairs to expand. Subclasses match too; later registrations win."""
    if isinstance(target, type):
        name = _qualname(target)
    elif isinstance(target, str) and "." in target:
        name = target
    else:
        raise TypeError("register_summary: target must be a class or a 'module.QualName' string, got %r"
                        % (target,))
    if not callable(summary):
        raise TypeError("register_summary: summary must be callable (obj -> str)")
    if children is not None and not callable(children):
        raise TypeError("register_summary: children must be callable (obj -> iterable of (name, value)) or None")
    _USER[name] = _UserKind(summary, children)
    _cache.clear()


# ---- formatting ----
def count_text(n):
    """60466176 -> '60.5M'; small counts as they are."""
    if n < 10000:
        return str(n)
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            x = n / div
            return ("%.3g" % x) + unit if x < 1000 else ("%d" % x) + unit
    return str(n)


def bytes_text(n):
    """Decimal units, three significant digits: 241864704 -> '242 MB'."""
    if n < 1000:
        return "%d B" % n
    for unit, div in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return ("%.3g %s" % (n / div, unit))
    return "%d B" % n


def num_text(x):
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x) if abs(x) < 10 ** 15 else "%.4g" % x
    if isinstance(x, float):
        if x != x:
            return "nan"
        return "%.4g" % x
    return short_repr(x, 40)


def shape_text(shape, brackets="()"):
    dims = ", ".join(str(int(d)) for d in shape)
    if brackets == "()" and len(shape) == 1:
        dims += ","
    return brackets[0] + dims + brackets[1]


def short_repr(x, limit=60):
    """repr of a small builtin value (cells, labels, scalars), cut to `limit`."""
    t = type(x)
    if t is str:
        x = x[:limit + 2]
    try:
        text = repr(x)
    except Exception:
        text = "<%s>" % t.__name__
    if len(text) > limit:
        text = text[:limit - 1] + "\u2026"
    return text


def module_of(value, name):
    """The program's copy of library `name` (numpy, torch, pandas), which made `value`; never imported here."""
    mod = sys.modules.get(name)
    if mod is None:
        raise LookupError("%s is not imported by the program" % name)
    return mod
