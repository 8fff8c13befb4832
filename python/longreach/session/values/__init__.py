"""Summaries of data values: one line from an object's metadata, children a page at a time, statistics where
the data lives, row windows - never a full repr of a big object.

registry   the table of kinds (type -> Kind), the user's extension point, number/size formatting
numeric    numpy arrays and scalars                 torchkind  torch.Tensor (Parameter, sparse, meta, CUDA)
frames     pandas DataFrame, Series, Index          duck       TensorFlow, JAX, CuPy, xarray, polars, dask
builtin    bytes, bytearray, array.array, memoryview
stats      min/max/mean/std/nan/inf in chunks of a few MB (numpy on the host, torch on the tensor's device)

The agent never imports numpy, torch or pandas: a kind matches a type by the names in its MRO, and the library
module is taken from sys.modules when an operation needs it (the program has imported it: it made the object).
"""

from longreach.session.values.registry import (  # noqa: F401
    Kind, Lazy, Row, kind_of, register_summary,
)
from longreach.session.values import numeric, torchkind, frames, duck, builtin  # noqa: F401  (register kinds)

__all__ = ["Kind", "Lazy", "Row", "kind_of", "register_summary"]
