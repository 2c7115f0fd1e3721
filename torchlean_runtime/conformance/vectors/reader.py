"""The hardened reader of ``torchlean.runtime.v1`` files: limits first, schema second, decode third.

Trace files come from other people's tools, so every file is hostile until proven otherwise:

1. **limits** — the file size is checked before reading (at most ``max_file_bytes + 1`` bytes are
   ever read); the JSON nesting depth and the number of JSON values are measured on the raw
   text before parsing (so the parser can neither recurse nor allocate without bound; see
   ``docs/vectors.md`` for the measured worst case); the parser rejects duplicate keys, non-integer numbers
   (every float in the format is a bit-pattern string), ``NaN``/``Infinity`` literals and
   over-long integer literals; then the step count, per-tensor element count, total element
   count and the dimensions of (possibly empty) tensors are bounded before anything is built;
2. **schema** — the document is validated against the shipped JSON Schema ``schema_v1.json``
   with the ``jsonschema`` library;
3. **decode** — :func:`~.format.from_document` re-checks every rule, including those a schema
   cannot state (handles bound before use and of the right kind, bit-pattern widths, element
   counts), and builds the :class:`~.format.Trace`.

Nothing is ever ``eval``-ed or unpickled.  Every rejection is a :class:`TraceLimitError` or a
:class:`TraceFormatError` whose message names the file and, where there is one, the step.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Optional, Union

from torchlean_runtime.errors import TraceFormatError, TraceLimitError
from torchlean_runtime.files import NOT_REGULAR, NotRegularFileError, json_depth, open_regular
from torchlean_runtime.spec.env import env_nat

from .format import Trace, from_document

__all__ = ["trace_work", "tensor_nodes", "ReaderLimits", "DEFAULT_LIMITS", "limits_from_env", "check_tensor_limits", "read_trace", "read_trace_bytes", "schema", "validator"]


@dataclass(frozen=True)
class ReaderLimits:
    """Resource bounds applied before a trace is built.  Override per call, or for the CLI with
    the environment variables ``TORCHLEAN_RT_TRACE_<FIELD IN UPPER CASE>``.

    With the defaults, reading one file costs well under 200 MB of memory in the worst case
    (a file of tiny JSON values; measured by tests/vectors/test_vectors_reader.py)."""

    #: the largest file read, in bytes
    max_file_bytes: int = 8 * 1024 * 1024
    #: the deepest nesting of JSON arrays/objects (a v1 trace needs 8)
    max_depth: int = 32
    #: the most JSON values, counted on the raw text before parsing as commas + opening
    #: brackets + 1 (an upper bound on array items, object members and containers, at most
    #: twice the true number) — this is what bounds the parser's memory
    max_json_values: int = 2_000_000
    #: the most steps in one trace
    max_steps: int = 10_000
    #: the most elements in one tensor (the spec's default element cap)
    max_tensor_elements: int = 1_000_000
    #: the most tensor elements in one file, over all tensors
    max_total_elements: int = 1_000_000
    #: the most work a file may ask for, in node-visits: a tensor costs the nested values the
    #: spec materialises for it, ``1 + d0 + d0·d1 + … + d0·…·dr`` (at least its element count;
    #: an empty ``[999999, 0]`` costs 10^6, not 0); each step costs 1 + the cost of its tensor
    #: literals, of the values bound to the handles it names (a context: every tensor in it) and
    #: of its expected result; the sum over the steps is bounded — a file of a few MB cannot ask
    #: for hours of execution (e.g. 10^4 norms of a 5×10^5-element Variable: 10^10; 9000
    #: getVariable steps on a context holding one empty ``[999999, 0]`` tensor: 1.8×10^10)
    max_work: int = 50_000_000
    #: the largest product of a tensor's dimensions with zero dimensions counted as 1 — bounds
    #: the declared extent of EMPTY tensors such as ``[0, 10^30]``, which hold no elements but
    #: which no array library can represent
    max_dims_product: int = 1 << 40

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if type(v) is not int or v < 0:
                raise ValueError(f"ReaderLimits.{f.name} must be a non-negative int, given {v!r}")


DEFAULT_LIMITS = ReaderLimits()




def limits_from_env(environ: Optional[dict] = None) -> ReaderLimits:
    """:data:`DEFAULT_LIMITS` overridden by ``TORCHLEAN_RT_TRACE_MAX_FILE_BYTES`` etc.

    Each value must be a non-negative decimal integer (the one rule of ``spec/env.py``: ``_``
    separators and surrounding blanks allowed, empty means the default); anything else raises
    BadEnvironmentError (``TLR_ENVIRONMENT``)."""
    changes = {f.name: env_nat(f"TORCHLEAN_RT_TRACE_{f.name.upper()}", getattr(DEFAULT_LIMITS, f.name), environ)
               for f in fields(ReaderLimits)}
    return replace(DEFAULT_LIMITS, **changes)


# --- 1. limits ----------------------------------------------------------------------------

def _structure(data: bytes) -> tuple[int, int]:
    """(maximum nesting depth, number of JSON values) of the raw text, in constant memory.

    The depth is :func:`torchlean_runtime.files.json_depth` (brackets outside string literals,
    one linear pass: a string is matched whole, an unterminated one runs to the end, so a run of
    escaped quotes cannot make it quadratic).  The value count is commas + opening brackets + 1
    over the whole text, strings included (see ``ReaderLimits.max_json_values``): an upper
    bound.  On malformed text both can only err upwards, which at worst turns a format error
    into a limit error."""
    values = data.count(b",") + data.count(b"[") + data.count(b"{") + 1
    return json_depth(data), values


def _reject_constant(name: str) -> Any:
    raise TraceFormatError(f"the literal {name} is not allowed (floats are bit-pattern strings in v1)")


def _reject_float(text: str) -> Any:
    raise TraceFormatError(f"the number {text[:40]} is not an integer (floats are bit-pattern strings, dimensions and ids are integers)")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > 20:
        raise TraceFormatError(f"the integer literal {text[:40]}… has more than 20 digits")
    return int(text)


def _no_duplicates(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise TraceFormatError(f"duplicate key {k[:60]!r} in one object")
        out[k] = v
    return out


def _parse(data: bytes, source: str, limits: ReaderLimits) -> Any:
    if len(data) > limits.max_file_bytes:
        raise TraceLimitError(f"{source}: larger than max_file_bytes={limits.max_file_bytes}")
    depth, values = _structure(data)
    if depth > limits.max_depth:
        raise TraceLimitError(f"{source}: JSON nesting depth {depth} exceeds max_depth={limits.max_depth}")
    if values > limits.max_json_values:
        raise TraceLimitError(f"{source}: about {values} JSON values exceed max_json_values={limits.max_json_values}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TraceFormatError(f"{source}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_reject_float,
            parse_int=_parse_int,
            parse_constant=_reject_constant,
        )
    except TraceFormatError as exc:
        raise TraceFormatError(f"{source}: {exc.message}") from None
    except RecursionError:  # unreachable after the depth check, kept as a last line of defence
        raise TraceLimitError(f"{source}: JSON nesting too deep for the parser") from None
    except ValueError as exc:  # json.JSONDecodeError and friends
        raise TraceFormatError(f"{source}: not JSON: {str(exc)[:200]}") from None


def _check_sizes(doc: Any, source: str, limits: ReaderLimits) -> None:
    """Step count and tensor sizes, on the raw document, before schema validation and decoding.

    Every object with a ``bits`` list or a ``shape`` list counts as a tensor.  The walk is
    iterative (the depth is already bounded) and its stack holds only non-empty containers."""
    steps = doc.get("steps") if isinstance(doc, dict) else None
    if isinstance(steps, list) and len(steps) > limits.max_steps:
        raise TraceLimitError(f"{source}: {len(steps)} steps exceed max_steps={limits.max_steps}")
    total = 0
    roots: list[tuple[Any, Optional[int]]] = [(doc, None)]
    if isinstance(steps, list):
        roots += [(s, i) for i, s in enumerate(steps)]
    for root, step in roots:
        where = source if step is None else f"{source}: steps[{step}]"
        stack = [root]
        while stack:
            node = stack.pop()
            children = node if isinstance(node, list) else node.values() if isinstance(node, dict) else ()
            stack.extend(c for c in children if isinstance(c, (list, dict)) and c and c is not steps)
            if not isinstance(node, dict):
                continue
            bits, shape = node.get("bits"), node.get("shape")
            if isinstance(bits, list):
                if len(bits) > limits.max_tensor_elements:
                    raise TraceLimitError(
                        f"{where}: a tensor with {len(bits)} elements exceeds max_tensor_elements={limits.max_tensor_elements}"
                    )
                total += len(bits)
                if total > limits.max_total_elements:
                    raise TraceLimitError(f"{where}: more than max_total_elements={limits.max_total_elements} tensor elements in the file")
            if isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape):
                _check_shape_extent(shape, where, limits)


def check_tensor_limits(doc: Any, source: str, limits: Optional[ReaderLimits] = None) -> None:
    """The reader's tensor limits (``max_tensor_elements``, ``max_total_elements``,
    ``max_dims_product``, and the nested rows before a zero dimension) on any raw JSON value
    holding tensors — a protocol request's ``args``, a runner's ``result`` — before anything is
    decoded or allocated.  TraceLimitError (TLR_TRACE_LIMIT) naming ``source``.  Linear in the
    value; :data:`DEFAULT_LIMITS` overridden by the environment when ``limits`` is None."""
    _check_sizes(doc, source, limits_from_env() if limits is None else limits)


def _check_shape_extent(shape: list, where: str, limits: ReaderLimits) -> None:
    """The nested form of a tensor has one container per index of the dimensions before the
    first zero ([10^6, 10^6, 0] holds no element but 10^12 empty rows), so that product is
    bounded like an element count; the extent with zeros counted as 1 is bounded so that array
    libraries can represent the shape at all.  Stops as soon as a bound is passed."""
    extent, nested = 1, 1
    for d in shape:
        extent *= max(d, 1)
        if extent > limits.max_dims_product:
            raise TraceLimitError(f"{where}: the dimensions {shape[:8]} exceed max_dims_product={limits.max_dims_product}")
        nested = nested * d if nested else 0
        if nested > limits.max_tensor_elements:
            raise TraceLimitError(
                f"{where}: a tensor of shape {shape[:8]} exceeds max_tensor_elements={limits.max_tensor_elements}"
                " (counting the rows of dimensions before a zero)"
            )


# --- 2. schema ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def schema() -> dict:
    """The shipped JSON Schema (``schema_v1.json``, package data)."""
    text = resources.files(__package__).joinpath("schema_v1.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def validator() -> Any:
    """A validator of the full shipped schema."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema())


