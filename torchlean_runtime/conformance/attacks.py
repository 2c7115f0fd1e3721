"""A hostile caller: every route Python and numpy offer to change an object one has received.

The value-semantics promise of an implementation is that nothing a caller does with what it
passed in or got back changes stored state or what a later call answers.  :func:`attack` tries
every route this module knows on one object and never raises; the caller then checks, through
the implementation's answers, that nothing stored changed.  Routes that need raw memory access
(``ctypes`` pointers, ``object.__setattr__`` on private slots) are out of scope: Python cannot
defend against them and no Lean program can express them.

Used by the impl's tests, the ``verify`` value-semantics obligations and the stateful machine's
hostile-caller mode — one list of routes, so a new route reaches every check at once.
"""

from __future__ import annotations

import pickle
from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["mutation_routes", "attack"]

Route = tuple[str, Callable[[], Any]]


def _array_routes(a: np.ndarray, label: str) -> Iterator[Route]:
    def write_all() -> None:
        a[...] = 7

    def set_writeable() -> None:
        a.flags.writeable = True
        a[...] = 7

    def setflags() -> None:
        a.setflags(write=True)
        a[...] = 7

    def set_dtype() -> None:
        a.dtype = np.dtype(np.float32) if a.dtype != np.float32 else np.dtype(np.int32)

    def set_shape() -> None:
        a.shape = (a.size,) if a.ndim != 1 else (1, a.size)

    def set_strides() -> None:
        a.strides = tuple(0 for _ in a.strides)

    def setstate() -> None:
        a.__setstate__((1, (1,), np.dtype(np.float16), False, b"\x00\x7c"))

    def resize() -> None:
        a.resize((0,), refcheck=False)

    def fill() -> None:
        a.fill(7)

    def ufunc_out() -> None:
        np.add(a, 1, out=a)

    def copyto() -> None:
        np.copyto(a, 7)

    def put() -> None:
        a.put([0], [7]) if a.size else None

    def sort() -> None:
        a.sort(axis=None) if a.ndim else None

    def via_bases() -> None:
        base = a.base
        depth = 0
        while base is not None and depth < 64:  # bounded: a cyclic .base chain cannot hang us
            if isinstance(base, np.ndarray):
                try:
                    base.flags.writeable = True
                    base[...] = 7
                except (ValueError, TypeError):
                    pass
            base = getattr(base, "base", None)
            depth += 1

    def via_view_writeable() -> None:
        v = a.view()
        v.flags.writeable = True
        v[...] = 7

    def via_memoryview() -> None:
        m = memoryview(a)
        if not m.readonly and m.nbytes:
            m.cast("B")[0] = 0xFF

    def via_frombuffer() -> None:
        b = np.frombuffer(a.data, dtype=np.uint8) if a.flags.c_contiguous else np.empty(0, np.uint8)
        b.flags.writeable = True
        b[...] = 0xFF

    def via_array_interface() -> None:
        class Holder:
            __array_interface__ = dict(a.__array_interface__, data=(a.__array_interface__["data"][0], False))

        b = np.asarray(Holder())
        b[...] = 7

    def via_as_strided() -> None:
        b = np.lib.stride_tricks.as_strided(a, writeable=True)
        b[...] = 7

    def via_pickle_roundtrip_setstate() -> None:
        a.__setstate__(pickle.loads(pickle.dumps(a)).__reduce__()[2])

    for name, fn in (
        ("write_all", write_all),
        ("flags.writeable", set_writeable),
        ("setflags", setflags),
        ("dtype=", set_dtype),
        ("shape=", set_shape),
        ("strides=", set_strides),
        ("__setstate__", setstate),
        ("resize", resize),
        ("fill", fill),
        ("ufunc out=", ufunc_out),
        ("copyto", copyto),
        ("put", put),
        ("sort", sort),
        (".base chain", via_bases),
        ("view().flags.writeable", via_view_writeable),
        ("memoryview", via_memoryview),
        ("frombuffer(.data)", via_frombuffer),
        ("__array_interface__", via_array_interface),
        ("as_strided(writeable=True)", via_as_strided),
        ("__setstate__(pickle)", via_pickle_roundtrip_setstate),
    ):
        yield f"{label}.{name}", fn


def _list_routes(x: list, label: str) -> Iterator[Route]:
    yield f"{label}.append", lambda: x.append("__attack__")
    yield f"{label}.reverse", x.reverse
    yield f"{label}.sort", lambda: x.sort(key=repr)
    yield f"{label}.setitem", lambda: x.__setitem__(slice(None), ["__attack__"])
    yield f"{label}.clear", x.clear


def _dict_routes(d: dict, label: str) -> Iterator[Route]:
    for key in list(d)[:4]:
        value = d[key]
        yield from mutation_routes(value, f"{label}[{key!r}]")
    yield f"{label}.setitem", lambda: d.__setitem__("__attack__", None)
    yield f"{label}.popitem", lambda: d.popitem() if d else None
    yield f"{label}.clear", d.clear


def _object_routes(obj: Any, label: str) -> Iterator[Route]:
    for attr in ("value", "gradient", "name", "id", "requires_grad", "next_id", "dtype", "_variables"):
        yield f"{label}.{attr}=", lambda attr=attr: setattr(obj, attr, None)
        yield f"del {label}.{attr}", lambda attr=attr: delattr(obj, attr)
    yield f"{label}.__dict__", lambda: obj.__dict__.clear()


def mutation_routes(obj: Any, label: str = "obj") -> Iterator[Route]:
    """Every route to mutate ``obj`` (and what it exposes): ``(route name, thunk)`` pairs.

    Arrays, lists, tuples and dicts are attacked directly; other objects (Variables, contexts)
    through attribute assignment and deletion, and through every array they expose as
    ``value`` / ``gradient`` or return from ``get_value`` / ``get_gradient``."""
    if isinstance(obj, np.ndarray):
        yield from _array_routes(obj, label)
    elif isinstance(obj, list):
        items = list(obj)
        yield from _list_routes(obj, label)
        for i, item in enumerate(items[:4]):
            yield from mutation_routes(item, f"{label}[{i}]")
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj[:4]):
            yield from mutation_routes(item, f"{label}[{i}]")
    elif isinstance(obj, dict):
        yield from _dict_routes(obj, label)
    elif obj is None or isinstance(obj, (str, bytes, int, float, bool, np.generic)):
        return  # immutable
    else:
        for attr in ("value", "gradient"):
            try:
                inner = getattr(obj, attr)
            except Exception:
                continue
            if isinstance(inner, np.ndarray):
                yield from _array_routes(inner, f"{label}.{attr}")
        yield from _object_routes(obj, label)


def attack(obj: Any, label: str = "obj") -> list[str]:
    """Try every route of :func:`mutation_routes` on ``obj``; return the routes that did not
    raise.  Never raises (an exception is how a route is refused)."""
    succeeded: list[str] = []
    for name, thunk in mutation_routes(obj, label):
        try:
            thunk()
        except Exception:
            continue
        succeeded.append(name)
    return succeeded
