"""``torchlean_runtime.impl`` — the optimized numpy implementation of TorchLean's runtime layer
(``NN.Runtime.Context`` and ``NN.Runtime.Variable``), observationally identical to the spec.

* :class:`RuntimeContext` — persistent hashed registries of read-only numpy arrays.
* :class:`Variable` — an immutable variable record; bit-exact ``accumulate_gradient`` and
  ``variable_norm``.
* :func:`to_spec` / :func:`from_spec` — the abstraction function and its inverse.
* :func:`tensor_to_spec` / :func:`tensor_from_spec` — one array ↔ one spec ``Tensor`` (Lean
  ``Spec.Tensor α s``), bit for bit: float64 ↔ Float, float32 ↔ IEEE32Exec, int64 ↔ Int.
* ``RuntimeContext.variable_entries`` / ``gradient_entries`` (every entry, newest first) and
  ``visible_variables`` / ``visible_gradients`` (newest per name, a plain dict) read a context.
* :func:`shape_eq` / ``ShapeEq`` — shape-equality evidence for :meth:`Variable.cast_shape`.

Checking modes: plain input checks always run; icontract preconditions run unless Python is
started with ``-O``; refinement postconditions run when ``TORCHLEAN_RT_CHECK=refine`` is set
before the first import (see ``contracts.py``).
"""

from torchlean_runtime.spec.core.shape import ShapeEq

from .abstraction import from_spec, tensor_from_spec, tensor_to_spec, to_spec
from .arrays import ALPHA_OF_DTYPE, DTYPE_OF_ALPHA
from .context import RuntimeContext
from .contracts import CHECK_ENV_VAR, REFINE
from .variable import Variable, shape_eq

__all__ = [
    "RuntimeContext",
    "Variable",
    "to_spec",
    "from_spec",
    "tensor_to_spec",
    "tensor_from_spec",
    "shape_eq",
    "ShapeEq",
    "ALPHA_OF_DTYPE",
    "DTYPE_OF_ALPHA",
    "REFINE",
    "CHECK_ENV_VAR",
]
