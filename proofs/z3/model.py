"""The spec as a Z3 model, transcribed definition by definition.

Sources: NN/Spec/Core/Shape.lean and NN/Runtime/Context.lean (lean-dojo/TorchLean @
411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c) and the Lean core ``List`` functions they use; the
Python transcriptions are ``spec/core/shape.py``, ``spec/core/list.py`` and
``spec/runtime/context.py``.  ``tests/proofs/test_z3_crossvalidate.py`` evaluates every
definition below on concrete terms and compares it with those Python functions.

What is modelled and how (the abstractions, said once):

* ``Nat`` (dimensions, ``next_id``, lengths) is Z3 ``Int``.  Facts are proved for every
  integer, so they hold in particular for the naturals.
* A Lean ``String`` (a registry name) is a Z3 ``String``.  Only equality of names is ever
  used, so the facts hold for any names with decidable equality (Python ``str`` included,
  also beyond Z3's character range U+0000..U+2FFFF, which only limits the concrete
  cross-checks).
* A tensor value is an opaque id (``Val`` = ``Int``): the registry functions never look
  inside a tensor, they only store, compare by identity and return it.  The shape a tensor
  is indexed by is kept next to it, as in ``AnyTensor`` (``⟨s, t⟩``).  The scalar type ``α``
  is a type parameter in Lean and is not modelled.
* Lean's higher-order ``List.find?`` / ``map`` / ``any`` / ``all`` are modelled at the one
  predicate or function each Lean definition passes them (Z3 is first order); each is its
  own structurally recursive function, named after the Lean call it stands for.
* The non-recursive runtime definitions (``registerVariable`` …) are Python functions that
  build the Z3 term of their body (definitions by expansion).

Z3 accepts any recursive definition, even a non-terminating one, and then proves nonsense
from it.  Every recursive function here is therefore created through :func:`define_rec`,
which records its body, and :func:`structural_recursion_violations` checks mechanically
that each recursive call is on a constructor field of the decreasing argument, under a
branch that has tested which constructor it is (no mutual recursion).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import z3

__all__ = [
    "Nat",
    "Str",
    "Val",
    "Shape",
    "NatList",
    "AnyTensor",
    "Entry",
    "Registry",
    "NameList",
    "OptEntry",
    "OptTensor",
    "Ctx",
    "RecDef",
    "define_rec",
    "structural_recursion_violations",
    "SpecModel",
    "build_spec_model",
    "SPEC",
    "SPEC_DEFINITIONS",
]

# --- sorts (shared by every model variant) ---------------------------------------------------

Nat = z3.IntSort()  # Lean Nat, as Int (see module docstring)
Str = z3.StringSort()  # Lean String
Val = z3.IntSort()  # opaque id of a tensor value


def _datatype(name: str, *constructors: tuple) -> z3.DatatypeSortRef:
    dt = z3.Datatype(name)
    for ctor in constructors:
        dt.declare(*ctor)
    return dt.create()


def _list_sort(name: str, elem: z3.SortRef, prefix: str) -> z3.DatatypeSortRef:
    """A Lean ``List elem``: ``nil`` | ``cons head tail`` (accessor names prefixed, unique)."""
    dt = z3.Datatype(name)
    dt.declare(f"{prefix}nil")
    dt.declare(f"{prefix}cons", (f"{prefix}head", elem), (f"{prefix}tail", dt))
    return dt.create()


#: ``Spec.Shape``: ``scalar`` | ``dim (n : Nat) (rest : Shape)``.
_shape = z3.Datatype("Shape")
_shape.declare("scalar")
_shape.declare("dim", ("n", Nat), ("rest", _shape))
Shape = _shape.create()

#: ``List Nat`` (dimensions).
NatList = _list_sort("NatList", Nat, "n")
#: ``Runtime.AnyTensor α`` = ``⟨s, t⟩`` with ``t`` an opaque value id.
AnyTensor = _datatype("AnyTensor", ("anyTensor", ("s", Shape), ("t", Val)))
#: ``String × AnyTensor α`` (a registry entry).
Entry = _datatype("Entry", ("entry", ("fst", Str), ("snd", AnyTensor)))
#: ``List (String × AnyTensor α)`` (a registry).
Registry = _list_sort("Registry", Entry, "r")
#: ``List String`` (``variableNames`` / ``gradientNames``).
NameList = _list_sort("NameList", Str, "s")
#: ``Option (String × AnyTensor α)`` (what ``find?`` returns).
OptEntry = _datatype("OptEntry", ("noEntry",), ("someEntry", ("theEntry", Entry)))
#: ``Option (Tensor α s)`` (what ``getVariable`` / ``getGradient`` return).
OptTensor = _datatype("OptTensor", ("noTensor",), ("someTensor", ("theTensor", Val)))
#: ``Runtime.RuntimeContext α`` = ``{var_registry, gradients, next_id}``.
Ctx = _datatype("Ctx", ("mkContext", ("var_registry", Registry), ("gradients", Registry), ("next_id", Nat)))


# --- recursive definitions and the structural-recursion guard ------------------------------


@dataclass(frozen=True)
class RecDef:
    """One recursive function: its Z3 declaration, parameters, body and decreasing argument."""

    name: str
    func: z3.FuncDeclRef
    params: tuple
    body: z3.ExprRef
    decreasing: int
    order: int  # definition order (a body may call only itself or earlier definitions)


_REC_DEFS: list[RecDef] = []


def define_rec(
    name: str,
    params: Sequence[tuple[str, z3.SortRef]],
    result: z3.SortRef,
    body: Callable[..., z3.ExprRef],
    decreasing: int = 0,
    record: Optional[list] = None,
) -> z3.FuncDeclRef:
    """Create a recursive function ``name`` whose body is ``body(f, *params)`` and record it
    for the structural-recursion check (``decreasing`` = index of the argument that shrinks;
    ``record`` = the list to record it in, the model's own list by default)."""
    defs = _REC_DEFS if record is None else record
    func = z3.RecFunction(name, *[sort for _, sort in params], result)
    consts = tuple(z3.Const(f"{name}!{pname}", sort) for pname, sort in params)
    term = body(func, *consts)
    z3.RecAddDefinition(func, list(consts), term)
    defs.append(RecDef(name, func, consts, term, decreasing, len(defs)))
    return func


def _constructor_of_accessor(decl: z3.FuncDeclRef, sort: z3.DatatypeSortRef) -> Optional[str]:
    for i in range(sort.num_constructors()):
        ctor = sort.constructor(i)
        for j in range(ctor.arity()):
            if sort.accessor(i, j) == decl and ctor.domain(j) == sort:
                return ctor.name()
    return None


def _recognized(cond: z3.ExprRef, x: z3.ExprRef, sort: z3.DatatypeSortRef) -> Optional[tuple[str, bool]]:
    """``(constructor name, positive?)`` when ``cond`` is ``is_C(x)`` or ``¬is_C(x)``."""
    positive = True
    if z3.is_not(cond):
        cond, positive = cond.arg(0), False
    if z3.is_app(cond) and cond.num_args() == 1 and cond.arg(0).eq(x):
        for i in range(sort.num_constructors()):
            if sort.recognizer(i) == cond.decl():
                return sort.constructor(i).name(), positive
    return None


def _violations(d: RecDef, later: set) -> list[str]:
    x = d.params[d.decreasing]
    sort = x.sort()
    if not isinstance(sort, z3.DatatypeSortRef):
        return [f"{d.name}: the decreasing argument {x} is not of a datatype sort"]
    all_ctors = frozenset(sort.constructor(i).name() for i in range(sort.num_constructors()))
    found: list[str] = []

    def walk(e: z3.ExprRef, possible: frozenset) -> None:
        if z3.is_quantifier(e):
            found.append(f"{d.name}: quantifier in a recursive body")
            return
        if not z3.is_app(e):
            return
        decl = e.decl()
        if z3.is_app_of(e, z3.Z3_OP_ITE):
            walk(e.arg(0), possible)
            rec = _recognized(e.arg(0), x, sort)
            if rec is None:
                walk(e.arg(1), possible)
                walk(e.arg(2), possible)
            else:
                ctor, positive = rec
                then_c = possible & {ctor} if positive else possible - {ctor}
                else_c = possible - {ctor} if positive else possible & {ctor}
                walk(e.arg(1), frozenset(then_c))
                walk(e.arg(2), frozenset(else_c))
            return
        if decl == d.func:
            arg = e.arg(d.decreasing)
            ok = (
                z3.is_app(arg)
                and arg.num_args() == 1
                and arg.arg(0).eq(x)
                and (ctor := _constructor_of_accessor(arg.decl(), sort)) is not None
                and possible == {ctor}
            )
            if not ok:
                found.append(
                    f"{d.name}: recursive call {e} is not on a field of {x} under a test of its constructor"
                )
        elif decl.name() in later:
            found.append(f"{d.name}: calls {decl.name()}, defined later (mutual recursion)")
        for child in e.children():
            walk(child, possible)

    walk(d.body, all_ctors)
    return found


def structural_recursion_violations(defs: Optional[Sequence[RecDef]] = None) -> list[str]:
    """Every way a recorded recursive definition departs from structural recursion (``[]`` =
    all structural).  Checked: each self-call's decreasing argument is ``acc(x)`` for a
    recursive field ``acc`` of constructor ``C`` of the decreasing parameter ``x``, inside an
    ``If`` branch where ``x`` is known to be ``C``; no call to a later definition."""
    defs = list(_REC_DEFS if defs is None else defs)
    out: list[str] = []
    for d in defs:
        later = {e.name for e in defs if e.order > d.order}
        out.extend(_violations(d, later))
    return out


# --- the spec model ----------------------------------------------------------------------------

#: Variants of the model with one definition deliberately broken (for the tests that show
#: the obligations have teeth).  ``"lean"`` is the faithful transcription.
VARIANTS = ("lean", "find-last-match", "set-first-match-only")


class SpecModel:
    """The spec's definitions as Z3 functions (recursive) and term builders (non-recursive).

    Build with :func:`build_spec_model`; :data:`SPEC` is the faithful one.
    """

    def __init__(self, variant: str = "lean"):
        if variant not in VARIANTS:
            raise ValueError(f"unknown model variant {variant!r}; expected one of {VARIANTS}")
        self.variant = variant
        sfx = "" if variant == "lean" else f"[{variant}]"
        S, L, R, N = Shape, NatList, Registry, NameList

        # -- NN/Spec/Core/Shape.lean --------------------------------------------------------
        self.ofList = define_rec(
            "Shape.ofList" + sfx, [("l", L)], S,
            lambda f, l: z3.If(L.is_nnil(l), S.scalar, S.dim(L.nhead(l), f(L.ntail(l)))),
        )
        self.toList = define_rec(
            "Shape.toList" + sfx, [("s", S)], L,
            lambda f, s: z3.If(S.is_scalar(s), L.nnil, L.ncons(S.n(s), f(S.rest(s)))),
        )
        self.size = define_rec(
            "Shape.size" + sfx, [("s", S)], Nat,
            lambda f, s: z3.If(S.is_scalar(s), z3.IntVal(1), S.n(s) * f(S.rest(s))),
        )
        self.rank = define_rec(
            "Shape.rank" + sfx, [("s", S)], Nat,
            lambda f, s: z3.If(S.is_scalar(s), z3.IntVal(0), 1 + f(S.rest(s))),
        )
        # areEqual: (scalar, scalar) => true | (dim n1 s1, dim n2 s2) => n1 == n2 && areEqual s1 s2
        # | _, _ => false
        self.areEqual = define_rec(
            "Shape.areEqual" + sfx, [("s1", S), ("s2", S)], z3.BoolSort(),
            lambda f, a, b: z3.If(
                S.is_scalar(a),
                S.is_scalar(b),
                z3.If(S.is_dim(b), z3.And(S.n(a) == S.n(b), f(S.rest(a), S.rest(b))), z3.BoolVal(False)),
            ),
        )
        # List.prod (List Nat): [] => 1 | n :: ns => n * prod ns   (the product `size` should equal)
        self.prod = define_rec(
            "List.prod" + sfx, [("l", L)], Nat,
            lambda f, l: z3.If(L.is_nnil(l), z3.IntVal(1), L.nhead(l) * f(L.ntail(l))),
        )
        self.natLength = define_rec(
            "List.length(Nat)" + sfx, [("l", L)], Nat,
            lambda f, l: z3.If(L.is_nnil(l), z3.IntVal(0), 1 + f(L.ntail(l))),
        )

        # -- List functions at the predicates NN/Runtime/Context.lean passes them ------------
        # find? (fun (n, _) => n == name): the FIRST match
        if variant == "find-last-match":  # broken on purpose: the LAST match wins
            def find_body(f, r, name):
                later = f(R.rtail(r), name)
                return z3.If(
                    R.is_rnil(r), OptEntry.noEntry,
                    z3.If(OptEntry.is_someEntry(later), later,
                          z3.If(Entry.fst(R.rhead(r)) == name, OptEntry.someEntry(R.rhead(r)), OptEntry.noEntry)),
                )
        else:
            def find_body(f, r, name):
                return z3.If(
                    R.is_rnil(r), OptEntry.noEntry,
                    z3.If(Entry.fst(R.rhead(r)) == name, OptEntry.someEntry(R.rhead(r)), f(R.rtail(r), name)),
                )
        self.findName = define_rec("List.find?(name)" + sfx, [("r", R), ("name", Str)], OptEntry, find_body)

        # map (fun (n, v) => if n == name then (n, any_tensor) else (n, v))
        if variant == "set-first-match-only":  # broken on purpose: only the newest entry changes
            def map_set_body(f, r, name, at):
                h = R.rhead(r)
                return z3.If(
                    R.is_rnil(r), R.rnil,
                    z3.If(Entry.fst(h) == name, R.rcons(Entry.entry(Entry.fst(h), at), R.rtail(r)),
                          R.rcons(h, f(R.rtail(r), name, at))),
                )
        else:
            def map_set_body(f, r, name, at):
                h = R.rhead(r)
                return z3.If(
                    R.is_rnil(r), R.rnil,
                    R.rcons(z3.If(Entry.fst(h) == name, Entry.entry(Entry.fst(h), at), h), f(R.rtail(r), name, at)),
                )
        self.mapSet = define_rec(
            "List.map(set)" + sfx, [("r", R), ("name", Str), ("at", AnyTensor)], R, map_set_body,
        )
        # any (fun (n, _) => n == name)
        self.anyName = define_rec(
            "List.any(name)" + sfx, [("r", R), ("name", Str)], z3.BoolSort(),
            lambda f, r, name: z3.If(
                R.is_rnil(r), z3.BoolVal(False), z3.Or(Entry.fst(R.rhead(r)) == name, f(R.rtail(r), name))
            ),
        )
        # all (fun (name, _) => hasVariable ctx name), with ctx.var_registry passed as `vars`
        anyName = self.anyName
        self.allHasVariable = define_rec(
            "List.all(hasVariable)" + sfx, [("g", R), ("vars", R)], z3.BoolSort(),
            lambda f, g, vars_: z3.If(
                R.is_rnil(g), z3.BoolVal(True), z3.And(anyName(vars_, Entry.fst(R.rhead(g))), f(R.rtail(g), vars_))
            ),
        )
        # map (fun (n, _) => n)
        self.mapName = define_rec(
            "List.map(fst)" + sfx, [("r", R)], N,
            lambda f, r: z3.If(R.is_rnil(r), N.snil, N.scons(Entry.fst(R.rhead(r)), f(R.rtail(r)))),
        )
        self.length = define_rec(
            "List.length" + sfx, [("r", R)], Nat,
            lambda f, r: z3.If(R.is_rnil(r), z3.IntVal(0), 1 + f(R.rtail(r))),
        )

    # -- ShapeEq evidence (spec/core/shape.py): the Lean proof `h : s₁ = s₂` ----------------
    @staticmethod
    def shapeEq(s1: z3.ExprRef, s2: z3.ExprRef) -> z3.BoolRef:
        """The proposition a ``ShapeEq`` stands for: ``s₁ = s₂``."""
        return s1 == s2

    def shapeEqCheck(self, s1: z3.ExprRef, s2: z3.ExprRef) -> z3.BoolRef:
        """``ShapeEq.check s1 s2`` succeeds (returns evidence) exactly when ``areEqual s1 s2``."""
        return self.areEqual(s1, s2)

    # -- NN/Runtime/Context.lean (definitions by expansion) -----------------------------------
    @staticmethod
    def anyTensor(s: z3.ExprRef, t: z3.ExprRef) -> z3.ExprRef:
        return AnyTensor.anyTensor(s, t)

    @staticmethod
    def emptyContext() -> z3.ExprRef:
        return Ctx.mkContext(Registry.rnil, Registry.rnil, z3.IntVal(0))

    @staticmethod
    def registerVariable(c, name, s, t) -> z3.ExprRef:
        """``var_registry := (name, ⟨s, t⟩) :: var_registry``, ``next_id := next_id + 1``."""
        return Ctx.mkContext(
            Registry.rcons(Entry.entry(name, AnyTensor.anyTensor(s, t)), Ctx.var_registry(c)),
            Ctx.gradients(c),
            Ctx.next_id(c) + 1,
        )

    def _get(self, reg, name, s) -> z3.ExprRef:
        """``match reg.find? (·.1 == name) with | none => none | some (_, at) => if at.s = s then
        some at.t else none`` (getGradient's ``Option.map`` to ``at`` is the same function)."""
        found = self.findName(reg, name)
        at = Entry.snd(OptEntry.theEntry(found))
        return z3.If(
            OptEntry.is_noEntry(found),
            OptTensor.noTensor,
            z3.If(AnyTensor.s(at) == s, OptTensor.someTensor(AnyTensor.t(at)), OptTensor.noTensor),
        )

    def getVariable(self, c, name, s) -> z3.ExprRef:
        return self._get(Ctx.var_registry(c), name, s)

    def setVariable(self, c, name, s, t) -> z3.ExprRef:
        return Ctx.mkContext(self.mapSet(Ctx.var_registry(c), name, AnyTensor.anyTensor(s, t)), Ctx.gradients(c), Ctx.next_id(c))

    @staticmethod
    def registerGradient(c, name, s, t) -> z3.ExprRef:
        """``gradients := (name, ⟨s, t⟩) :: gradients`` (``next_id`` unchanged)."""
        return Ctx.mkContext(
            Ctx.var_registry(c),
            Registry.rcons(Entry.entry(name, AnyTensor.anyTensor(s, t)), Ctx.gradients(c)),
            Ctx.next_id(c),
        )

    def getGradient(self, c, name, s) -> z3.ExprRef:
        return self._get(Ctx.gradients(c), name, s)

    def setGradient(self, c, name, s, t) -> z3.ExprRef:
        return Ctx.mkContext(Ctx.var_registry(c), self.mapSet(Ctx.gradients(c), name, AnyTensor.anyTensor(s, t)), Ctx.next_id(c))

    @staticmethod
    def clearGradients(c) -> z3.ExprRef:
        return Ctx.mkContext(Ctx.var_registry(c), Registry.rnil, Ctx.next_id(c))

    def hasVariable(self, c, name) -> z3.BoolRef:
        return self.anyName(Ctx.var_registry(c), name)

    def variableNames(self, c) -> z3.ExprRef:
        return self.mapName(Ctx.var_registry(c))

    def gradientNames(self, c) -> z3.ExprRef:
        return self.mapName(Ctx.gradients(c))

    def contextSize(self, c) -> z3.ExprRef:
        return self.length(Ctx.var_registry(c))

    def gradientCount(self, c) -> z3.ExprRef:
        return self.length(Ctx.gradients(c))

    def isValidContext(self, c) -> z3.BoolRef:
        return self.allHasVariable(Ctx.gradients(c), Ctx.var_registry(c))


_MODELS: dict[str, SpecModel] = {}


def build_spec_model(variant: str = "lean") -> SpecModel:
    """The model ``variant`` (built once per process; Z3 function names must be unique)."""
    if variant not in _MODELS:
        _MODELS[variant] = SpecModel(variant)
    return _MODELS[variant]


#: The faithful model.
SPEC: SpecModel = build_spec_model("lean")

#: Every definition of the spec model, by the Lean name it transcribes (the canary and
#: cross-validation tables are checked against this list).
SPEC_DEFINITIONS: tuple[str, ...] = (
    "Shape.ofList",
    "Shape.toList",
    "Shape.size",
    "Shape.rank",
    "Shape.areEqual",
    "List.prod",
    "List.length(Nat)",
    "ShapeEq",
    "List.find?",
    "List.map(set)",
    "List.any",
    "List.all",
    "List.map(fst)",
    "List.length",
    "emptyContext",
    "registerVariable",
    "getVariable",
    "setVariable",
    "registerGradient",
    "getGradient",
    "setGradient",
    "clearGradients",
    "hasVariable",
    "variableNames",
    "gradientNames",
    "contextSize",
    "gradientCount",
    "isValidContext",
    "next_id",
)