def _inline(node: Any, defs: dict) -> Any:
    """``node`` with every ``{"$ref": "#/$defs/X"}`` replaced by (the inlined) ``defs[X]`` — the
    schema is not recursive, so this terminates, and the verdict is the same without reference
    lookups (which were a third of the validation time)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if len(node) == 1 and isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref[len("#/$defs/"):]], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@lru_cache(maxsize=2)
def _split_validators(bits_prechecked: bool) -> tuple[Any, dict[str, Any]]:
    """The shipped schema split for speed: the document with every step checked against
    ``$defs/step_base`` only, plus one validator of ``$defs/step_<op>`` per operation, with
    references inlined.

    ``$defs/step`` is ``allOf[step_base, if op = X then step_X, …]``; ``step_base`` requires ``op``
    to be one of the operations, so exactly one if-clause applies to a valid step and checking
    ``step_base`` and then that one ``step_<op>`` gives the full schema's verdict (a test checks
    the two agree on the corpus and on fuzzed documents).

    ``bits_prechecked``: the caller has checked every object with a ``bits`` list
    (:func:`_tensors_ok`: its bits are ``$defs/bit_pattern`` strings, its ``shape`` a
    ``$defs/shape``, its ``dtype`` a ``$defs/dtype``), and every object in a tensor position has
    one, so ``$defs/tensor`` keeps only its object, key and array rules — the same verdict,
    without one jsonschema descent per tensor element and dimension (most of the time)."""
    full = schema()
    cls = type(validator())
    defs = dict(full["$defs"])
    if bits_prechecked:
        tensor = dict(defs["tensor"])
        tensor["properties"] = {"shape": {"type": "array"}, "dtype": {}, "bits": {"type": "array"}}
        defs["tensor"] = tensor
    doc_defs = dict(defs, step={"$ref": "#/$defs/step_base"})
    document = {k: _inline(v, doc_defs) for k, v in full.items() if k != "$defs"}
    per_op = {
        key[len("step_"):]: cls(_inline({"$ref": f"#/$defs/{key}"}, defs))
        for key in defs
        if key.startswith("step_") and key != "step_base"
    }
    return cls(document), per_op


_BIT_PATTERN = re.compile(r"0|[1-9][0-9]{0,19}")


def _tensors_ok(doc: Any) -> bool:
    """Every object anywhere in ``doc`` with a ``bits`` list satisfies ``$defs/tensor``'s value
    rules: bits are bit-pattern strings (``^(0|[1-9][0-9]{0,19})$`` matched whole, as the schema's
    ``not`` makes it for every regex engine: no final newline), a ``shape`` present is a list of at most 64 non-negative integers, a
    ``dtype`` present is one of the dtypes.  Iterative; linear in the document."""
    from .bits import DTYPES

    stack = [doc]
    match = _BIT_PATTERN.fullmatch
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            bits = node.get("bits")
            if isinstance(bits, list):
                if not all(type(b) is str and match(b) for b in bits):
                    return False
                if "shape" in node:
                    shape = node["shape"]
                    if not (isinstance(shape, list) and len(shape) <= 64 and all(type(d) is int and d >= 0 for d in shape)):
                        return False
                if "dtype" in node and not (isinstance(node["dtype"], str) and node["dtype"] in DTYPES):
                    return False
            stack.extend(v for k, v in node.items() if isinstance(v, (dict, list)) and not (k == "bits" and isinstance(v, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return True


def _validate(doc: Any, source: str) -> None:
    import jsonschema

    document, per_op = _split_validators(_tensors_ok(doc))
    errors = document.iter_errors(doc)
    error = jsonschema.exceptions.best_match(errors)
    prefix: list = []
    if error is None:
        for i, step in enumerate(doc["steps"]):
            error = jsonschema.exceptions.best_match(per_op[step["op"]].iter_errors(step))
            if error is not None:
                prefix = ["steps", i]
                break
    if error is None:
        return
    path = prefix + list(error.absolute_path)
    where = source
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        where += f": steps[{path[1]}]"
        step = doc["steps"][path[1]]
        op = step.get("op") if isinstance(step, dict) else None
        if isinstance(op, str):
            where += f" ({op[:60]})"
        path = path[2:]
    at = "/".join(str(p) for p in path) or "(top level)"
    message = error.message if len(error.message) <= 300 else error.message[:300] + "…"
    if error.validator == "not" and isinstance(error.schema, dict) and isinstance(error.schema.get("description"), str):
        message += f" — {error.schema['description']}"  # what a "not" stands for ($defs/handle, bit_pattern)
    err = TraceFormatError(f"{where}: schema: at {at}: {message}")
    err.source = source  # type: ignore[attr-defined]
    raise err


# --- 3. decode, and the entry points ------------------------------------------------------


def read_trace_bytes(data: bytes, source: str = "<bytes>", limits: ReaderLimits = DEFAULT_LIMITS) -> Trace:
    """Read a trace from bytes: limits, schema, decode.  Only TraceLimitError/TraceFormatError escape."""
    if not isinstance(data, (bytes, bytearray)):
        raise TraceFormatError(f"{source}: expected bytes, given {type(data).__name__}")
    doc = _parse(bytes(data), source, limits)
    _check_sizes(doc, source, limits)
    _validate(doc, source)
    trace = from_document(doc, source)
    _check_work(trace, source, limits)
    return trace


def tensor_nodes(t: Any) -> int:
    """What one tensor of a trace costs the spec: the nested values it materialises (one per
    sub-tensor, scalars included), ``1 + d0 + d0·d1 + … + d0·…·dr`` — never less than its
    element count, and large for an EMPTY tensor with big leading dimensions (``[999999, 0]``
    holds no element but 999,999 empty rows, each built, compared and converted).  O(rank)."""
    total = level = 1
    for d in t.shape:
        level *= d
        total += level
    return max(total, len(t.bits))


def trace_work(trace: Trace) -> int:
    """The work ``trace`` asks for, in node-visits (see ``ReaderLimits.max_work``): every tensor
    a step touches — its tensor literals, every tensor held by the contexts/variables it names,
    its expected result — costs :func:`tensor_nodes` (nested values, not elements)."""
    from .format import OPS, ContextState, Result, VariableState

    def size(result: Any) -> int:
        if not isinstance(result, Result):
            return 0
        v = result.value
        if isinstance(v, ContextState):
            return sum(tensor_nodes(t) for reg in (v.var_registry, v.gradients) for _, t in reg)
        if isinstance(v, VariableState):
            return tensor_nodes(v.value) + (0 if v.gradient is None else tensor_nodes(v.gradient))
        bits = getattr(v, "bits", None)
        if isinstance(bits, tuple):
            return tensor_nodes(v)
        return 1 if bits is not None else 0  # a scalar: one value

    bound: dict[str, int] = {}
    work = 0
    for step in trace.steps:
        cost = 1 + size(step.expect)
        for p in OPS[step.op].params:
            a = step.args.get(p.name)
            if p.kind in ("context", "variable"):
                cost += bound.get(a, 0)
            elif p.kind == "tensor" and a is not None:
                cost += tensor_nodes(a)
        if step.bind is not None:
            bound[step.bind] = size(step.expect)
        work += cost
    return work


def _check_work(trace: Trace, source: str, limits: ReaderLimits) -> None:
    work = trace_work(trace)
    if work > limits.max_work:
        raise TraceLimitError(
            f"{source}: the trace asks for {work} node-visits of work (a tensor costs its nested values, "
            f"empty rows included), above max_work={limits.max_work} "
            "(TORCHLEAN_RT_TRACE_MAX_WORK raises it)"
        )


def read_trace(path: Union[str, os.PathLike], limits: Optional[ReaderLimits] = None) -> Trace:
    """Read the trace file at ``path`` (at most ``max_file_bytes + 1`` bytes are read)."""
    limits = limits_from_env() if limits is None else limits
    source = os.fspath(path)
    try:
        # opened non-blocking (a FIFO never blocks) and fstat-ed: only a regular file is read
        with open_regular(source) as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > limits.max_file_bytes:
                raise TraceLimitError(f"{source}: {st.st_size} bytes exceed max_file_bytes={limits.max_file_bytes}")
            data = fh.read(limits.max_file_bytes + 1)
    except NotRegularFileError:
        raise TraceFormatError(f"{source}: {NOT_REGULAR}") from None
    except OSError as exc:
        raise TraceFormatError(f"{source}: cannot be read: {exc.strerror or exc}") from None
    return read_trace_bytes(data, source, limits)
