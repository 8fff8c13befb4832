"""torch.Tensor (and Parameter, sparse layouts, the meta device, CUDA/MPS tensors).

`Tensor float32 [4096, 1024] cpu 16.8 MB requires_grad grad_fn=AddBackward0`. Nothing here copies a tensor to
the host: a 0-d tensor's value is one scalar (`.item()`); small CPU tensors show their values; statistics are
reduced on the tensor's device (stats.py). Children page along the first axis (views).
"""

from longreach.session.values.registry import (
    STATS_AUTO_ITEMS, Kind, Lazy, by_name, bytes_text, count_text, module_of, shape_text, short_repr,
)
from longreach.session.values.stats import stats_text, torch_stats
from longreach.session.values.numeric import values_text

__all__ = ["TensorKind"]

_SMALL = 10


def _dtype(t):
    return str(t.dtype).replace("torch.", "")


def _layout(t, torch):
    return "" if t.layout == torch.strided else str(t.layout).replace("torch.", "")


@by_name("torch.Tensor", "torch._tensor.Tensor")
class TensorKind(Kind):
    name = "tensor"

    def summary(self, t):
        torch = module_of(t, "torch")
        layout = _layout(t, torch)
        parts = [type(t).__name__, _dtype(t), shape_text(t.shape, "[]"), str(t.device)]
        if layout:
            parts.append(layout)
            try:
                parts.append("nnz=%d" % t._nnz())
            except Exception:
                pass
        n = int(t.numel())
        if not layout and t.dim() > 0:
            parts.append("%s items" % count_text(n))
            parts.append(bytes_text(n * int(t.element_size())))
        if t.requires_grad:
            parts.append("requires_grad")
        fn = t.grad_fn
        if fn is not None:
            parts.append("grad_fn=%s" % type(fn).__name__)
        if t.is_meta:
            return " ".join(parts)
        if not layout:
            if t.dim() == 0:
                parts.append(short_repr(t.item(), 60))  # one scalar, whatever the device
            elif 0 < n <= _SMALL and t.device.type == "cpu":
                parts.append(values_text(t.detach().reshape(-1).tolist()))
            if 0 < n <= STATS_AUTO_ITEMS and t.dim() > 0:
                try:
                    parts.append(stats_text(torch_stats(t, torch)))
                except Exception:
                    pass
        return " ".join(parts)

    def type_name(self, t):
        return "%s %s" % (type(t).__name__, _dtype(t))

    def indexed(self, t):
        torch = module_of(t, "torch")
        if t.dim() == 0 or _layout(t, torch):
            return 0
        return int(t.shape[0])

    def items(self, t, start, stop):
        stop = min(stop, int(t.shape[0]))
        return [(str(i), t[i], "[%d]" % i) for i in range(start, stop)]

    def has_named(self, t):
        return True

    def named(self, t):
        torch = module_of(t, "torch")
        out = [("dtype", t.dtype, ".dtype"), ("shape", tuple(int(d) for d in t.shape), ".shape"),
               ("device", t.device, ".device"), ("requires_grad", bool(t.requires_grad), ".requires_grad")]
        if t.grad_fn is not None:
            out.append(("grad_fn", t.grad_fn, ".grad_fn"))
        if t.grad is not None:
            out.append(("grad", t.grad, ".grad"))
        if not t.is_meta and not _layout(t, torch) and t.numel():
            out.append(("statistics", Lazy(lambda: torch_stats(t, torch)), None))
        if t.dim() == 2:
            out.append(("T", Lazy(lambda: t.T), ".T"))
        return out

    def stats(self, t):
        return torch_stats(t, module_of(t, "torch"))

    def table(self, t, start, rows, columns):
        if t.dim() not in (1, 2):
            return Kind.table(self, t, start, rows, columns)
        if t.is_meta:
            raise LookupError("a tensor on the meta device has no data (only its shape and dtype)")
        total = int(t.shape[0])
        window = t.detach()[start:start + rows]
        if t.dim() == 2:
            window = window[:, :columns]
        values = window.tolist()  # only the window (at most rows x columns values) leaves the device
        if t.dim() == 1:
            cells = [[_cell(x)] for x in values]
            cols, ncols = [""], 1
        else:
            cells = [[_cell(x) for x in row] for row in values]
            cols, ncols = [str(j) for j in range(int(window.shape[1]))], int(t.shape[1])
        labels = [str(i) for i in range(start, start + len(cells))]
        return {"columns": cols, "index": labels, "rows": cells, "totalRows": total, "totalColumns": ncols}


def _cell(x):
    if isinstance(x, float):
        return "%.6g" % x
    return short_repr(x, 40)
