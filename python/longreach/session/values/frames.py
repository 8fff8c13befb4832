"""pandas: DataFrame, Series, Index.

`DataFrame 5,000,000 rows × 2 columns (a int64, b float64) 80 MB`. Memory is pandas' shallow count (object
columns count their pointers, not the strings). Children page by rows (`iloc` of one row at a time); named
children: columns, dtypes, index, statistics (Series, lazy). Row windows for `table` come from
`iloc[start:stop]` - at most the window's values are read.
"""

from longreach.session.values.registry import (
    Kind, Lazy, Row, by_name, bytes_text, module_of, short_repr,
)
from longreach.session.values.stats import numpy_stats

__all__ = ["FrameKind", "SeriesKind", "IndexKind"]

_SHOWN_COLUMNS = 6


def _memory(obj):
    try:
        m = obj.memory_usage(index=True, deep=False)
        return int(m.sum()) if hasattr(m, "sum") else int(m)
    except Exception:
        return None


def _label(x):
    return x if isinstance(x, str) else short_repr(x, 40)


def _cell(x):
    if isinstance(x, float) or type(x).__name__ in ("float64", "float32", "float16"):
        return "%.6g" % x
    if hasattr(x, "item") and type(x).__module__ == "numpy":
        x = x.item()
    return short_repr(x, 40)


@by_name("pandas.core.frame.DataFrame")
class FrameKind(Kind):
    name = "DataFrame"

    def summary(self, df):
        rows, ncols = df.shape
        cols = df.columns[:_SHOWN_COLUMNS]
        dtypes = df.dtypes.iloc[:_SHOWN_COLUMNS]
        desc = ", ".join("%s %s" % (_label(c), d) for c, d in zip(cols, dtypes))
        if ncols > _SHOWN_COLUMNS:
            desc += ", \u2026"
        text = "%s %s rows \u00d7 %d column%s" % (type(df).__name__, format(int(rows), ","), ncols,
                                                 "" if ncols == 1 else "s")
        if ncols:
            text += " (%s)" % desc
        mem = _memory(df)
        if mem is not None:
            text += " " + bytes_text(mem)
        return text

    def indexed(self, df):
        return int(df.shape[0])

    def items(self, df, start, stop):
        stop = min(stop, int(df.shape[0]))
        labels = df.index[start:stop]
        return [(_label(labels[i - start]), Row(df, i), ".iloc[%d]" % i) for i in range(start, stop)]

    def has_named(self, df):
        return True

    def named(self, df):
        return [("columns", df.columns, ".columns"), ("dtypes", df.dtypes, ".dtypes"), ("index", df.index, ".index"),
                ("shape", tuple(int(x) for x in df.shape), ".shape")]

    def stats(self, df):
        np = module_of(df, "numpy")
        out = {}
        for j in range(min(int(df.shape[1]), 200)):
            col = df.iloc[:, j]
            if getattr(col.dtype, "kind", "O") in "biuf":
                out[_label(df.columns[j])] = numpy_stats(col.to_numpy(copy=False), np)
        if not out:
            raise LookupError("the DataFrame has no numeric columns")
        return {"columns": out}

    def table(self, df, start, rows, columns):
        total, ncols = int(df.shape[0]), int(df.shape[1])
        window = df.iloc[start:start + rows, :columns]
        cols = [_label(c) for c in window.columns]
        index = [_label(x) for x in window.index.tolist()]
        data = [window.iloc[:, j].tolist() for j in range(window.shape[1])]
        cells = [[_cell(data[j][i]) for j in range(len(data))] for i in range(len(index))]
        return {"columns": cols, "index": index, "rows": cells, "totalRows": total, "totalColumns": ncols}


class RowKind(Kind):
    """A row of a DataFrame (registry.Row): `a=1, b=2.5`."""
    name = "row"

    def summary(self, row):
        df, i = row.frame, row.i
        n = int(df.shape[1])
        shown = min(n, _SHOWN_COLUMNS * 2)
        parts = ["%s=%s" % (_label(df.columns[j]), _cell(df.iat[i, j])) for j in range(shown)]
        if n > shown:
            parts.append("\u2026")
        return ", ".join(parts)

    def type_name(self, row):
        return "row"

    def has_named(self, row):
        return True

    def named(self, row):
        df, i = row.frame, row.i
        return [(_label(df.columns[j]), df.iat[i, j], None) for j in range(min(int(df.shape[1]), 1000))]


by_name("longreach.session.values.registry.Row")(RowKind)


@by_name("pandas.core.series.Series")
class SeriesKind(Kind):
    name = "Series"

    def summary(self, s):
        text = "%s %s %s rows" % (type(s).__name__, s.dtype, format(len(s), ","))
        if s.name is not None:
            text += " name=%s" % short_repr(s.name, 40)
        mem = _memory(s)
        if mem is not None:
            text += " " + bytes_text(mem)
        if 0 < len(s) <= 6:
            text += " [%s]" % ", ".join("%s: %s" % (_label(k), _cell(v)) for k, v in zip(s.index, s.tolist()))
        return text

    def type_name(self, s):
        return "%s %s" % (type(s).__name__, s.dtype)

    def indexed(self, s):
        return len(s)

    def items(self, s, start, stop):
        stop = min(stop, len(s))
        labels = s.index[start:stop]
        return [(_label(labels[i - start]), s.iloc[i], ".iloc[%d]" % i) for i in range(start, stop)]

    def has_named(self, s):
        return True

    def named(self, s):
        out = [("dtype", s.dtype, ".dtype"), ("index", s.index, ".index"), ("name", s.name, ".name")]
        if getattr(s.dtype, "kind", "O") in "biuf" and len(s):
            out.append(("statistics", Lazy(lambda: self.stats(s)), None))
        return out

    def stats(self, s):
        if getattr(s.dtype, "kind", "O") not in "biuf":
            raise LookupError("no statistics for dtype %s (only numbers and booleans)" % s.dtype)
        return numpy_stats(s.to_numpy(copy=False), module_of(s, "numpy"))

    def table(self, s, start, rows, columns):
        window = s.iloc[start:start + rows]
        index = [_label(x) for x in window.index.tolist()]
        cells = [[_cell(v)] for v in window.tolist()]
        name = "" if s.name is None else _label(s.name)
        return {"columns": [name], "index": index, "rows": cells, "totalRows": len(s), "totalColumns": 1}


@by_name("pandas.core.indexes.base.Index")
class IndexKind(Kind):
    name = "Index"

    def summary(self, idx):
        text = "%s %s %s entries" % (type(idx).__name__, idx.dtype, format(len(idx), ","))
        if 0 < len(idx) <= 8:
            text += " [%s]" % ", ".join(_label(x) for x in idx.tolist())
        elif len(idx) > 8:
            text += " [%s, \u2026]" % ", ".join(_label(x) for x in idx[:5].tolist())
        return text

    def indexed(self, idx):
        return len(idx)

    def items(self, idx, start, stop):
        stop = min(stop, len(idx))
        return [(str(i), x, "[%d]" % i) for i, x in enumerate(idx[start:stop].tolist(), start)]
