"""Reading torchlean_runtime's environment variables: one parser per kind of value, each
refusing anything outside its documented domain with EnvironmentConfigError
(``TLR_ENVIRONMENT``, one line naming the variable and the value) — never a traceback from
``int()``, never a silent default for a value that was given.  An unset or empty variable
means its default."""

from __future__ import annotations

import os
import re
from typing import Mapping, Optional, TypeVar

from torchlean_runtime.errors import EnvironmentConfigError

__all__ = ["env_nat", "env_choice"]

T = TypeVar("T")

_NAT = re.compile(r"[0-9]+(?:_[0-9]+)*", re.ASCII)  # Python's own integer-literal rule for separators

_NAT_MAX = 2**63 - 1

#: Longest value read (a longer one is refused before it is parsed).
_MAX_LEN = 64


def _raw(name: str, environ: Optional[Mapping[str, str]]) -> Optional[str]:
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None or raw.strip() == "":
        return None
    if len(raw) > _MAX_LEN:
        raise EnvironmentConfigError(f"{name} is {len(raw)} characters long; expected at most {_MAX_LEN}")
    return raw.strip()


def env_nat(name: str, default: int, environ: Optional[Mapping[str, str]] = None) -> int:
    """The non-negative decimal integer in ``$name`` (``_`` separators allowed, at most
    2**63 - 1), or ``default``."""
    raw = _raw(name, environ)
    if raw is None:
        return default
    if _NAT.fullmatch(raw) is None:
        raise EnvironmentConfigError(f"{name}={raw!r} is not a non-negative integer (unset it for the default {default})")
    value = int(raw)
    if value > _NAT_MAX:  # a bound, not a sentinel: nothing here counts beyond int64
        raise EnvironmentConfigError(f"{name}={raw!r} exceeds {_NAT_MAX} (2**63 - 1)")
    return value


def env_choice(name: str, choices: Mapping[str, T], default: T, environ: Optional[Mapping[str, str]] = None) -> T:
    """The value ``choices[$name]`` (case-insensitive), or ``default``; any other value is refused."""
    raw = _raw(name, environ)
    if raw is None:
        return default
    try:
        return choices[raw.lower()]
    except KeyError:
        known = ", ".join(repr(k) for k in choices)
        raise EnvironmentConfigError(f"{name}={raw!r} is not one of {known} (unset it for the default)") from None
