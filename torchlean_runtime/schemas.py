"""Validating a JSON document a command reads back (a verify report, a fuzz summary) against its
published JSON Schema — the one way the merge tools check their inputs (bottom layer).

Integers are strict: a JSON ``1.0`` or ``true`` is not an integer (plain JSON Schema accepts
``1.0``), so a count is never silently a float.  :func:`first_error` returns the first
violation found as ``(field, message)``: ``field`` is a JSON path such as
``$.results[0].label``; the caller raises its own typed error naming the file and the field.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Optional

__all__ = ["first_error", "schema"]


@lru_cache(maxsize=None)
def schema(package: str, name: str) -> dict:
    """The schema ``name`` shipped as package data of ``package``."""
    return json.loads(resources.files(package).joinpath(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(package: str, name: str) -> Any:
    from jsonschema import Draft202012Validator, validators

    strict = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, x: isinstance(x, int) and not isinstance(x, bool))
    cls = validators.extend(Draft202012Validator, type_checker=strict)
    return cls(schema(package, name))


def first_error(doc: Any, package: str, name: str) -> Optional[tuple[str, str]]:
    """``None`` if ``doc`` satisfies the schema, else ``(field, message)`` of its first violation."""
    e = next(iter(_validator(package, name).iter_errors(doc)), None)  # the first only: no list of a million
    if e is None:
        return None
    return e.json_path, e.message[:300]
