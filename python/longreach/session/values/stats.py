"""Statistics of numeric arrays and tensors - min, max, mean, std, nan and inf counts - computed where the data
lives, a chunk at a time, so no step allocates more than a few MB in the program:

* numpy: a contiguous array is read through a flat view; any other through row groups of at most CHUNK
  elements (their flattening copies at most CHUNK elements).
* torch: the same chunks, reduced on the tensor's own device; only scalars cross to the host (`.item()`), never
  the tensor. The meta device has no data: that is said, not guessed.

Chunks are combined with the parallel variance formula (Chan et al.), in float64 (float32 on MPS).
"""

import math

from longreach.session.values.registry import Kind, by_name, num_text

__all__ = ["numpy_stats", "torch_stats", "stats_text", "Stats", "CHUNK"]

CHUNK = 1 << 18  # elements per step: 2 MB of float64 temporaries


class _Acc(object):
    __slots__ = ("n", "mean", "m2", "lo", "hi", "nan", "inf", "total")

    def __init__(self):
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.lo = self.hi = None
        self.nan = self.inf = self.total = 0

    def add(self, n, mean, m2, lo, hi):
        if n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.m2 = n, mean, m2
        else:
            total = self.n + n
            delta = mean - self.mean
            self.mean += delta * n / total
            self.m2 += m2 + delta * delta * self.n * n / total
            self.n = total
        self.lo = lo if self.lo is None or lo < self.lo else self.lo
        self.hi = hi if self.hi is None or hi > self.hi else self.hi

    def result(self, dtype):
        out = Stats({"dtype": dtype, "count": self.total, "finite": self.n, "min": self.lo, "max": self.hi,
               "mean": self.mean if self.n else None,
               "std": math.sqrt(self.m2 / self.n) if self.n else None,
               "nan": self.nan, "inf": self.inf})
        return out


def _row_groups(a, size_of, rows_of, chunk):
    """Pieces of `a` of at most `chunk` elements, each a view (row groups along the first axis, recursively)."""
    n = size_of(a)
    if n <= chunk or len(a.shape) == 0:
        yield a
        return
    rows = rows_of(a)
    per_row = n // rows if rows else n
    if per_row > chunk:
        for i in range(rows):
            for piece in _row_groups(a[i], size_of, rows_of, chunk):
                yield piece
        return
    step = max(1, chunk // per_row)
    for i in range(0, rows, step):
        yield a[i:i + step]


def numpy_stats(a, np, chunk=CHUNK):
    kind = a.dtype.kind
    if kind not in "biuf":
        raise LookupError("no statistics for dtype %s (only numbers and booleans)" % a.dtype)
    acc = _Acc()
    acc.total = int(a.size)
    if a.flags.c_contiguous or a.flags.f_contiguous:
        flat = a.ravel(order="K")  # a view for a contiguous array
        pieces = (flat[i:i + chunk] for i in range(0, flat.shape[0], chunk))
    else:
        pieces = _row_groups(a, lambda x: x.size, lambda x: x.shape[0], chunk)
    for p in pieces:
        p = p.reshape(-1)
        if p.size == 0:
            continue
        if kind == "f":
            fin = np.isfinite(p)
            if not fin.all():
                bad_nan = int(np.count_nonzero(np.isnan(p)))
                acc.nan += bad_nan
                acc.inf += int(p.size - np.count_nonzero(fin)) - bad_nan
                p = p[fin]
                if p.size == 0:
                    continue
        elif kind == "b":
            p = p.view(np.uint8)
        m = float(p.mean(dtype=np.float64))
        d = p.astype(np.float64) - m
        m2 = float(np.dot(d, d))
        lo, hi = p.min(), p.max()
        acc.add(int(p.size), m, m2, lo.item(), hi.item())
    r = acc.result(str(a.dtype))
    if kind == "b" and r["min"] is not None:
        r["min"], r["max"] = bool(r["min"]), bool(r["max"])
    return r


def torch_stats(t, torch, chunk=CHUNK):
    if t.is_meta:
        raise LookupError("a tensor on the meta device has no data (only its shape and dtype)")
    if t.layout != torch.strided:
        raise LookupError("no statistics for %s tensors (only dense, strided ones)" % str(t.layout).replace(
            "torch.", ""))
    if t.is_complex() or not (t.is_floating_point() or t.dtype == torch.bool or _is_int(t, torch)):
        raise LookupError("no statistics for dtype %s (only numbers and booleans)" % str(t.dtype).replace(
            "torch.", ""))
    t = t.detach()
    acc_dtype = torch.float32 if t.device.type == "mps" else torch.float64
    acc = _Acc()
    acc.total = int(t.numel())
    if t.is_contiguous():
        flat = t.reshape(-1)  # a view
        pieces = (flat[i:i + chunk] for i in range(0, flat.shape[0], chunk))
    else:
        pieces = _row_groups(t, lambda x: x.numel(), lambda x: x.shape[0], chunk)
    floating = t.is_floating_point()
    for p in pieces:
        p = p.reshape(-1)
        if p.numel() == 0:
            continue
        if floating:
            fin = torch.isfinite(p)
            if not bool(fin.all().item()):
                bad_nan = int(torch.isnan(p).sum().item())
                acc.nan += bad_nan
                acc.inf += int(p.numel() - fin.sum().item()) - bad_nan
                p = p[fin]
                if p.numel() == 0:
                    continue
        w = p.to(acc_dtype)
        m = float(w.mean().item())
        d = w - m
        m2 = float((d * d).sum().item())
        acc.add(int(p.numel()), m, m2, p.min().item(), p.max().item())
    return acc.result(str(t.dtype).replace("torch.", ""))


def _is_int(t, torch):
    return t.dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def stats_text(s):
    """'min=0 max=1 mean=0.5 std=0.29', with ' nan=N inf=N' when any."""
    if s.get("finite", 0) == 0:
        text = "no finite values"
    else:
        text = "min=%s max=%s mean=%s std=%s" % (num_text(s["min"]), num_text(s["max"]), num_text(s["mean"]),
                                                 num_text(s["std"]))
    if s.get("nan"):
        text += " nan=%d" % s["nan"]
    if s.get("inf"):
        text += " inf=%d" % s["inf"]
    return text


class Stats(dict):
    """The statistics of one array: a dict, shown as `min=... max=... mean=... std=...`."""


@by_name("longreach.session.values.stats.Stats")
class StatsKind(Kind):
    name = "statistics"
    hint = "virtual"

    def summary(self, s):
        return stats_text(s)

    def type_name(self, s):
        return "statistics"

    def has_named(self, s):
        return True

    def named(self, s):
        return [(k, v, None) for k, v in s.items()]
