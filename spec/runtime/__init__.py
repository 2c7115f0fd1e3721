"""Transcriptions of ``NN/Runtime/Context.lean`` and ``NN/Runtime/Variable.lean``."""
