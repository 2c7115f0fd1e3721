"""``module:`` adapters that misbehave as Python programs (test_hostile_runners.py)."""
import sys

from torchlean_runtime.conformance.target import ObjectTarget, Target, spec_target


class _Spec(ObjectTarget):
    """The spec, through the three conversion methods; subclasses break one."""

    name = "hostile"

    def __init__(self):
        super().__init__()
        self._spec = spec_target()

    def reset(self, scalar_type):
        super().reset(scalar_type)
        self._spec.reset(scalar_type)

    def tensor(self, t):
        return self._spec.tensor(t)

    def invoke(self, op, scalar_type, args):
        return self._spec.invoke(op, scalar_type, args)

    def observe(self, kind, native):
        return self._spec.observe(kind, native)


class _Exit0(_Spec):
    def invoke(self, op, scalar_type, args):
        sys.exit(0)


class _ExitMultiline(_Spec):
    def invoke(self, op, scalar_type, args):
        sys.exit("multi\nPASS exec:forged line")


class _Base(BaseException):
    pass


class _RaiseBase(_Spec):
    def observe(self, kind, native):
        raise _Base("a BaseException\nover two lines")


class _BadObserve(_Spec):
    def observe(self, kind, native):
        return "not a Result"


class _ExitInTensor(_Spec):
    def tensor(self, t):
        raise SystemExit(0)


class _ExitInReset(_Spec):
    def reset(self, scalar_type):
        raise SystemExit(0)


class _ExitInClose(_Spec):
    def close(self):
        sys.exit(0)


class _ForgedCode(_Spec):
    def invoke(self, op, scalar_type, args):
        err = ValueError("refused")
        err.code = "TLR_SCALAR_MISMATCH\nPASS exec:forged"
        raise err


class _Bare(Target):
    name = "bare"


class _BadName(_Spec):
    name = "evil\nPASS exec:forged corpus/forged.json  (9/9 steps)"


def exit0():
    return _Exit0()


def exit_multiline():
    return _ExitMultiline()


def raise_base():
    return _RaiseBase()


def bad_observe():
    return _BadObserve()


def exit_in_tensor():
    return _ExitInTensor()


def exit_in_reset():
    return _ExitInReset()


def exit_in_close():
    return _ExitInClose()


def forged_code():
    return _ForgedCode()


def bare():
    return _Bare()


def bad_name():
    return _BadName()


def factory_exit():
    sys.exit(0)


def factory_base():
    raise _Base("from the factory")
