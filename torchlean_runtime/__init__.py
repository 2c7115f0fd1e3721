"""torchlean-runtime: a verification-oriented Python reference implementation of TorchLean's
runtime layer (``NN.Runtime.Context`` and ``NN.Runtime.Variable``).

* ``torchlean_runtime.spec``   — the executable specification (Lean names, pure, slow on purpose)
* ``torchlean_runtime.impl``   — the optimized numpy implementation
* ``torchlean_runtime.proofs`` — the evidence that impl refines spec
"""

__version__ = "0.1.0"
