"""``torchlean_runtime.interop`` — real parameters in and out of a RuntimeContext."""
