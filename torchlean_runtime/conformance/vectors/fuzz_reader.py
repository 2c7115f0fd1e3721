"""Fuzzing the trace reader: random and mutated documents, with hypothesis.

Property checked for every document (:func:`check_document`):

* reading it either returns a :class:`~.format.Trace` or raises :class:`TraceFormatError` /
  :class:`TraceLimitError` — nothing else escapes;
* it takes less than :data:`PER_DOCUMENT_SECONDS` (no hang);
* an accepted trace replays on the spec without a crash (the spec may disagree with the
  mutated expectations — that is a replay failure, not a crash — but it may only raise the
  project's typed errors).

Documents come from four generators: random bytes; random JSON; documents shaped like the
format (right keys, plausible operations and arguments, hostile values); and corpus files
mutated structurally (replace/delete/insert nodes, hostile numbers and bit strings, NaN
literals, floats) and then byte-wise (flips, insertions, deletions, truncation).

:func:`fuzz_reader` runs the campaign for a wall-clock budget and returns the figures
(documents, seconds, outcomes by exception, slowest document, memory growth).
"""

from __future__ import annotations

import copy
import json
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from torchlean_runtime.errors import TraceFormatError, TraceLimitError
from torchlean_runtime.report import Outcome

from .execute import Crash, Session, SpecAdapter
from .format import ERROR_CODES, FORMAT, LEAN_SOURCE, OPS, RESULT_KINDS, SCALAR_TYPES
from .reader import DEFAULT_LIMITS, ReaderLimits, read_trace_bytes

__all__ = ["PER_DOCUMENT_SECONDS", "FuzzFinding", "FuzzStats", "check_document", "documents", "fuzz_reader", "run_reader_fuzz"]

#: A document that takes longer than this to read (and, if accepted, replay) is a hang.
PER_DOCUMENT_SECONDS = 2.0


class FuzzFinding(AssertionError):
    """The reader (or the spec on an accepted trace) broke the property."""


def check_document(data: bytes, limits: ReaderLimits = DEFAULT_LIMITS, timed: bool = True) -> str:
    """Read ``data`` (and replay it on the spec if accepted); return the outcome's name
    (``accepted`` / ``TLR_TRACE_FORMAT`` / ``TLR_TRACE_LIMIT``) or raise :class:`FuzzFinding`.
    ``timed``: also fail a document slower than PER_DOCUMENT_SECONDS (timed campaigns and tests;
    verify's evidence passes False, so its verdict does not depend on the machine's load)."""
    start = time.perf_counter()
    try:
        trace = read_trace_bytes(data, "<fuzz>", limits)
    except (TraceFormatError, TraceLimitError) as exc:
        outcome = exc.code
        if "<fuzz>" not in exc.message:
            raise FuzzFinding(f"the error does not name the source: {exc}") from exc
    except Exception as exc:
        raise FuzzFinding(f"the reader raised {type(exc).__name__}: {exc} on {data[:200]!r}") from exc
    else:
        outcome = "accepted"
        session = Session(SpecAdapter(trace.scalar_type))
        for i, step in enumerate(trace.steps):
            observed = session.execute(step)
            # an unbound handle (an earlier step failed on the spec) is the executor's LookupError
            if isinstance(observed, Crash) and observed.exception != "LookupError":
                raise FuzzFinding(f"steps[{i}] ({step.op}): the spec crashed: {observed.describe()} on {data[:300]!r}")
    elapsed = time.perf_counter() - start
    if timed and elapsed > PER_DOCUMENT_SECONDS:
        raise FuzzFinding(f"a document took {elapsed:.2f}s (bound {PER_DOCUMENT_SECONDS}s): {data[:200]!r}")
    return outcome


# --- document strategies ------------------------------------------------------------------


def _st():  # hypothesis is a dev dependency: imported only when fuzzing
    import hypothesis.strategies as st

    return st


INTERESTING: tuple = (
    None, True, False, 0, 1, -1, 2, 63, 64, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
    10**19, 10**20, 10**25, 1.0, -0.0, 1e300, 2.5, float("nan"), float("inf"),
    "", "0", "00", "01", "-1", "1.5", "1e3", "18446744073709551615", "18446744073709551616", "4294967295",
    "4294967296", "9" * 21, "c0", "c1", "v0", "v1", "ctx", "\ud800", "w", "Runtime.nope", "TLR_NOPE",
    "TLR_SHAPE_MISMATCH", "float64", "float32", "int64", "Float", "IEEE32Exec", "Int", "Rat", FORMAT,
    [], {}, [0], [-1], [0, 3], [2**40, 2**40], [10**19, 0], [2**20, 2**20, 0], [0, 2**40], [1] * 70, ["0"], {"shape": [], "dtype": "float64", "bits": ["0"]},
)


def _json_values():
    st = _st()
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=12), st.sampled_from(INTERESTING[:60])
    )
    return st.recursive(scalars, lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=8), kids, max_size=5), max_leaves=25)


