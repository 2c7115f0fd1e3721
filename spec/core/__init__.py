"""Transcriptions of the parts of ``NN/Spec/Core`` that the runtime modules use."""
