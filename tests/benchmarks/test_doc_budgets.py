"""The fixed budgets the docs quote (not measurements: configured counts and time bounds) equal
the constants the code uses, so a change of either shows here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _flat(path: str) -> str:
    return re.sub(r"\s*\n\s*", " ", (ROOT / path).read_text(encoding="utf-8"))


def test_verify_heartbeat_interval() -> None:
    from torchlean_runtime.verify import HEARTBEAT_SECONDS

    seconds = int(re.search(r"a heartbeat at least every (\d+) s while checks run", _flat("README.md")).group(1))
    assert seconds == HEARTBEAT_SECONDS


def test_reader_fuzz_budgets() -> None:
    from torchlean_runtime.conformance.vectors.fuzz_reader import PER_DOCUMENT_SECONDS
    from torchlean_runtime.proofs.vectors_obligations import READER_FUZZ_DOCUMENTS

    text = _flat("docs/vectors.md")
    per_doc = int(re.search(r"replaying it on the spec\) takes under (\d+) s", text).group(1))
    thorough, quick = (int(n.replace(",", "")) for n in
                       re.search(r"a fixed count from a fixed seed \(([\d,]+) documents; ([\d,]+) with `--quick`\)", text).groups())
    assert per_doc == PER_DOCUMENT_SECONDS and (quick, thorough) == READER_FUZZ_DOCUMENTS
    suite = int(re.search(r"the test suite runs (\d+) s of it", text).group(1))
    assert f"FZ.fuzz_reader({suite}.0" in (ROOT / "tests" / "vectors" / "test_vectors_fuzz_reader.py").read_text(encoding="utf-8")


def test_hostile_input_bounds() -> None:
    text = _flat("docs/vectors.md")
    per_mib = int(re.search(r"test_vectors_hostile_inputs\.py`, (\d+) s per MiB", text).group(1))
    source = (ROOT / "tests" / "vectors" / "test_vectors_hostile_inputs.py").read_text(encoding="utf-8")
    assert f"SECONDS_PER_MIB = {per_mib}.0" in source
    assert "a growth check: 4x the input, at most 10x the time" in text
    assert "big < 4 * 2.5 * max(small" in source and "FZ.adversarial_document(unit, 1 << 20" in source \
        and "FZ.adversarial_document(unit, 1 << 18" in source  # 4x the input (2^20 / 2^18), 10x the time
