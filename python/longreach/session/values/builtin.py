"""Python's own binary containers: bytes, bytearray, array.array, memoryview - summarised with their size and
first values, paged by index. Reading one item never copies the buffer.
"""

from longreach.session.values.registry import Kind, by_name, bytes_text, count_text, short_repr

__all__ = ["BytesKind", "ArrayKind", "MemoryviewKind"]

_PREVIEW = 32


@by_name("builtins.bytes", "builtins.bytearray")
class BytesKind(Kind):
    name = "bytes"
    hint = "data"

    def summary(self, b):
        n = len(b)
        head = bytes(b[:_PREVIEW])
        text = repr(head) if type(b) is bytes or n > _PREVIEW else repr(b)
        if n > _PREVIEW:
            return "%s %s bytes %s\u2026" % (type(b).__name__, format(n, ","), text)
        return text

    def indexed(self, b):
        return len(b)

    def items(self, b, start, stop):
        return [(str(i), b[i], "[%d]" % i) for i in range(start, min(stop, len(b)))]


@by_name("array.array")
class ArrayKind(Kind):
    name = "array"

    def summary(self, a):
        n = len(a)
        head = ", ".join(short_repr(x, 24) for x in a[:8])
        more = ", \u2026" if n > 8 else ""
        return "array('%s') %s items %s [%s%s]" % (a.typecode, count_text(n), bytes_text(n * a.itemsize), head, more)

    def indexed(self, a):
        return len(a)

    def items(self, a, start, stop):
        return [(str(i), a[i], "[%d]" % i) for i in range(start, min(stop, len(a)))]


@by_name("builtins.memoryview")
class MemoryviewKind(Kind):
    name = "memoryview"

    def summary(self, m):
        try:
            m.nbytes
        except ValueError:
            return "memoryview (released)"
        shape = "(" + ", ".join(str(d) for d in (m.shape or ())) + ("," if m.ndim == 1 else "") + ")"
        return "memoryview format=%r %s %s%s" % (m.format, shape, bytes_text(m.nbytes),
                                                 "" if m.readonly is False else " readonly")

    def indexed(self, m):
        try:
            return m.shape[0] if m.ndim >= 1 else 0
        except ValueError:
            return 0

    def items(self, m, start, stop):
        if m.ndim != 1:
            return []
        return [(str(i), m[i], "[%d]" % i) for i in range(start, min(stop, m.shape[0]))]
