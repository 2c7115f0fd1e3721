"""The catalogue of semantic mutants of the impl, each a plausible bug applied by monkeypatching.

A mutant is applied *in the current process* by :func:`apply`, which swaps attributes of the
impl's classes, modules or tables for buggy versions and returns an ``undo`` that puts the very
same objects back.  No impl file is copied or edited.  Buggy methods mostly wrap the original
(icontract-checked) method and distort its result, so input checking — and hence the typed
errors for bad input — stays as it is and only the intended semantics change.

Mutants are applied from the environment variable :data:`ENV_VAR` by the pytest plugin
(``pytest_plugin.py``), by the method runner (``runner.py``) and by :data:`SITECUSTOMIZE`, which
the plugin and the kill matrix put first on ``PYTHONPATH`` so that the Python processes a check
starts itself (CrossHair, the ``-O`` tests) run the same mutated impl.  :func:`apply_from_env` is
idempotent, so a process reached by two of these mechanisms is mutated once.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional

import icontract
import numpy as np

from torchlean_runtime.impl import arrays as impl_arrays
from torchlean_runtime.impl import context as impl_context
from torchlean_runtime.impl import variable as impl_variable
from torchlean_runtime.impl.arrays import FLOAT32, FLOAT64, check_array, check_context_instance, freeze
from torchlean_runtime.impl.context import RuntimeContext
from torchlean_runtime.impl.registry import CHUNK, EMPTY, Registry
from torchlean_runtime.impl.variable import Variable

__all__ = ["ENV_VAR", "Mutant", "MUTANTS", "BY_NAME", "SITECUSTOMIZE", "apply", "apply_from_env", "active",
           "replacements", "write_sitecustomize"]

#: The environment variable naming the mutant a fresh process must apply (empty: none).
ENV_VAR = "TORCHLEAN_RT_MUTANT"

# A replacement is (owner, key, new): owner a class or module (attribute ``key``) or a dict
# (item ``key``).
Replacement = tuple[Any, str, Any]


@dataclass(frozen=True)
class Mutant:
    """One plausible bug.  ``layer`` says where it lives: ``registry`` / ``context`` are the
    pure-Python bookkeeping layer (what CrossHair can explore symbolically), ``variable`` /
    ``arrays`` involve numpy arithmetic, copying or printing, ``cache`` / ``shortcut`` break one
    optimisation (a cache, an early return, a fast path), and ``spec`` mutates the oracle itself
    (only the Lean-derived examples and the shipped vectors may count as killing those)."""

    name: str
    bug: str
    layer: str
    build: Callable[[], list[Replacement]]
    #: the public impl operations through which the bug shows (for choosing the checks about them)
    touches: tuple[str, ...] = ()
    #: Non-empty when no ``torchlean.runtime.v1`` trace can show the bug, and why: it needs a
    #: misuse of the Python API that Lean's types rule out, or it changes no result at all (only
    #: the impl's private layout), so no outside implementation can be caught having it either
    #: (the other methods of the kill matrix must kill it).
    beyond_traces: str = ""

    @property
    def is_spec(self) -> bool:
        return self.layer == "spec"

    @property
    def symbolic(self) -> bool:
        return self.layer in ("registry", "context")


def _raw(owner: Any, key: str) -> Any:
    """The stored object (for a class: from its ``__dict__``, so a staticmethod stays one)."""
    if isinstance(owner, dict):
        return owner[key]
    if isinstance(owner, type):
        return owner.__dict__[key]
    return getattr(owner, key)


def _store(owner: Any, key: str, value: Any) -> None:
    if isinstance(owner, dict):
        owner[key] = value
    elif isinstance(owner, type):
        setattr(owner, key, value)  # type.__setattr__ for classes: the impl's immutability is per instance
    else:
        try:
            setattr(owner, key, value)  # modules
        except AttributeError:
            object.__setattr__(owner, key, value)  # an immutable (slotted) instance, e.g. a spec ScalarType


def _like(original: Any, new: Any) -> Any:
    """``new`` dressed as the method it replaces: same name, and — when the original is
    icontract-checked — a checker with the original's very contracts, so the mutant differs
    in its semantics only (preconditions, their typed errors and the checked-mode refinement
    postconditions all still apply)."""
    static = isinstance(new, staticmethod)
    fn = new.__func__ if static else new
    old_fn = original.__func__ if isinstance(original, staticmethod) else original
    fn.__name__, fn.__qualname__, fn.__doc__ = old_fn.__name__, old_fn.__qualname__, old_fn.__doc__
    checker = icontract._checkers.find_checker(old_fn)
    if checker is not None:
        wrapped = icontract._checkers.decorate_with_checker(fn)
        wrapped.__preconditions__.extend(list(group) for group in checker.__preconditions__)
        wrapped.__postcondition_snapshots__.extend(checker.__postcondition_snapshots__)
        wrapped.__postconditions__.extend(checker.__postconditions__)
        fn = wrapped
    return staticmethod(fn) if static else fn


def _method(cls: type, name: str) -> Callable:
    """The original function of a method (the icontract wrapper, contracts included)."""
    raw = cls.__dict__[name]
    return raw.__func__ if isinstance(raw, staticmethod) else raw


# --- registry layer (impl/registry.py) ------------------------------------------------------------


def _lookup_past_first_match() -> list[Replacement]:
    def lookup(self: Registry, name: str, shape: tuple) -> Optional[np.ndarray]:
        chain = self.slots.get(name)
        while chain is not None:  # BUG: keeps walking the chain past the newest entry
            array, chain = chain if type(chain) is tuple else (chain, None)
            if array.shape == shape:
                return array
        return None

    return [(Registry, "lookup", lookup)]


def _lookup_compares_element_count() -> list[Replacement]:
    def lookup(self: Registry, name: str, shape: tuple) -> Optional[np.ndarray]:
        newest = self.slots.get(name)
        if newest is None:
            return None
        if type(newest) is tuple:
            newest = newest[0]
        return newest if math.prod(newest.shape) == math.prod(shape) else None  # BUG: (2,3) "is" (3,2)

    return [(Registry, "lookup", lookup)]


def _last_write_wins() -> list[Replacement]:
    register, set_all = _method(Registry, "register"), _method(Registry, "set_all")

    def dict_register(self: Registry, name: str, array: np.ndarray) -> Registry:
        # BUG: a dict keyed by name — re-registering overwrites instead of shadowing
        return set_all(self, name, array) if name in self.slots else register(self, name, array)

    return [(Registry, "register", dict_register)]


def _set_updates_newest_only() -> list[Replacement]:
    def set_all(self: Registry, name: str, array: np.ndarray) -> Registry:
        chain = self.slots.get(name)
        if chain is None:
            return self
        # BUG: only the head of the chain is replaced; shadowed duplicates keep their old values
        new = (array, chain[1]) if type(chain) is tuple else array
        return Registry._make(self.spine, self.tail, self.slots.set(name, new), self.length)

    return [(Registry, "set_all", set_all)]


def _set_keeps_old_shape() -> list[Replacement]:
    def set_all(self: Registry, name: str, array: np.ndarray) -> Registry:
        chain = self.slots.get(name)
        if chain is None:
            return self
        olds = []
        while type(chain) is tuple:
            olds.append(chain[0])
            chain = chain[1]
        olds.append(chain)
        new = None
        for old in reversed(olds):
            # BUG: an entry keeps its old shape (and so its old array) unless the new array has it
            kept = array if old.shape == array.shape else old
            new = kept if new is None else (kept, new)
        return Registry._make(self.spine, self.tail, self.slots.set(name, new), self.length)

    return [(Registry, "set_all", set_all)]


def _chunked_register(flush_at: int, append: bool) -> Callable:
    """Registry.register with its chunk handling distorted (the rest as in impl/registry.py)."""

    def register(self: Registry, name: str, array: np.ndarray) -> Registry:
        slots = self.slots
        older = slots.get(name)
        tail = self.tail + (name,) if append else (name,) + self.tail
        spine = self.spine
        if len(tail) == flush_at:
            spine, tail = (tail, spine), ()
        return Registry._make(spine, tail, slots.set(name, array if older is None else (array, older)), self.length + 1)

    return register


def _tail_built_newest_first() -> list[Replacement]:
    # BUG: the tail (hence every chunk) is built by prepending, newest first, while the walks
    # read it oldest first: the names of each chunk come out reversed
    return [(Registry, "register", _chunked_register(CHUNK, append=False))]


def _chunk_flushed_one_early() -> list[Replacement]:
    # BUG: off by one — the tail moves onto the spine at CHUNK - 1 names; the chunks still
    # flatten to the right order, so only the layout invariant I1 sees it
    return [(Registry, "register", _chunked_register(CHUNK - 1, append=True))]


def _names_deduplicated() -> list[Replacement]:
    names = _method(Registry, "names")

    def deduplicated(self: Registry) -> list[str]:
        return list(dict.fromkeys(names(self)))  # BUG: shadowed duplicates dropped

    return [(Registry, "names", deduplicated)]


def _names_oldest_first() -> list[Replacement]:
    names = _method(Registry, "names")

    def oldest_first(self: Registry) -> list[str]:
        return names(self)[::-1]  # BUG: insertion order, as a Python list.append would give

    return [(Registry, "names", oldest_first)]


def _empty_name_is_absent() -> list[Replacement]:
    def has(self: Registry, name: str) -> bool:
        return bool(name) and name in self.slots  # BUG: truthiness test — "" is never present

    return [(Registry, "has", has)]


# --- context layer (impl/context.py) --------------------------------------------------------------


def _set_inserts_absent_name() -> list[Replacement]:
    set_variable, set_gradient = _method(RuntimeContext, "set_variable"), _method(RuntimeContext, "set_gradient")

    def upsert_variable(self: RuntimeContext, name: str, value: np.ndarray) -> RuntimeContext:
        result = set_variable(self, name, value)  # validates, fixes the dtype
        if self._variables.has(name):
            return result
        arr = freeze(check_array(value, "set_variable"))  # BUG: an absent name is inserted (upsert)
        return RuntimeContext._make(result._variables.register(name, arr), result._gradients,
                                    result.next_id, result.dtype)

    def upsert_gradient(self: RuntimeContext, name: str, grad: np.ndarray) -> RuntimeContext:
        result = set_gradient(self, name, grad)
        if self._gradients.has(name):
            return result
        arr = freeze(check_array(grad, "set_gradient"))
        return RuntimeContext._make(result._variables, result._gradients.register(name, arr),
                                    result.next_id, result.dtype)

    return [(RuntimeContext, "set_variable", upsert_variable), (RuntimeContext, "set_gradient", upsert_gradient)]


def _register_gradient_bumps_next_id() -> list[Replacement]:
    register_gradient = _method(RuntimeContext, "register_gradient")

    def bumping(self: RuntimeContext, name: str, grad: np.ndarray) -> RuntimeContext:
        r = register_gradient(self, name, grad)
        return RuntimeContext._make(r._variables, r._gradients, r.next_id + 1, r.dtype)  # BUG: like registerVariable

    return [(RuntimeContext, "register_gradient", bumping)]


def _clear_gradients_clears_variables() -> list[Replacement]:
    def clear_everything(self: RuntimeContext) -> RuntimeContext:
        return RuntimeContext._make(EMPTY, EMPTY, self.next_id, self.dtype)  # BUG: variables dropped as well

    return [(RuntimeContext, "clear_gradients", clear_everything)]


def _context_size_counts_unique() -> list[Replacement]:
    def unique_count(self: RuntimeContext) -> int:
        return len(self._variables.slots)  # BUG: distinct names, not entries

    return [(RuntimeContext, "context_size", unique_count)]


def _gradient_count_counts_unique() -> list[Replacement]:
    def unique_count(self: RuntimeContext) -> int:
        return len(self._gradients.slots)  # BUG: distinct names, not entries

    return [(RuntimeContext, "gradient_count", unique_count)]


def _is_valid_compares_shapes() -> list[Replacement]:
    def is_valid(self: RuntimeContext) -> bool:
        # BUG: a gradient also needs the (newest) variable of its name to have its shape
        return all(self._variables.lookup(e.name, e.shape) is not None for e in self._gradients.items())

    return [(RuntimeContext, "is_valid_context", is_valid)]


def _get_gradient_reads_variables() -> list[Replacement]:
    get_variable = _method(RuntimeContext, "get_variable")

    def get_gradient(self: RuntimeContext, name: str, shape: tuple) -> Optional[np.ndarray]:
        return get_variable(self, name, shape)  # BUG: copy-paste — looks in the variable registry

    return [(RuntimeContext, "get_gradient", get_gradient)]


# --- variable layer (impl/variable.py) ------------------------------------------------------------


def _norm_via_np_sum() -> list[Replacement]:
    def norm(self: Variable) -> np.floating:
        check_context_instance(self.dtype, "variable_norm")
        with np.errstate(all="ignore"):
            return np.sqrt(np.sum(self.value * self.value, dtype=self.dtype))  # BUG: pairwise summation

    return [(Variable, "variable_norm", norm)]


def _norm_via_linalg_norm() -> list[Replacement]:
    def norm(self: Variable) -> np.floating:
        check_context_instance(self.dtype, "variable_norm")
        with np.errstate(all="ignore"):
            return self.dtype.type(np.linalg.norm(self.value.reshape(-1)))  # BUG: BLAS dot / scaled norm

    return [(Variable, "variable_norm", norm)]


def _norm_float32_in_float64() -> list[Replacement]:
    norm = _method(Variable, "variable_norm")

    def widened(self: Variable) -> np.floating:
        if self.dtype is not FLOAT32:
            return norm(self)
        wide = Variable._make(self.id, self.name, freeze(self.value.astype(FLOAT64)), None, self.requires_grad)
        return np.float32(norm(wide))  # BUG: float32 folded in binary64, rounded once at the end

    return [(Variable, "variable_norm", widened)]


def _accumulate_wrong_order() -> list[Replacement]:
    accumulate = _method(Variable, "accumulate_gradient")

    def swapped(self: Variable, grad: np.ndarray) -> Variable:
        if self.gradient is None:
            return accumulate(self, grad)
        arr = impl_variable._check_accumulate(self, grad)  # the typed errors of bad input, unchanged
        owner = impl_arrays.new_buffer(self.shape, self.dtype)
        out = owner.view(np.ndarray)
        with np.errstate(all="ignore"):
            np.add(arr, self.gradient, out=out)  # BUG: grad + existing (NaN choice prefers the new gradient)
            impl_variable._fix_sum_nans(out, arr, self.gradient, self.dtype)
        return self._with(self.value, impl_arrays.seal(owner))

    return [(Variable, "accumulate_gradient", swapped)]


def _accumulate_overwrites() -> list[Replacement]:
    accumulate = _method(Variable, "accumulate_gradient")

    def overwrite(self: Variable, grad: np.ndarray) -> Variable:
        if self.gradient is None:
            return accumulate(self, grad)
        return self.set_gradient(grad)  # BUG: the existing gradient is replaced, not added to

    return [(Variable, "accumulate_gradient", overwrite)]


def _clone_keeps_gradient() -> list[Replacement]:
    clone = _method(Variable, "clone_variable")

    def keeping(self: Variable, new_id: int) -> Variable:
        r = clone(self, new_id)
        return Variable._make(r.id, r.name, r.value, self.gradient, r.requires_grad)  # BUG: PyTorch-like clone

    return [(Variable, "clone_variable", keeping)]


def _detach_keeps_requires_grad() -> list[Replacement]:
    detach = _method(Variable, "detach_variable")

    def keeping(self: Variable) -> Variable:
        r = detach(self)
        return Variable._make(r.id, r.name, r.value, None, self.requires_grad)  # BUG: flag not cleared

    return [(Variable, "detach_variable", keeping)]


def _error_bumps_next_id() -> list[Replacement]:
    error = _method(Variable, "error")

    def bumping(ctx: RuntimeContext, msg: str, dtype: Any = None) -> Variable:
        v = error(ctx, msg, dtype)
        # BUG: takes a fresh id as if it had bumped the counter (next_id + 1), not ctx.next_id
        return Variable._make(v.id + 1, v.name, v.value, v.gradient, v.requires_grad)

    return [(Variable, "error", staticmethod(bumping))]


def _error_requires_grad() -> list[Replacement]:
    error = _method(Variable, "error")

    def requiring(ctx: RuntimeContext, msg: str, dtype: Any = None) -> Variable:
        v = error(ctx, msg, dtype)
        return Variable._make(v.id, v.name, v.value, v.gradient, True)  # BUG: createVariable's default flag

    return [(Variable, "error", staticmethod(requiring))]


def _register_in_context_keeps_next_id() -> list[Replacement]:
    register_in_context = _method(Variable, "register_in_context")

    def keeping(self: Variable, ctx: RuntimeContext) -> RuntimeContext:
        r = register_in_context(self, ctx)
        # BUG: "the variable already has an id", so next_id is left alone
        return RuntimeContext._make(r._variables, r._gradients, ctx.next_id, r.dtype)

    return [(Variable, "register_in_context", keeping)]


def _variable_eq_compares_values() -> list[Replacement]:
    variable_eq = _method(Variable, "variable_eq")

    def by_value(self: Variable, other: Variable) -> bool:
        # BUG: values compared as well (Lean compares ids and names only)
        return variable_eq(self, other) and self.value.tobytes() == other.value.tobytes()

    return [(Variable, "variable_eq", by_value)]


def _has_shape_compares_element_count() -> list[Replacement]:
    has_shape = _method(Variable, "has_shape")

    def by_size(self: Variable, shape: tuple) -> bool:
        has_shape(self, shape)  # the input checks
        return math.prod(self.shape) == math.prod(shape)  # BUG: (0, 3) "is" (0, 4)

    return [(Variable, "has_shape", by_size)]


# --- the array boundary and printing (impl/arrays.py) ---------------------------------------------


def _stored_arrays_alias_caller() -> list[Replacement]:
    def no_copy(arr: np.ndarray) -> np.ndarray:
        return arr  # BUG: the caller's array is stored (and handed out) as it is

    return [(impl_context, "freeze", no_copy), (impl_variable, "freeze", no_copy)]


def _float_printing_repr() -> list[Replacement]:
    table = impl_arrays._ELEMENT_TO_STRING
    return [(table, FLOAT64, repr), (table, FLOAT32, repr)]  # BUG: '1.0' instead of Lean's '1.000000'


# --- optimisations: caches, shortcuts, fast paths, early returns, in-place work -------------------


def _names_cached_handed_out() -> list[Replacement]:
    variable_names = _method(RuntimeContext, "variable_names")
    cache: dict[int, tuple[Any, list]] = {}

    def cached(self: RuntimeContext) -> list[str]:
        hit = cache.get(id(self._variables))
        if hit is None or hit[0] is not self._variables:
            hit = cache[id(self._variables)] = (self._variables, variable_names(self))
        return hit[1]  # BUG: the cached list itself is handed out; a caller's append changes later answers

    return [(RuntimeContext, "variable_names", cached)]


def _lookup_cache_by_name() -> list[Replacement]:
    get_variable = _method(RuntimeContext, "get_variable")
    cache: dict[tuple, Any] = {}

    def cached(self: RuntimeContext, name: str, shape: tuple) -> Optional[np.ndarray]:
        key = (name, shape) if type(name) is str and type(shape) is tuple else None
        if key in cache:
            return cache[key]  # BUG: keyed by (name, shape) only — another context's (or an older) answer
        result = get_variable(self, name, shape)
        if key is not None and result is not None:
            cache[key] = result
        return result

    return [(RuntimeContext, "get_variable", cached)]


def _set_absent_early_return() -> list[Replacement]:
    set_variable = _method(RuntimeContext, "set_variable")

    def early(self: RuntimeContext, name: str, value: np.ndarray) -> RuntimeContext:
        if type(name) is str and not self._variables.has(name):
            return self  # BUG: returns before checking (and adopting the dtype of) the value
        return set_variable(self, name, value)

    return [(RuntimeContext, "set_variable", early)]


def _register_gradient_in_context_early_return() -> list[Replacement]:
    register = _method(Variable, "register_gradient_in_context")

    def early(self: Variable, ctx: RuntimeContext) -> RuntimeContext:
        if self.gradient is None:
            return ctx  # BUG: returns before checking that ctx is a context over the variable's dtype
        return register(self, ctx)

    return [(Variable, "register_gradient_in_context", early)]


def _cast_shape_unchecked() -> list[Replacement]:
    def unchecked(self: Variable, evidence: Any) -> Variable:
        return self  # BUG: the evidence check dropped ("an identity at run time")

    return [(Variable, "cast_shape", unchecked)]


def _set_variable_equal_shortcut() -> list[Replacement]:
    set_variable = _method(RuntimeContext, "set_variable")

    def shortcut(self: RuntimeContext, name: str, value: np.ndarray) -> RuntimeContext:
        if type(name) is str and isinstance(value, np.ndarray):
            current = self.get_variable(name, value.shape)
            if current is not None and current.dtype == value.dtype and np.array_equal(current, value):
                return self  # BUG: == equality (0.0 == -0.0; older shadowed entries not updated)
        return set_variable(self, name, value)

    return [(RuntimeContext, "set_variable", shortcut)]


def _set_value_equal_shortcut() -> list[Replacement]:
    set_value = _method(Variable, "set_value")

    def shortcut(self: Variable, new_value: np.ndarray) -> Variable:
        if isinstance(new_value, np.ndarray) and new_value.shape == self.shape and new_value.dtype == self.dtype \
                and np.array_equal(self.value, new_value):
            return self  # BUG: == equality keeps 0.0 where -0.0 was set
        return set_value(self, new_value)

    return [(Variable, "set_value", shortcut)]


def _is_valid_fast_path() -> list[Replacement]:
    is_valid = _method(RuntimeContext, "is_valid_context")

    def fast(self: RuntimeContext) -> bool:
        if self.gradient_count() <= self.context_size():
            return True  # BUG: counts say nothing about which names
        return is_valid(self)

    return [(RuntimeContext, "is_valid_context", fast)]


def _accumulate_in_place() -> list[Replacement]:
    scratch: dict[tuple, np.ndarray] = {}

    def reused(like: np.ndarray) -> tuple[None, np.ndarray]:
        key = (like.shape, like.dtype.str)
        if key not in scratch:
            scratch[key] = np.empty(like.shape, like.dtype)
        return None, scratch[key]  # BUG: one scratch buffer per shape, reused by every accumulate …

    def no_copy(data: object, buffer: np.ndarray) -> np.ndarray:
        return buffer.view()  # … and the result kept without copying it out (in-place work shared)

    return [(impl_variable, "result_buffer", reused), (impl_variable, "publish", no_copy)]


def _value_hands_out_stored() -> list[Replacement]:
    def stored_value(self: Variable) -> np.ndarray:
        return self._value  # BUG: the stored header itself, whose metadata a holder can rewrite

    def stored_gradient(self: Variable) -> Optional[np.ndarray]:
        return self._gradient

    return [(Variable, "value", property(stored_value)), (Variable, "gradient", property(stored_gradient))]


def _get_variable_hands_out_stored() -> list[Replacement]:
    get_variable = _method(RuntimeContext, "get_variable")

    def stored(self: RuntimeContext, name: str, shape: tuple) -> Optional[np.ndarray]:
        answer = get_variable(self, name, shape)  # the input checks
        return None if answer is None else self._variables.lookup(name, tuple(shape))  # BUG: the stored header

    return [(RuntimeContext, "get_variable", stored)]


def _freeze_adopts_read_only_views() -> list[Replacement]:
    def is_frozen(arr: np.ndarray) -> bool:
        # BUG: "read-only and contiguous" taken for "immutable": a read-only view of memory its
        # owner can still write is adopted without a copy
        return type(arr) is np.ndarray and not arr.flags.writeable and arr.flags.c_contiguous \
            and isinstance(arr.base, (bytes, np.ndarray)) and arr.nbytes == memoryview(arr.base).nbytes

    return [(impl_arrays, "is_frozen", is_frozen)]


def _accumulate_hardware_nan() -> list[Replacement]:
    accumulate = _method(Variable, "accumulate_gradient")

    def hardware(self: Variable, grad: np.ndarray) -> Variable:
        if self.gradient is None:
            return accumulate(self, grad)
        arr = impl_variable._check_accumulate(self, grad)
        owner = impl_arrays.new_buffer(self.shape, self.dtype)
        with np.errstate(all="ignore"):
            np.add(self.gradient, arr, out=owner.view(np.ndarray))  # BUG: the hardware's NaN, not Lean's rule
        return self._with(self.value, impl_arrays.seal(owner))

    return [(Variable, "accumulate_gradient", hardware)]


def _norm_nan_canonical() -> list[Replacement]:
    norm = _method(Variable, "variable_norm")

    def canonical(self: Variable) -> np.floating:
        r = norm(self)
        return self.dtype.type(np.nan) if r != r else r  # BUG: the input NaN's sign and payload dropped

    return [(Variable, "variable_norm", canonical)]


# --- more operations and rules --------------------------------------------------------------------


def _has_variable_reads_gradients() -> list[Replacement]:
    def has(self: RuntimeContext, name: str) -> bool:
        return self._gradients.has(name)  # BUG: copy-paste — looks in the gradient registry

    return [(RuntimeContext, "has_variable", has)]


def _register_variable_keeps_next_id() -> list[Replacement]:
    register = _method(RuntimeContext, "register_variable")

    def keeping(self: RuntimeContext, name: str, value: np.ndarray) -> RuntimeContext:
        r = register(self, name, value)
        return RuntimeContext._make(r._variables, r._gradients, self.next_id, r.dtype)  # BUG: next_id not bumped

    return [(RuntimeContext, "register_variable", keeping)]


def _clone_keeps_id() -> list[Replacement]:
    clone = _method(Variable, "clone_variable")

    def keeping(self: Variable, new_id: int) -> Variable:
        r = clone(self, new_id)
        return Variable._make(self.id, r.name, r.value, r.gradient, r.requires_grad)  # BUG: new_id ignored

    return [(Variable, "clone_variable", keeping)]


def _detach_keeps_gradient() -> list[Replacement]:
    detach = _method(Variable, "detach_variable")

    def keeping(self: Variable) -> Variable:
        r = detach(self)
        return Variable._make(r.id, r.name, r.value, self.gradient, r.requires_grad)  # BUG: gradient kept

    return [(Variable, "detach_variable", keeping)]


def _check_requires_grad_reads_gradient() -> list[Replacement]:
    def reads(self: Variable) -> bool:
        return self.gradient is not None  # BUG: "has a gradient" taken for "requires one"

    return [(Variable, "check_requires_grad", reads)]


def _get_from_context_reads_gradients() -> list[Replacement]:
    get_from_context = _method(Variable, "get_from_context")

    def reads(self: Variable, ctx: RuntimeContext) -> Optional[np.ndarray]:
        get_from_context(self, ctx)  # the input checks
        return ctx.get_gradient(self.name, self.shape)  # BUG: the gradient registry

    return [(Variable, "get_from_context", reads)]


def _register_gradient_in_context_registers_value() -> list[Replacement]:
    register = _method(Variable, "register_gradient_in_context")

    def value_instead(self: Variable, ctx: RuntimeContext) -> RuntimeContext:
        r = register(self, ctx)
        return r if self.gradient is None else ctx.register_gradient(self.name, self.value)  # BUG: the value

    return [(Variable, "register_gradient_in_context", value_instead)]


def _error_name_empty() -> list[Replacement]:
    error = _method(Variable, "error")

    def unnamed(ctx: RuntimeContext, msg: str, dtype: Any = None) -> Variable:
        v = error(ctx, msg, dtype)
        return Variable._make(v.id, "", v.value, v.gradient, v.requires_grad)  # BUG: the message is not the name

    return [(Variable, "error", staticmethod(unnamed))]


def _printing_empty_dimension_once() -> list[Replacement]:
    pretty = impl_arrays.pretty

    def once(arr: np.ndarray, budget: int) -> Optional[str]:
        if 0 in arr.shape[1:]:
            return "[]" if budget >= 2 else None  # BUG: one [] for the whole tensor, not one per outer position
        return pretty(arr, budget)

    return [(impl_context, "pretty", once), (impl_variable, "pretty", once)]


def _printing_scalar_bracketed() -> list[Replacement]:
    pretty = impl_arrays.pretty

    def bracketed(arr: np.ndarray, budget: int) -> Optional[str]:
        if arr.ndim != 0:
            return pretty(arr, budget)
        inner = pretty(arr, budget - 2)
        return None if inner is None else f"[{inner}]"  # BUG: a scalar printed as a 1-vector

    return [(impl_context, "pretty", bracketed), (impl_variable, "pretty", bracketed)]


def _int_printing_as_float() -> list[Replacement]:
    from torchlean_runtime.spec.core.scalars import floatToString

    return [(impl_arrays._ELEMENT_TO_STRING, impl_arrays.INT64, lambda x: floatToString(float(x)))]  # BUG: '3.000000'


def _float32_printing_shortest() -> list[Replacement]:
    from torchlean_runtime.spec.core.scalars import floatToString

    # BUG: float32 rounded to 7 significant digits before %f (the float32 shortest repr), not widened exactly
    return [(impl_arrays._ELEMENT_TO_STRING, FLOAT32, lambda x: floatToString(float("%.7g" % x)))]


def _variable_string_python_bool() -> list[Replacement]:
    to_string = _method(Variable, "to_lean_string")

    def python_bool(self: Variable) -> str:
        flag = "true" if self.requires_grad else "false"
        return to_string(self).replace(f"requires_grad={flag})", f"requires_grad={self.requires_grad})")  # BUG

    return [(Variable, "to_lean_string", python_bool)]


# --- mutants of the spec itself (a wrong oracle): the Lean-derived examples and the shipped
# vectors must catch them; agreement with the impl proves nothing about the oracle --------------


def _spec_context_size_distinct() -> list[Replacement]:
    from torchlean_runtime.spec.runtime import context as SC

    names = SC.variableNames
    return [(SC, "contextSize", lambda ctx: len(set(names(ctx))))]  # BUG: distinct names


def _spec_register_gradient_bumps_next_id() -> list[Replacement]:
    import dataclasses

    from torchlean_runtime.spec.runtime import context as SC

    register = SC.registerGradient
    return [(SC, "registerGradient",
             lambda ctx, name, grad: (lambda r: dataclasses.replace(r, next_id=r.next_id + 1))(register(ctx, name, grad)))]


def _spec_clone_keeps_gradient() -> list[Replacement]:
    import dataclasses

    from torchlean_runtime.spec.runtime import variable as SV

    clone = SV.cloneVariable
    return [(SV, "cloneVariable", lambda v, new_id: dataclasses.replace(clone(v, new_id), gradient=v.gradient))]


def _spec_accumulate_overwrites() -> list[Replacement]:
    from torchlean_runtime.spec.runtime import variable as SV

    accumulate, set_gradient = SV.accumulateGradient, SV.setGradient
    return [(SV, "accumulateGradient", lambda v, grad: (accumulate(v, grad), set_gradient(v, grad))[1])]  # BUG


def _spec_float_printing_repr() -> list[Replacement]:
    from torchlean_runtime.spec.core.scalars import Float

    return [(Float, "toString", repr)]  # BUG: the oracle prints '1.0' where Lean prints '1.000000'


def _spec_variable_names_oldest_first() -> list[Replacement]:
    from torchlean_runtime.spec.core.list import ofIterable
    from torchlean_runtime.spec.runtime import context as SC

    names = SC.variableNames
    return [(SC, "variableNames", lambda ctx: ofIterable(list(names(ctx))[::-1]))]  # BUG: oldest first


#: The catalogue, in report order.
MUTANTS: tuple[Mutant, ...] = (
    Mutant("lookup-past-first-match", "get_* returns an older entry of the name when the newest has another shape",
           "registry", _lookup_past_first_match,
           touches=("get_variable", "get_gradient", "get_from_context")),
    Mutant("lookup-compares-element-count", "get_* accepts a stored shape with the same number of elements",
           "registry", _lookup_compares_element_count,
           touches=("get_variable", "get_gradient", "get_from_context")),
    Mutant("last-write-wins", "dict semantics: registering a present name overwrites it instead of shadowing",
           "registry", _last_write_wins,
           touches=("register_variable", "register_gradient", "register_in_context", "context_size",
                    "variable_names")),
    Mutant("set-updates-newest-only", "set_* replaces only the newest entry of the name, not every one",
           "registry", _set_updates_newest_only,
           touches=("set_variable", "set_gradient")),
    Mutant("set-keeps-old-shape", "set_* keeps each entry's old shape: only entries of the new array's shape are replaced",
           "registry", _set_keeps_old_shape,
           touches=("set_variable", "set_gradient")),
    Mutant("tail-built-newest-first", "register prepends to the tail of the chunked name list, which the walks read "
           "oldest first: the names of each chunk come out reversed",
           "registry", _tail_built_newest_first,
           touches=("register_variable", "register_gradient", "register_in_context", "register_gradient_in_context",
                    "variable_names", "gradient_names")),
    Mutant("chunk-flushed-one-early", "register moves the tail onto the spine at CHUNK - 1 names, not CHUNK "
           "(chunks one name short: the layout invariant I1 breaks, the order read back does not)",
           "registry", _chunk_flushed_one_early,
           beyond_traces="changes no result of any operation (the chunks still flatten to Lean's order), only the "
                         "impl's private layout, which no trace can see; the layout check of the z3-index replay "
                         "(Registry.invariant_violations) must kill it"),
    Mutant("names-deduplicated", "variable_names / gradient_names drop shadowed duplicates",
           "registry", _names_deduplicated,
           touches=("variable_names", "gradient_names")),
    Mutant("names-oldest-first", "variable_names / gradient_names in insertion order, oldest first",
           "registry", _names_oldest_first,
           touches=("variable_names", "gradient_names")),
    Mutant("empty-name-is-absent", "presence is tested by truthiness, so the name \"\" is never present",
           "registry", _empty_name_is_absent,
           touches=("has_variable", "set_variable", "set_gradient")),
    Mutant("set-inserts-absent-name", "set_variable / set_gradient insert an absent name (upsert)",
           "context", _set_inserts_absent_name,
           touches=("set_variable", "set_gradient")),
    Mutant("register-gradient-bumps-next-id", "register_gradient adds 1 to next_id like register_variable",
           "context", _register_gradient_bumps_next_id,
           touches=("register_gradient", "register_gradient_in_context")),
    Mutant("clear-gradients-clears-variables", "clear_gradients also empties the variable registry",
           "context", _clear_gradients_clears_variables,
           touches=("clear_gradients",)),
    Mutant("context-size-counts-unique", "context_size counts distinct names, not entries",
           "context", _context_size_counts_unique,
           touches=("context_size",)),
    Mutant("gradient-count-counts-unique", "gradient_count counts distinct names, not entries",
           "context", _gradient_count_counts_unique,
           touches=("gradient_count",)),
    Mutant("is-valid-compares-shapes", "is_valid_context also requires the variable's shape to match the gradient's",
           "context", _is_valid_compares_shapes,
           touches=("is_valid_context",)),
    Mutant("get-gradient-reads-variables", "get_gradient looks in the variable registry (copy-paste)",
           "context", _get_gradient_reads_variables,
           touches=("get_gradient",)),
    Mutant("norm-via-np-sum", "variable_norm = sqrt(np.sum(x*x)) (pairwise summation, hardware NaN)",
           "variable", _norm_via_np_sum,
           touches=("variable_norm",)),
    Mutant("norm-via-linalg-norm", "variable_norm = np.linalg.norm(x) (BLAS, not the left fold)",
           "variable", _norm_via_linalg_norm,
           touches=("variable_norm",)),
    Mutant("norm-float32-in-float64", "a float32 norm is folded in binary64 and rounded once",
           "variable", _norm_float32_in_float64,
           touches=("variable_norm",)),
    Mutant("accumulate-wrong-order", "accumulate_gradient computes grad + existing (NaN choice, argument order)",
           "variable", _accumulate_wrong_order,
           touches=("accumulate_gradient",)),
    Mutant("accumulate-overwrites", "accumulate_gradient replaces an existing gradient instead of adding",
           "variable", _accumulate_overwrites,
           touches=("accumulate_gradient",)),
    Mutant("clone-keeps-gradient", "clone_variable keeps the gradient (PyTorch-like)",
           "variable", _clone_keeps_gradient,
           touches=("clone_variable",)),
    Mutant("detach-keeps-requires-grad", "detach_variable leaves requires_grad as it was",
           "variable", _detach_keeps_requires_grad,
           touches=("detach_variable",)),
    Mutant("error-bumps-next-id", "error takes id next_id + 1, as if it had bumped the counter",
           "variable", _error_bumps_next_id,
           touches=("Variable.error",)),
    Mutant("error-requires-grad", "error's variable has requires_grad = true (createVariable's default)",
           "variable", _error_requires_grad,
           touches=("Variable.error",)),
    Mutant("register-in-context-keeps-next-id", "register_in_context does not bump next_id",
           "variable", _register_in_context_keeps_next_id,
           touches=("register_in_context",)),
    Mutant("variable-eq-compares-values", "variable_eq also compares the values",
           "variable", _variable_eq_compares_values,
           touches=("variable_eq",)),
    Mutant("has-shape-compares-element-count", "has_shape compares element counts, so (0, 3) has shape (0, 4)",
           "variable", _has_shape_compares_element_count,
           touches=("has_shape",)),
    Mutant("stored-arrays-alias-caller", "no copy at the boundary: the caller's array is stored and handed out",
           "arrays", _stored_arrays_alias_caller,
           touches=("register_variable", "set_variable", "register_gradient", "set_gradient", "create", "set_value",
                    "accumulate_gradient")),
    Mutant("float-printing-repr", "floats printed with Python's repr instead of Lean's %f",
           "arrays", _float_printing_repr,
           touches=("to_lean_string",)),
    Mutant("names-cached-handed-out", "variable_names computed once per registry, cached and the same list handed out",
           "cache", _names_cached_handed_out, touches=("variable_names",)),
    Mutant("lookup-cache-by-name", "get_variable answers cached by (name, shape) only, across contexts",
           "cache", _lookup_cache_by_name, touches=("get_variable",)),
    Mutant("set-absent-early-return", "set_variable returns early for an absent name, before checking the value",
           "shortcut", _set_absent_early_return, touches=("set_variable",)),
    Mutant("register-gradient-in-context-early-return",
           "register_gradient_in_context returns ctx when there is no gradient, before checking ctx",
           "shortcut", _register_gradient_in_context_early_return, touches=("register_gradient_in_context",)),
    Mutant("cast-shape-unchecked", "cast_shape drops the evidence check (an identity at run time)",
           "shortcut", _cast_shape_unchecked, touches=("cast_shape",),
           beyond_traces="needs ShapeEq evidence about other shapes than the Variable's; in Lean that is a type "
                         "error, and a trace names only the target shape (the runner builds the evidence)"),
    Mutant("set-variable-equal-shortcut", "set_variable skips the update when the newest value is == the new one",
           "shortcut", _set_variable_equal_shortcut, touches=("set_variable",)),
    Mutant("set-value-equal-shortcut", "set_value keeps the Variable when its value is == the new one",
           "shortcut", _set_value_equal_shortcut, touches=("set_value",)),
    Mutant("is-valid-fast-path", "is_valid_context says true whenever there are no more gradients than variables",
           "shortcut", _is_valid_fast_path, touches=("is_valid_context",)),
    Mutant("accumulate-in-place", "accumulate_gradient sums into one reused scratch buffer and keeps it uncopied",
           "arrays", _accumulate_in_place, touches=("accumulate_gradient",)),
    Mutant("value-hands-out-stored", "Variable.value / .gradient hand out the stored header, not a fresh one",
           "arrays", _value_hands_out_stored, touches=("get_value", "create", "set_value")),
    Mutant("get-variable-hands-out-stored", "get_variable hands out the stored header, not a fresh one",
           "arrays", _get_variable_hands_out_stored, touches=("get_variable",)),
    Mutant("freeze-adopts-read-only-views", "a read-only view of caller memory is adopted without a copy",
           "arrays", _freeze_adopts_read_only_views, touches=("register_variable", "create", "set_value")),
    Mutant("accumulate-hardware-nan", "accumulate_gradient keeps the hardware's NaN instead of Lean's NaN rule",
           "variable", _accumulate_hardware_nan, touches=("accumulate_gradient",)),
    Mutant("norm-nan-canonical", "variable_norm returns the canonical NaN, dropping the input NaN's sign and payload",
           "variable", _norm_nan_canonical, touches=("variable_norm",)),
    Mutant("has-variable-reads-gradients", "has_variable looks in the gradient registry (copy-paste)",
           "context", _has_variable_reads_gradients, touches=("has_variable",)),
    Mutant("register-variable-keeps-next-id", "register_variable does not bump next_id",
           "context", _register_variable_keeps_next_id, touches=("register_variable",)),
    Mutant("clone-keeps-id", "clone_variable ignores new_id",
           "variable", _clone_keeps_id, touches=("clone_variable",)),
    Mutant("detach-keeps-gradient", "detach_variable keeps the gradient",
           "variable", _detach_keeps_gradient, touches=("detach_variable",)),
    Mutant("check-requires-grad-reads-gradient", "check_requires_grad answers whether a gradient is set",
           "variable", _check_requires_grad_reads_gradient, touches=("check_requires_grad",)),
    Mutant("get-from-context-reads-gradients", "get_from_context looks in the gradient registry",
           "variable", _get_from_context_reads_gradients, touches=("get_from_context",)),
    Mutant("register-gradient-in-context-registers-value", "register_gradient_in_context stores the value, not the gradient",
           "variable", _register_gradient_in_context_registers_value, touches=("register_gradient_in_context",)),
    Mutant("error-name-empty", "error's variable is named \"\" instead of the message",
           "variable", _error_name_empty, touches=("Variable.error",)),
    Mutant("printing-empty-dimension-once", "a zero inner dimension prints one [] instead of one per outer position",
           "arrays", _printing_empty_dimension_once, touches=("to_lean_string",)),
    Mutant("printing-scalar-bracketed", "a scalar tensor prints as [x]",
           "arrays", _printing_scalar_bracketed, touches=("to_lean_string",)),
    Mutant("int-printing-as-float", "int64 elements printed with Float.toString ('3.000000')",
           "arrays", _int_printing_as_float, touches=("to_lean_string",)),
    Mutant("float32-printing-shortest", "float32 elements rounded to 7 digits before printing, not widened exactly",
           "arrays", _float32_printing_shortest, touches=("to_lean_string",)),
    Mutant("variable-string-python-bool", "variableToString prints requires_grad=True/False",
           "variable", _variable_string_python_bool, touches=("to_lean_string",)),
    Mutant("spec-context-size-distinct", "SPEC: contextSize counts distinct names",
           "spec", _spec_context_size_distinct),
    Mutant("spec-register-gradient-bumps-next-id", "SPEC: registerGradient adds 1 to next_id",
           "spec", _spec_register_gradient_bumps_next_id),
    Mutant("spec-clone-keeps-gradient", "SPEC: cloneVariable keeps the gradient",
           "spec", _spec_clone_keeps_gradient),
    Mutant("spec-accumulate-overwrites", "SPEC: accumulateGradient replaces an existing gradient",
           "spec", _spec_accumulate_overwrites),
    Mutant("spec-float-printing-repr", "SPEC: Float.toString is Python's repr",
           "spec", _spec_float_printing_repr),
    Mutant("spec-variable-names-oldest-first", "SPEC: variableNames oldest first",
           "spec", _spec_variable_names_oldest_first),
)

BY_NAME: dict[str, Mutant] = {m.name: m for m in MUTANTS}

#: Put first on ``PYTHONPATH``, this ``sitecustomize`` makes every Python process started with it
#: apply the mutant named in :data:`ENV_VAR` at start-up (site.py would swallow an exception and
#: run the process unmutated, so a failure ends the process instead).
SITECUSTOMIZE = """\
# Written by torchlean_runtime.proofs.mutants: apply the mutant named in TORCHLEAN_RT_MUTANT.
import os
import sys

