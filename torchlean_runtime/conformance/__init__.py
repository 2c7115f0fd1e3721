"""The conformance kit: what outside implementers call to test an implementation of
``NN.Runtime.Context`` / ``NN.Runtime.Variable`` against the Lean semantics.

* ``target`` — the one target interface (operations over opaque handles, tensors as bit
  patterns, failures as stable codes) and the selectors ``spec | impl | module: | exec: |`` an
  entry point of ``torchlean_runtime.targets`` (docs/conformance.md);
* ``protocol`` — ``torchlean.runtime.protocol.v1``, JSON lines over a runner's stdin/stdout:
  the ``exec:`` client and ``torchlean-rt serve`` (docs/protocol.md);
* ``vectors`` — the ``torchlean.runtime.v1`` trace format, its reader, the deterministic corpus
  generator with its manifest, and the replayer (docs/vectors.md);
* ``attacks`` — the hostile caller's mutation routes;
* ``report_schema_v1.json`` — the JSON Schema of ``replay --json``.

This room depends on ``spec``, ``impl`` and ``errors`` only; the evidence code in ``proofs``
depends on it, never the other way round.
"""
