"""torchlean_runtime/conformance/vectors/fuzz_reader.py — hostile documents: only TraceFormatError/TraceLimitError escape
the reader, every document is handled within the time bound, accepted traces replay on the spec
without crashing, and memory stays bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from torchlean_runtime.conformance.vectors import fuzz_reader as FZ
from torchlean_runtime.conformance.vectors.replay import corpus_dir


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(FZ.documents())
def test_hostile_documents_are_handled(data):
    assert FZ.check_document(data) in ("accepted", "TLR_TRACE_FORMAT", "TLR_TRACE_LIMIT")


def test_a_timed_campaign_runs_clean():
    """About 15 s of the campaign `fuzz_reader` runs at length (numbers in the closing note)."""
    stats = FZ.fuzz_reader(15.0, seed=1)
    assert stats.findings == [], stats.findings[:3]
    assert stats.documents > 300
    assert stats.outcomes["TLR_TRACE_FORMAT"] > 0 and stats.outcomes["accepted"] > 0
    assert stats.slowest < FZ.PER_DOCUMENT_SECONDS
    assert stats.rss_growth_mb < FZ.MAX_RSS_GROWTH_MB


def test_the_property_has_teeth(monkeypatch):
    """A reader that lets a KeyError escape, or a spec that crashes, is a finding."""
    def leaky(data, source, limits):
        raise KeyError("steps")

    monkeypatch.setattr(FZ, "read_trace_bytes", leaky)
    with pytest.raises(FZ.FuzzFinding, match="KeyError"):
        FZ.check_document(b"{}")
    monkeypatch.undo()

    from torchlean_runtime.conformance.vectors import execute

    class Crashing(execute.SpecAdapter):
        def call(self, op, args):
            raise IndexError("spec bug")

    monkeypatch.setattr(FZ, "SpecAdapter", Crashing)
    data = (Path(corpus_dir()) / "Runtime.emptyContext" / "empty.float64.json").read_bytes()
    with pytest.raises(FZ.FuzzFinding, match="the spec crashed"):
        FZ.check_document(data)
