"""Lean's JSON printers, for the documents ParamIO writes: ``Lean.Json.pretty`` (width 80) and
``Lean.Json.compress``.

``Json.pretty`` renders a ``Std.Format`` (``Lean.Json.render``: an array is
``bracket "[" (joinSep elems ("," ++ line)) "]"``, an object is ``bracket "{" … "}"`` over
``group (key ++ ":" ++ line ++ value)`` pairs folded with ``foldl … :: acc`` — so keys come out in
*descending* order) and lays it out with ``Std.Format.pretty``'s ``be``/``pushGroup``/
``spaceUptoLine`` (src/Init/Data/Format/Basic.lean).  This module transcribes that layout
algorithm for the Format constructors JSON rendering uses — ``text`` (never with a newline here),
``line``, ``nest``, ``append`` (as a list), ``group`` with ``allOrNone`` — plus one shortcut node,
:class:`Nums`, for an array of naturals, whose flat width is computed without rendering it and
whose elements are written straight to the output (the layout decisions are the same: an array
group is flat or breaks at every ``line``).

``Json.compress`` (src/Lean/Data/Json/Printer.lean, the work-item-queue version) writes no
whitespace, array elements in order and object fields in *ascending* key order (``kvs.foldr``
pushes onto a stack that is popped from the end).  See docs/params.md for the provenance.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np

__all__ = ["Text", "Line", "Nest", "Cat", "Group", "Nums", "pretty", "render_object", "render_array", "nat_digits"]

WIDTH = 80  # Lean.Json.pretty's default lineWidth


class Text(str):
    """``Format.text s`` (``s`` has no newline)."""


class Line:
    """``Format.line``: a space when its group is flat, else a newline plus the indent."""


LINE = Line()


class Nest:
    __slots__ = ("indent", "doc")

    def __init__(self, indent: int, doc: "Doc") -> None:
        self.indent, self.doc = indent, doc


class Cat(list):
    """``f₁ ++ f₂ ++ …`` (the append tree only fixes a sequence; its shape changes nothing)."""


class Group:
    __slots__ = ("doc",)

    def __init__(self, doc: "Doc") -> None:
        self.doc = doc


_POW10 = np.array([10**k for k in range(1, 20)], dtype=np.uint64)


def nat_digits(values: np.ndarray) -> np.ndarray:
    """Decimal digit counts of uint64 values (``JsonNumber.toString`` of a natural)."""
    return np.searchsorted(_POW10, values, side="right") + 1


class Nums:
    """``render (arr #[n₀, n₁, …])`` for naturals: ``group (nest 1 ("[" ++ joinSep … ++ "]"))``.
    ``values`` is a uint64 array; ``flat`` its one-line width."""

    __slots__ = ("values", "flat")

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        n = values.size
        self.flat = 2 if n == 0 else int(nat_digits(values).sum()) + 2 * (n - 1) + 2

    def write(self, out: Callable[[str], None], broken_indent: int | None) -> None:
        sep = ", " if broken_indent is None else ",\n" + " " * broken_indent
        out("[")
        flat = self.values.reshape(-1)
        step = 1 << 16  # bounded string memory: one chunk of decimal strings at a time
        for start in range(0, flat.size, step):
            if start:
                out(sep)
            out(sep.join(map(str, flat[start:start + step].tolist())))
        out("]")


Doc = Union[Text, Line, Nest, Cat, Group, Nums]


def render_array(elems: Sequence[Doc]) -> Doc:
    """``Lean.Json.render (arr elems)``."""
    body: Cat = Cat([Text("[")])
    for i, e in enumerate(elems):
        if i:
            body += [Text(","), LINE]
        body.append(e)
    body.append(Text("]"))
    return Group(Nest(1, body))


def render_object(fields: dict[str, Doc]) -> Doc:
    """``Lean.Json.render (obj kvs)``: fields in descending key order (the fold prepends).
    Keys here are plain ASCII identifiers, so ``renderString`` only adds the quotes."""
    body: Cat = Cat([Text("{")])
    for i, key in enumerate(sorted(fields, reverse=True)):
        if i:
            body += [Text(","), LINE]
        body.append(Group(Cat([Text(f'"{key}":'), LINE, fields[key]])))
    body.append(Text("}"))
    return Group(Nest(1, body))


# -- Std.Format.pretty, for the constructors above --------------------------------------------


def _space(doc: Doc, flatten: bool, w: int) -> tuple[bool, int]:
    """``spaceUptoLine doc flatten w`` → (foundLine, space); stops early once space > w."""
    if isinstance(doc, Text):
        return False, len(doc)
    if doc is LINE:
        return (False, 1) if flatten else (True, 0)
    if isinstance(doc, Nums):
        return False, doc.flat  # a group: measured flat
    if isinstance(doc, Nest):
        return _space(doc.doc, flatten, w)
    if isinstance(doc, Group):
        return _space(doc.doc, True, w)
    return _space_seq(((d, flatten) for d in doc), w)


def _space_seq(items, w: int) -> tuple[bool, int]:
    """``merge`` folded over a sequence: the first line found, or stop once total > w."""
    total = 0
    for doc, flatten in items:
        found, space = _space(doc, flatten, w - total)
        total += space
        if found or total > w:
            return found, total
    return False, total


class _Group:
    __slots__ = ("flatten", "items")

    def __init__(self, flatten: bool, items: list) -> None:
        self.flatten = flatten
        self.items = items  # reversed: the next item is items[-1]


def pretty(doc: Doc, out: Callable[[str], None], width: int = WIDTH) -> None:
    """``Std.Format.pretty doc width``, written piecewise to ``out``."""
    col = 0
    groups: list[_Group] = [_Group(False, [(doc, 0)])]

    def emit(s: str) -> None:
        nonlocal col
        out(s)
        col += len(s)

    def newline(indent: int) -> None:
        nonlocal col
        out("\n" + " " * indent)
        col = indent

    def fits(first: Doc) -> bool:
        # pushGroup: the new group measured flat, then what follows it (each enclosing group's
        # remaining items, in that group's mode) up to the first line break.
        limit = width - col if width > col else 0
        def rest():
            yield first, True
            for g in reversed(groups):
                for item_doc, _ in reversed(g.items):
                    yield item_doc, g.flatten
        return _space_seq(rest(), limit)[1] <= limit

    while groups:
        g = groups[-1]
        if not g.items:
            groups.pop()
            continue
        d, indent = g.items.pop()
        if isinstance(d, Text):
            emit(d)
        elif d is LINE:
            if g.flatten:
                emit(" ")
            else:
                newline(indent)
        elif isinstance(d, Cat):
            g.items.extend((x, indent) for x in reversed(d))
        elif isinstance(d, Nest):
            g.items.append((d.doc, indent + d.indent))
        elif isinstance(d, Group):
            if g.flatten:
                g.items.append((d.doc, indent))
            else:
                groups.append(_Group(fits(d.doc), [(d.doc, indent)]))
        elif isinstance(d, Nums):
            if d.values.size <= 1 or g.flatten or fits(d):  # ≤ 1 element: no line inside
                d.write(emit, None)
            else:
                # broken: every element on its own line at the array's nest (+1); the last
                # line is that indent, the last number and "]"
                d.write(out, indent + 1)
                col = indent + 1 + int(nat_digits(d.values.reshape(-1)[-1:])[0]) + 1
        else:  # pragma: no cover - the constructors above are the whole language
            raise TypeError(type(d).__name__)

