"""The pretty writer against a literal transcription of Lean's layout algorithm.

The oracle below follows ``Std.Format`` (src/Init/Data/Format/Basic.lean) definition by
definition — binary ``append``, ``spaceUptoLine`` with ``merge``, ``pushGroup``, ``be`` over a
list of work groups — on the ``Format`` that ``Lean.Json.render`` builds for a ParamIO value,
number by number (no shortcut).  :mod:`torchlean_runtime.interop.leanjson` lays arrays of
naturals out with a shortcut (flat width computed, elements streamed); sampled packs (fixed
seed) must come out identical.
"""

from __future__ import annotations

import random

import numpy as np

from torchlean_runtime.interop.pack import ParamPack
from torchlean_runtime.interop.paramio import dumps_paramlist_bits

# Format: ("nil",) | ("line",) | ("text", s) | ("nest", n, f) | ("append", f, g) | ("group", f)
NIL = ("nil",)
LINE = ("line",)


def text(s):
    return ("text", s)


def append(*fs):
    out = fs[0]
    for f in fs[1:]:
        out = ("append", out, f)
    return out


def join_sep(fs, sep):  # Format.joinSep: a ++ sep ++ b ++ sep ++ …
    if not fs:
        return NIL
    out = fs[0]
    for f in fs[1:]:
        out = append(out, sep, f)
    return out


def bracket(l, f, r):
    return ("group", ("nest", len(l), append(text(l), f, text(r))))


def render_arr(elems):
    return bracket("[", join_sep(elems, append(text(","), LINE)), "]")


def render_obj(kvs):  # kvs ascending (RBNode order); the fold prepends -> descending
    pairs = []
    for k, v in kvs:
        pairs.insert(0, ("group", append(text(f'"{k}"'), text(":"), LINE, v)))
    return bracket("{", join_sep(pairs, append(text(","), LINE)), "}")


def merge(w, r1, r2):
    if r1[1] > w or r1[0]:
        return r1
    r2 = r2(w - r1[1])
    return (r2[0], r1[1] + r2[1])


def space_upto_line(f, flatten, w):
    tag = f[0]
    if tag == "nil":
        return (False, 0)
    if tag == "line":
        return (False, 1) if flatten else (True, 0)
    if tag == "text":
        return (False, len(f[1]))
    if tag == "append":
        return merge(w, space_upto_line(f[1], flatten, w), lambda w2: space_upto_line(f[2], flatten, w2))
    if tag == "nest":
        return space_upto_line(f[2], flatten, w)
    return space_upto_line(f[1], True, w)  # group


def space_upto_line_groups(gs, w):  # spaceUptoLine'
    if not gs:
        return (False, 0)
    flatten, items = gs[0]
    if not items:
        return space_upto_line_groups(gs[1:], w)
    (f, _), rest = items[0], items[1:]
    return merge(w, space_upto_line(f, flatten, w), lambda w2: space_upto_line_groups([(flatten, rest)] + gs[1:], w2))


def lean_pretty(f, width=80):
    out, col = [], 0
    gs = [(False, [(f, 0)])]
    while gs:  # `be`, with its tail calls as a loop
        flatten, items = gs[0]
        if not items:
            gs = gs[1:]
            continue
        (g, indent), rest = items[0], items[1:]
        tag = g[0]
        if tag == "nil":
            gs = [(flatten, rest)] + gs[1:]
        elif tag == "append":
            gs = [(flatten, [(g[1], indent), (g[2], indent)] + rest)] + gs[1:]
        elif tag == "nest":
            gs = [(flatten, [(g[2], indent + g[1])] + rest)] + gs[1:]
        elif tag == "text":
            out.append(g[1])
            col += len(g[1])
            gs = [(flatten, rest)] + gs[1:]
        elif tag == "line":
            if flatten:
                out.append(" ")
                col += 1
            else:
                out.append("\n" + " " * indent)
                col = indent
            gs = [(flatten, rest)] + gs[1:]
        else:  # group
            if flatten:
                gs = [(flatten, [(g[1], indent)] + rest)] + gs[1:]
            else:
                outer = [(flatten, rest)] + gs[1:]
                k = col
                w = max(width - k, 0)
                r = space_upto_line_groups([(True, [(g[1], indent)])], w)
                r2 = merge(w, r, lambda w2: space_upto_line_groups(outer, w2))
                gs = [(r2[1] <= w, [(g[1], indent)])] + outer
    return "".join(out)


def oracle(pack: ParamPack) -> str:
    records = []
    for arr in pack.arrays:
        bits = arr.reshape(-1).view(np.uint64).tolist()
        shape = render_arr([text(str(d)) for d in arr.shape])
        values = render_arr([text(str(b)) for b in bits])
        records.append(render_obj([("shape", shape), ("values", values)]))
    return lean_pretty(render_obj([("format", text('"torchlean_paramlist_bits_v1"')), ("params", render_arr(records))]))


SEED, COUNT = 12, 150


def test_writer_matches_the_literal_lean_layout_on_sampled_packs():
    rng = random.Random(SEED)
    for _ in range(COUNT):
        arrays = []
        for _ in range(rng.randint(0, 4)):
            shape = tuple(rng.randint(0, 4) for _ in range(rng.randint(0, 3)))
            n = int(np.prod(shape))
            digits = rng.choice([1, 3, 10, 19, 20])  # short and long bit patterns
            bits = [rng.randrange(10 ** (digits - 1), min(10**digits, 1 << 64)) for _ in range(n)]
            arrays.append(np.array(bits, dtype=np.uint64).view(np.float64).reshape(shape))
        pack = ParamPack(tuple(f"p{i}" for i in range(len(arrays))), tuple(arrays))
        assert dumps_paramlist_bits(pack) == oracle(pack)