if os.environ.get("TORCHLEAN_RT_MUTANT"):
    try:
        from torchlean_runtime.proofs.mutants.catalogue import apply_from_env

        apply_from_env()
    except BaseException as exc:
        print(f"sitecustomize: mutant not applied: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        os._exit(70)
"""


def write_sitecustomize(directory: str) -> str:
    """Write :data:`SITECUSTOMIZE` into ``directory`` (to be put first on ``PYTHONPATH``)."""
    path = os.path.join(directory, "sitecustomize.py")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(SITECUSTOMIZE)
    return path


# The mutants applied in this process (name -> undo), so that applying from the environment
# twice (sitecustomize, then the runner) mutates once.
_ACTIVE: dict[str, Callable[[], None]] = {}


def replacements(name: str) -> list[tuple[Any, Any, Any]]:
    """(owner, key, original) of everything mutant ``name`` replaces — for tests of undo."""
    return [(owner, key, _raw(owner, key)) for owner, key, _ in BY_NAME[name].build()]


def active() -> list[str]:
    return list(_ACTIVE)


def apply(name: str) -> Callable[[], None]:
    """Apply mutant ``name`` in this process; return the undo (which restores the exact
    original objects).  Unknown names raise KeyError; a target that no longer exists in the
    impl raises too (the catalogue must follow the impl, never silently mutate nothing)."""
    mutant = BY_NAME[name]
    swaps = mutant.build()
    originals = [(owner, key, _raw(owner, key)) for owner, key, _ in swaps]
    for (owner, key, new), (_, _, old) in zip(swaps, originals):
        if new is old:
            raise RuntimeError(f"mutant {name}: the replacement of {key!r} is the original")
    for (owner, key, new), (_, _, old) in zip(swaps, originals):
        # class entries are methods (dressed as the original, contracts included) or properties
        _store(owner, key, _like(old, new) if isinstance(owner, type) and not isinstance(new, property) else new)

    def undo() -> None:
        for owner, key, old in reversed(originals):
            _store(owner, key, old)
        _ACTIVE.pop(name, None)

    _ACTIVE[name] = undo
    return undo


def check_env_name() -> Optional[str]:
    """The mutant named by :data:`ENV_VAR` (None if unset or empty); a name the catalogue does not
    hold is EnvironmentConfigError (TLR_ENVIRONMENT, exit 2), like every other TORCHLEAN_RT_*
    variable's bad value — never silently an unmutated run."""
    name = os.environ.get(ENV_VAR, "").strip()
    if not name:
        return None
    if name not in BY_NAME:
        from torchlean_runtime.errors import EnvironmentConfigError

        raise EnvironmentConfigError(f"{ENV_VAR}={name!r} names no mutant of the catalogue "
                                     f"(`torchlean-rt verify --mutants --list` names all {len(BY_NAME)})")
    return name


def apply_from_env() -> Optional[str]:
    """Apply the mutant named by :data:`ENV_VAR` unless it is already applied; its name (or None)."""
    name = check_env_name()
    if not name:
        return None
    if name not in _ACTIVE:
        apply(name)
    return name