@lru_cache(maxsize=1)
def _corpus_documents() -> tuple:
    """Parsed corpus files small enough to mutate quickly (the shipped corpus)."""
    from .replay import corpus_dir

    docs = []
    for path in sorted(Path(corpus_dir()).rglob("*.json")):
        if path.stat().st_size <= 24_000:
            docs.append(json.loads(path.read_text(encoding="utf-8")))
    return tuple(docs)


def _nodes(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in ``doc`` (iterative)."""
    out, stack = [], [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            out.append((node, k))
            stack.append(v)
    return out


def _mutated_document():
    st = _st()

    @st.composite
    def build(draw: Any) -> bytes:
        docs = _corpus_documents()
        doc = copy.deepcopy(draw(st.sampled_from(docs))) if docs else {}
        for _ in range(draw(st.integers(0, 4))):
            nodes = _nodes(doc)
            if not nodes:
                break
            container, key = draw(st.sampled_from(nodes))
            action = draw(st.sampled_from(("replace", "interesting", "delete", "insert", "duplicate", "swap-steps")))
            # every inserted value is a fresh copy: strategy elements (INTERESTING) must never be
            # mutated by a later action, or hypothesis sees different data on replay
            if action == "replace":
                container[key] = copy.deepcopy(draw(_json_values()))
            elif action == "interesting":
                container[key] = copy.deepcopy(draw(st.sampled_from(INTERESTING)))
            elif action == "delete":
                del container[key]
            elif action == "insert":
                if isinstance(container, dict):
                    container[draw(st.sampled_from(("extra", "op", "bind", "expect", "expect_error", "note", "bits", "shape", "type")))] = copy.deepcopy(draw(_json_values()))
                else:
                    container.insert(key, copy.deepcopy(draw(_json_values())))
            elif action == "duplicate":
                if isinstance(container, list):
                    container.insert(key, copy.deepcopy(container[key]))
                else:
                    container[key] = [container[key], copy.deepcopy(container[key])]
            elif action == "swap-steps" and isinstance(doc, dict) and isinstance(doc.get("steps"), list) and len(doc["steps"]) > 1:
                i = draw(st.integers(0, len(doc["steps"]) - 2))
                doc["steps"][i], doc["steps"][i + 1] = doc["steps"][i + 1], doc["steps"][i]
        text = json.dumps(doc).encode("utf-8", "surrogatepass")
        return draw(_byte_mutations(text)) if draw(st.integers(0, 3)) == 0 else text

    return build()


def _byte_mutations(data: bytes):
    st = _st()

    @st.composite
    def build(draw: Any) -> bytes:
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            pos = draw(st.integers(0, len(b)))
            action = draw(st.sampled_from(("flip", "insert", "delete", "truncate", "duplicate")))
            if action == "flip" and pos < len(b):
                b[pos] ^= 1 << draw(st.integers(0, 7))
            elif action == "insert":
                b[pos:pos] = draw(st.sampled_from((b"[", b"{", b"]", b"}", b'"', b"\\", b",", b"0", b"-", b"1e999", b"\xff", b"\x00", b"NaN")))
            elif action == "delete":
                del b[pos : pos + draw(st.integers(1, 16))]
            elif action == "truncate":
                del b[pos:]
            elif action == "duplicate":
                n = draw(st.integers(1, 64))
                b[pos:pos] = b[pos : pos + n]
        return bytes(b)

    return build()


def _format_shaped():
    """Documents with the format's keys and plausible steps, values drawn towards the edges."""
    st = _st()
    handles = st.sampled_from(("c0", "c1", "v0", "v1", "c2", "x"))
    shapes = st.one_of(st.lists(st.integers(0, 3), max_size=3), st.sampled_from(INTERESTING))
    bit_strings = st.one_of(st.integers(0, 2**64 + 2).map(str), st.sampled_from(INTERESTING))
    tensors = st.fixed_dictionaries(
        {"shape": shapes, "dtype": st.sampled_from(("float64", "float32", "int64", "x")), "bits": st.lists(bit_strings, max_size=7)}
    )
    by_kind = {
        "context": handles,
        "variable": handles,
        "string": st.one_of(st.text(max_size=6), st.sampled_from(("w", "b"))),
        "nat": st.one_of(st.integers(0, 2**64 + 1), st.sampled_from(INTERESTING)),
        "bool": st.one_of(st.booleans(), st.sampled_from(INTERESTING)),
        "shape": shapes,
        "tensor": st.one_of(tensors, _json_values()),
    }

    @st.composite
    def step(draw: Any) -> dict:
        op = draw(st.one_of(st.sampled_from(sorted(OPS)), st.text(max_size=10)))
        sig = OPS.get(op)
        args = {}
        if sig is not None:
            for p in sig.params:
                if draw(st.integers(0, 9)) > 0:
                    args[p.name] = draw(by_kind[p.kind])
        s: dict[str, Any] = {"op": op, "args": args}
        if draw(st.booleans()):
            s["bind"] = draw(handles)
        if draw(st.integers(0, 3)) == 0:
            s["expect_error"] = draw(st.one_of(st.sampled_from(ERROR_CODES), st.text(max_size=5)))
        else:
            kind = sig.result if sig is not None and draw(st.integers(0, 4)) else draw(st.sampled_from(sorted(RESULT_KINDS)))
            s["expect"] = {"type": kind, "value": draw(st.one_of(tensors, _json_values()))}
        return s

    return st.fixed_dictionaries(
        {
            "format": st.one_of(st.just(FORMAT), st.text(max_size=5)),
            "lean": st.one_of(st.just(dict(LEAN_SOURCE)), _json_values()),
            "scalar_type": st.sampled_from(SCALAR_TYPES + ("Rat", "")),
            "generator": st.one_of(st.just({"name": "fuzz", "version": "0", "seed": None}), _json_values()),
            "steps": st.lists(step(), max_size=6),
        }
    ).map(lambda d: json.dumps(d).encode("utf-8", "surrogatepass"))


#: Byte patterns whose repetition has made JSON scanners super-linear (backtracking string
#: regexes, nested brackets, long escape runs, many tiny values).
ADVERSARIAL_UNITS: tuple[bytes, ...] = (
    b'\\"', b'"\\', b'\\\\', b'\\', b'"', b'[', b'{"a":', b'[1,', b',', b'"\\u00', b'\\u0041', b'"a":"b",',
    b'{"":[', b']', b'}', b' ', b'0', b'-', b'e', b'"\xff', b'\xc3',
)


def adversarial_document(unit: bytes, size: int, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """``prefix`` + ``unit`` repeated to about ``size`` bytes + ``suffix``."""
    return prefix + unit * max(1, size // len(unit)) + suffix


def _adversarial():
    st = _st()
    prefixes = st.sampled_from([b"", b'"', b'{"format": "', b'{"steps": [', b"[", b'{"a": "'])
    suffixes = st.sampled_from([b"", b'"', b"]", b"}", b'"}'])
    return st.builds(adversarial_document, st.sampled_from(ADVERSARIAL_UNITS), st.integers(1, 20_000), prefixes, suffixes)


def documents():
    """The hypothesis strategy of hostile documents (bytes)."""
    st = _st()
    return st.one_of(
        _adversarial(),
        st.binary(max_size=300),
        _json_values().map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")),
        _format_shaped(),
        _mutated_document(),
        _mutated_document(),
    )


# --- the campaign -------------------------------------------------------------------------


@dataclass
class FuzzStats:
    documents: int = 0
    seconds: float = 0.0
    outcomes: Counter = field(default_factory=Counter)
    slowest: float = 0.0
    rss_growth_mb: float = 0.0
    findings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return (
            f"{self.documents} documents in {self.seconds:.1f}s ({self.documents / max(self.seconds, 1e-9):.0f}/s): {outcomes}; "
            f"slowest {self.slowest * 1000:.1f} ms; max RSS growth {self.rss_growth_mb:.1f} MB; {len(self.findings)} findings"
        )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def fuzz_reader(seconds: Optional[float], seed: int = 0, limits: ReaderLimits = DEFAULT_LIMITS, stop_on_finding: bool = True,
                max_documents: Optional[int] = None, timed: bool = True) -> FuzzStats:
    """Run hypothesis-generated hostile documents through :func:`check_document` for ``seconds``
    (None: no time budget) or until ``max_documents`` were checked (the evidence uses counts)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    stats = FuzzStats()
    rss0 = _rss_mb()
    start = time.monotonic()
    deadline = start + seconds if seconds is not None else float("inf")
    limit = max_documents if max_documents is not None else float("inf")
    batch = 0
    while time.monotonic() < deadline and stats.documents < limit and not (stop_on_finding and stats.findings):

        @hypothesis_seed(seed * 1_000_003 + batch)
        @settings(
            max_examples=200,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(documents())
        def campaign(data: bytes) -> None:
            if time.monotonic() >= deadline or stats.documents >= limit:
                return
            t0 = time.perf_counter()
            try:
                stats.outcomes[check_document(data, limits, timed)] += 1
            except FuzzFinding as exc:
                stats.findings.append(str(exc)[:2000])
            stats.slowest = max(stats.slowest, time.perf_counter() - t0)
            stats.documents += 1

        try:
            campaign()
        except Exception as exc:  # the harness itself failed: report it, never pass silently
            stats.findings.append(f"fuzz harness error: {type(exc).__name__}: {str(exc)[:500]}")
        batch += 1
    stats.seconds = time.monotonic() - start
    stats.rss_growth_mb = _rss_mb() - rss0
    return stats


#: RSS growth above this over a campaign counts as unbounded memory.
MAX_RSS_GROWTH_MB = 300.0


def run_reader_fuzz(documents: int) -> Outcome:
    """The ``verify`` obligation: a reader-fuzz campaign of ``documents`` documents (seed 0)."""
    stats = fuzz_reader(None, seed=0, max_documents=documents, timed=False)  # a count: same verdict under any load
    ok = not stats.findings and stats.documents >= documents and stats.rss_growth_mb < MAX_RSS_GROWTH_MB
    detail = stats.summary()
    if stats.findings:
        detail += "; first finding: " + stats.findings[0][:500]
    return Outcome(ok, detail)
