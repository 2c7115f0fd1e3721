"""The conformance kit: what outside implementers call to test an implementation of
``NN.Runtime.Context`` / ``NN.Runtime.Variable`` against the Lean semantics.

``vectors`` holds the ``torchlean.runtime.v1`` trace format, its reader, the deterministic corpus
generator and the replayer.  This room depends on ``spec``, ``impl`` and ``errors`` only; the
evidence code in ``proofs`` depends on it, never the other way round.
"""
