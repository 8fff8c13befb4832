"""Array and frame libraries recognised by duck typing (never imported, often not installed): TensorFlow, JAX,
CuPy, dask, xarray, MXNet, polars. A type qualifies when its module belongs to one of those libraries and it has
the attributes read here; the summary reads metadata only (shape, dtype, device, size), never the data.
"""

from longreach.session.values.registry import Kind, by_predicate, bytes_text, count_text, short_repr

__all__ = ["ArrayLikeKind", "PolarsKind"]

_ARRAY_LIBS = ("tensorflow", "jax", "jaxlib", "cupy", "dask", "xarray", "mxnet", "keras")


def _root(t):
    return (getattr(t, "__module__", None) or "").split(".", 1)[0]


def _has(t, *names):
    return all(any(n in c.__dict__ for c in t.__mro__) for n in names)


def _shape(value):
    shape = getattr(value, "shape", None)
    try:
        return tuple(None if d is None else int(d) for d in shape)
    except Exception:
        return None


def _dims(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


@by_predicate(lambda t: _root(t) in _ARRAY_LIBS and _has(t, "shape", "dtype"))
class ArrayLikeKind(Kind):
    name = "array"

    def summary(self, a):
        parts = [type(a).__name__]
        dtype = getattr(a, "dtype", None)
        name = getattr(dtype, "name", None)
        parts.append(str(name if isinstance(name, str) else dtype).replace("<dtype: ", "").rstrip(">"))
        shape = _shape(a)
        if shape is not None:
            parts.append(_dims(shape))
            if None not in shape:
                n = 1
                for d in shape:
                    n *= d
                parts.append("%s items" % count_text(n))
                size = getattr(dtype, "itemsize", None) or getattr(dtype, "size", None)
                if isinstance(size, int) and size > 0:
                    parts.append(bytes_text(n * size))
        dims = getattr(a, "dims", None)  # xarray: named dimensions
        if isinstance(dims, tuple) and dims:
            parts.append("dims=(%s)" % ", ".join(str(d) for d in dims))
        for attr in ("device", "devices"):
            dev = getattr(type(a), attr, None) is not None and getattr(a, attr, None)
            if dev and not callable(dev):
                parts.append(short_repr(str(dev), 40))
                break
        return " ".join(parts)

    def type_name(self, a):
        return "%s.%s" % (_root(type(a)), type(a).__name__)


@by_predicate(lambda t: _root(t) == "polars" and _has(t, "schema", "height", "width"))
class PolarsKind(Kind):
    name = "polars DataFrame"

    def summary(self, df):
        schema = df.schema
        cols = list(schema.items())[:6]
        desc = ", ".join("%s %s" % (k, v) for k, v in cols)
        if df.width > 6:
            desc += ", \u2026"
        text = "%s %s rows \u00d7 %d columns (%s)" % (type(df).__name__, format(int(df.height), ","), df.width,
                                                       desc)
        size = getattr(df, "estimated_size", None)
        if callable(size):
            text += " " + bytes_text(int(size()))
        return text

    def type_name(self, df):
        return "polars.%s" % type(df).__name__
