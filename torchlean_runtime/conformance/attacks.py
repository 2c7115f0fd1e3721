"""A hostile caller: every route Python and numpy offer to change an object one has received.

The value-semantics promise of an implementation is that nothing a caller does with what it
passed in or got back changes stored state or what a later call answers.  :func:`attack` tries
every route this module knows on one object and never raises; the caller then checks, through
the implementation's answers, that nothing stored changed.

In scope: everything reachable from what the API hands out through public attributes, methods,
numpy's array API (including ``.base`` chains, views, buffers) and Python's protocols (pickle's
``__reduce__``, copy).  Out of scope, because Python cannot defend against them and no Lean
program can express them: raw memory access by address (``ctypes`` pointers, or an
``__array_interface__`` that *claims* a read-only address is writable — see
:data:`RAW_MEMORY_ROUTES`), ``object.__setattr__`` on slots, and underscore-private attributes.

Routes run in order on the one object given; a route may change that object (e.g.
``__setstate__`` gives it new memory), so a check that wants every route against the pristine
object asks the API again for each route (:func:`route_names` / :func:`run_route`).

Used by the impl's tests, the ``verify`` value-semantics obligations and the stateful machine's
hostile-caller mode — one list of routes, so a new route reaches every check at once.
"""

from __future__ import annotations

import pickle
import warnings
from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["mutation_routes", "attack", "route_names", "run_route", "RAW_MEMORY_ROUTES"]

#: Known routes that are out of scope (raw memory by address; see the module docstring): an
#: ``__array_interface__`` dict copied from a read-only array with the read-only flag cleared
#: makes numpy build a writeable array over the same address — over any memory, including
#: memory an immutable ``bytes`` object owns.  Listed so the boundary is explicit, never run.
RAW_MEMORY_ROUTES: tuple[str, ...] = ("__array_interface__ with data=(address, False)", "ctypes.memmove", "object.__setattr__ on slots")

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
                for step in (
                    lambda b=base: setattr(b.flags, "writeable", True),
                    lambda b=base: b.__setitem__(Ellipsis, 7),
                    lambda b=base: b.__setstate__((1, (1,), np.dtype(np.float16), False, b"\x00\x7c")),
                    lambda b=base: setattr(b, "dtype", np.dtype(np.int8)),
                    lambda b=base: setattr(b, "shape", (b.size,)),
                ):
                    try:
                        step()
                    except (ValueError, TypeError, AttributeError):
                        pass
            elif isinstance(base, bytearray) and base:
                base[0] ^= 0xFF
            base = getattr(base, "base", None)
            depth += 1

    def via_flat() -> None:
        a.flat[0] = 7

    def byteswap() -> None:
        a.byteswap(inplace=True)

    def putmask() -> None:
        np.putmask(a, np.ones(a.shape, bool), 7)

    def via_asarray_writeable() -> None:
        b = np.asarray(a)
        b.flags.writeable = True
        b[...] = 7

    def via_reshape_setstate() -> None:
        a.reshape(-1).__setstate__((1, (1,), np.dtype(np.float16), False, b"\x00\x7c"))

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

    def via_as_strided() -> None:
        b = np.lib.stride_tricks.as_strided(a, writeable=True)
        b[...] = 7

    def setstate_over_base_bytes() -> None:
        # numpy's __setstate__ takes a bytes object of more than 1000 bytes by reference (no
        # copy) and marks the array writeable: any bytes object reachable from ``a`` would give
        # a writeable alias of its memory.  Both ways: ``a`` itself, and a fresh array.
        base, depth = a.base, 0
        while base is not None and depth < 64:
            if type(base) is bytes and base:
                for target, shape, dtype in ((a, a.shape, a.dtype), (np.empty(0, np.uint8), (len(base),), np.dtype(np.uint8))):
                    try:
                        target.__setstate__((1, shape, dtype, False, base))
                    except (ValueError, TypeError):
                        continue
                    if target.flags.writeable and target.size:
                        target.view(np.uint8)[...] = 0x5A  # set, not toggled: a second alias must not undo it
            base = getattr(base, "base", None)
            depth += 1

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
        ("__setstate__ over the .base bytes", setstate_over_base_bytes),
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
        ("flat[0]=", via_flat),
        ("byteswap(inplace)", byteswap),
        ("putmask", putmask),
        ("asarray().flags.writeable", via_asarray_writeable),
        ("reshape().__setstate__", via_reshape_setstate),
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


#: Zero-argument accessors whose results are handed out (Variables, contexts).
_ACCESSORS = ("get_value", "get_gradient", "variable_names", "gradient_names", "variable_entries",
              "gradient_entries", "visible_variables", "visible_gradients")


def _object_routes(obj: Any, label: str) -> Iterator[Route]:
    for attr in ("value", "gradient", "name", "id", "requires_grad", "next_id", "dtype", "shape", "_variables", "__class__"):
        yield f"{label}.{attr}=", lambda attr=attr: setattr(obj, attr, None if attr != "__class__" else object)
        yield f"del {label}.{attr}", lambda attr=attr: delattr(obj, attr)
    yield f"{label}.__dict__", lambda: obj.__dict__.clear()


def _handed_out(obj: Any, label: str) -> Iterator[tuple[Any, str]]:
    """What a public accessor or protocol of ``obj`` hands out (materialised: iterators listed)."""
    for attr in ("value", "gradient"):
        try:
            yield getattr(obj, attr), f"{label}.{attr}"
        except Exception:
            pass
    for name in _ACCESSORS:
        method = getattr(obj, name, None)
        if callable(method):
            try:
                out = method()
            except Exception:
                continue
            yield (list(out) if hasattr(out, "__next__") else out), f"{label}.{name}()"
    for name, call in (("__reduce__", lambda: obj.__reduce__()), ("__reduce_ex__(4)", lambda: obj.__reduce_ex__(4))):
        try:
            yield call(), f"{label}.{name}"
        except Exception:
            pass


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
    elif isinstance(obj, type) or callable(obj):
        return  # functions and classes (e.g. a __reduce__ reconstructor) are not state
    else:
        for inner, inner_label in _handed_out(obj, label):
            yield from mutation_routes(inner, inner_label)
        yield from _object_routes(obj, label)


def attack(obj: Any, label: str = "obj") -> list[str]:
    """Try every route of :func:`mutation_routes` on ``obj``; return the routes that did not
    raise.  Never raises (an exception is how a route is refused)."""
    succeeded: list[str] = []
    with warnings.catch_warnings():  # numpy deprecates some routes (strides=); they still run
        warnings.simplefilter("ignore")
        for name, thunk in mutation_routes(obj, label):
            try:
                thunk()
            except Exception:
                continue
            succeeded.append(name)
    return succeeded


def route_names(obj: Any, label: str = "obj") -> list[str]:
    """The names of :func:`mutation_routes` of ``obj``, in order (nothing is run)."""
    return [name for name, _ in mutation_routes(obj, label)]


def run_route(obj: Any, name: str, label: str = "obj") -> bool:
    """Run the one route called ``name`` on ``obj``; True if it did not raise.  Never raises
    (KeyError-like misses return False)."""
    for route, thunk in mutation_routes(obj, label):
        if route == name:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    thunk()
                except Exception:
                    return False
            return True
    return False
