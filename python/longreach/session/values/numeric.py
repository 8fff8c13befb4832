"""numpy: arrays (ndarray and subclasses: matrix, memmap, masked arrays) and numpy scalars.

`ndarray float32 (6, 6, 6, 6, 6, 6, 6, 6, 6, 6) 60.5M items 242 MB`; up to 10 items also show their values,
up to STATS_AUTO_ITEMS also their statistics. Children page along the first axis (views, never copies); named
children: dtype, shape, statistics (lazy), T (lazy).
"""

from longreach.session.values.registry import (
    STATS_AUTO_ITEMS, Kind, Lazy, by_name, bytes_text, count_text, module_of, shape_text, short_repr,
)
from longreach.session.values.stats import numpy_stats, stats_text

__all__ = ["ArrayKind", "dtype_text", "values_text"]

_SMALL = 10


def dtype_text(dt):
    if dt.fields is not None or dt.subdtype is not None:
        text = str(dt)
        return text if len(text) <= 80 else text[:79] + "\u2026"
    return dt.name


def values_text(items):
    """A bounded repr of a short list of values (tolist() of at most _SMALL items)."""
    parts = [short_repr(x, 24) for x in items]
    text = ", ".join(parts)
    return "[" + text + "]"


def _auto_stats(a, np):
    if a.size == 0 or a.size > STATS_AUTO_ITEMS or a.dtype.kind not in "biuf":
        return None
    try:
        return stats_text(numpy_stats(a, np))
    except Exception:
        return None


@by_name("numpy.ndarray")
class ArrayKind(Kind):
    name = "ndarray"

    def summary(self, a):
        np = module_of(a, "numpy")
        parts = [type(a).__name__, dtype_text(a.dtype), shape_text(a.shape)]
        if a.ndim == 0:
            parts.append(short_repr(a.item(), 80) if a.dtype.kind != "O" else "<object>")
            return " ".join(parts)
        parts.append("%s items" % count_text(int(a.size)))
        parts.append(bytes_text(int(a.nbytes)))
        if 0 < a.size <= _SMALL and a.dtype.kind not in "OV":
            parts.append(values_text(a.reshape(-1).tolist()))
        s = _auto_stats(a, np)
        if s:
            parts.append(s)
        return " ".join(parts)

    def type_name(self, a):
        return "%s %s" % (type(a).__name__, dtype_text(a.dtype))

    def indexed(self, a):
        return int(a.shape[0]) if a.ndim > 0 else 0

    def items(self, a, start, stop):
        stop = min(stop, int(a.shape[0]))
        return [(str(i), a[i], "[%d]" % i) for i in range(start, stop)]

    def has_named(self, a):
        return True

    def named(self, a):
        np = module_of(a, "numpy")
        out = [("dtype", a.dtype, ".dtype"), ("shape", tuple(a.shape), ".shape")]
        if a.dtype.kind in "biuf" and a.size:
            out.append(("statistics", Lazy(lambda: numpy_stats(a, np)), None))
        if a.ndim >= 2:
            out.append(("T", Lazy(lambda: a.T), ".T"))
        return out

    def stats(self, a):
        return numpy_stats(a, module_of(a, "numpy"))

    def table(self, a, start, rows, columns):
        if a.ndim not in (1, 2):
            return Kind.table(self, a, start, rows, columns)
        total = int(a.shape[0])
        window = a[start:start + rows]
        if a.ndim == 1:
            cols = [""]
            cells = [[_cell(x)] for x in window.tolist()] if window.dtype.kind != "O" else [
                [_cell(x)] for x in window]
            ncols = 1
        else:
            ncols = int(a.shape[1])
            window = window[:, :columns]
            cols = [str(j) for j in range(window.shape[1])]
            cells = [[_cell(x) for x in row] for row in window.tolist()]
        labels = [str(i) for i in range(start, start + len(cells))]
        return {"columns": cols, "index": labels, "rows": cells, "totalRows": total, "totalColumns": ncols}


def _cell(x):
    if isinstance(x, float):
        return "%.6g" % x
    return short_repr(x, 40)


@by_name("numpy.generic")
class ScalarKind(Kind):
    """numpy scalars (float32, int64, datetime64, void records...): `float32 1.5`."""
    name = "numpy scalar"

    def summary(self, x):
        dt = x.dtype
        if dt.kind == "V" and dt.fields is not None:
            return "%s %s" % (dtype_text(dt), short_repr(x.item(), 200))
        return "%s %s" % (dt.name, short_repr(x.item(), 200))

    def type_name(self, x):
        return type(x).__name__
