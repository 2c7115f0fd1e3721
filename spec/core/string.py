"""Lean ``String``'s domain: a sequence of Unicode scalar values — every code point except the
surrogates U+D800–U+DFFF (Lean's ``Char`` is a scalar value; ``String`` is valid UTF-8).

One predicate for every place that takes a name or message: the spec (``Runtime`` names,
``Variable.name``, ``Variable.error``'s message), the impl (plain checks and icontract
preconditions) and readers of files that carry names.  A ``str`` subclass is taken as the exact
``str`` with the same characters (its own ``__eq__``/``__hash__`` never reach a lookup).
"""

from __future__ import annotations

import re
from typing import Any, Optional

from torchlean_runtime.errors import NameTypeError, safe_repr

__all__ = ["isLeanString", "asLeanString", "checkLeanString"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def asLeanString(x: Any) -> Optional[str]:
    """``x`` as an exact ``str`` if it is a ``str`` (or subclass) holding only Unicode scalar
    values, else ``None``.  Never calls a method the caller's class can override.  O(len)."""
    if type(x) is not str:
        if not issubclass(type(x), str):  # the real type: isinstance would believe a lying __class__
            return None
        x = str.__str__(x)  # the exact str with the same characters
    if x.isascii() or _SURROGATE.search(x) is None:
        return x
    return None


def isLeanString(x: Any) -> bool:
    """``x`` is a value of Lean ``String`` (see :func:`asLeanString`)."""
    return asLeanString(x) is not None


def checkLeanString(x: Any, op: str, what: str = "a name") -> str:
    """The exact ``str`` for ``x``, or NameTypeError (``TLR_NAME_TYPE``): not a ``str``, or a
    ``str`` with a lone surrogate (not a Lean ``String``; it has no UTF-8 encoding)."""
    s = asLeanString(x)
    if s is not None:
        return s
    if not issubclass(type(x), str):
        raise NameTypeError(f"{op}: {what} must be a str (Lean String), given {type(x).__name__} {safe_repr(x)}")
    text = str.__str__(x)
    at = _SURROGATE.search(text).start()  # type: ignore[union-attr]
    raise NameTypeError(
        f"{op}: {what} must be a Lean String (Unicode scalar values only), given a str with the lone "
        f"surrogate U+{ord(text[at]):04X} at index {at}"
    )
