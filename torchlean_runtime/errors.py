"""The project's one error hierarchy.

Every class carries a stable ``code``: the code is the contract (tests, trace files and
other tools match on it), the message is for people.  Each class also derives from the
closest built-in exception so ordinary ``except ValueError`` / ``except TypeError``
handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "TorchLeanError",
    "InvalidShapeError",
    "TensorDataError",
    "ScalarTypeError",
    "ScalarTypeMismatchError",
    "ShapeMismatchError",
    "CastEvidenceError",
    "NameTypeError",
    "ArgumentTypeError",
    "NoContextInstanceError",
    "TensorTooLargeError",
    "ContractViolationError",
    "RefinementError",
    "TraceFormatError",
    "TraceLimitError",
    "ERROR_CLASSES",
    "error_class_for_code",
]


class TorchLeanError(Exception):
    """Base of every error raised by torchlean_runtime."""

    code = "TLR_ERROR"

    def __init__(self, message: str):
        super().__init__(f"[{self.code}] {message}")
        self.message = message


class InvalidShapeError(TorchLeanError, ValueError):
    """A shape is not a tuple/list of non-negative ints (or exceeds the rank cap)."""

    code = "TLR_INVALID_SHAPE"


class TensorDataError(TorchLeanError, ValueError):
    """Tensor data does not match its shape (ragged, wrong length, wrong nesting)."""

    code = "TLR_TENSOR_DATA"


class ScalarTypeError(TorchLeanError, TypeError):
    """A value is not an element of the scalar type (or the scalar type is unsupported)."""

    code = "TLR_SCALAR_TYPE"


class ScalarTypeMismatchError(TorchLeanError, TypeError):
    """Two scalar types meet where Lean has one type parameter ``α``."""

    code = "TLR_SCALAR_MISMATCH"


class ShapeMismatchError(TorchLeanError, ValueError):
    """A tensor of another shape where Lean's type fixes the shape (e.g. ``setValue``)."""

    code = "TLR_SHAPE_MISMATCH"


class CastEvidenceError(TorchLeanError, ValueError):
    """A shape cast without valid evidence that the two shapes are equal."""

    code = "TLR_CAST_EVIDENCE"


class NameTypeError(TorchLeanError, TypeError):
    """A registry or variable name that is not a ``str`` (Lean ``String``)."""

    code = "TLR_NAME_TYPE"


class ArgumentTypeError(TorchLeanError, TypeError):
    """Any other argument of the wrong type (an id that is not a Nat, a flag that is not a Bool...)."""

    code = "TLR_ARGUMENT_TYPE"


class NoContextInstanceError(TorchLeanError, TypeError):
    """The operation needs a ``Context α`` instance, which ``Nat``/``Int`` do not have in Lean."""

    code = "TLR_NO_CONTEXT_INSTANCE"


class TensorTooLargeError(TorchLeanError, ValueError):
    """A tensor above the configured element cap, refused before anything is allocated."""

    code = "TLR_TENSOR_TOO_LARGE"


class ContractViolationError(TorchLeanError, ValueError):
    """An icontract precondition of the public API failed (wraps icontract's ViolationError)."""

    code = "TLR_CONTRACT"


class RefinementError(TorchLeanError, AssertionError):
    """Checked mode: the impl's result does not abstract to the spec's result."""

    code = "TLR_REFINEMENT"


class TraceFormatError(TorchLeanError, ValueError):
    """A conformance-vector file is malformed (schema, handles, bit patterns, operations)."""

    code = "TLR_TRACE_FORMAT"


class TraceLimitError(TorchLeanError, ValueError):
    """A conformance-vector file exceeds a reader limit (size, steps, elements, depth)."""

    code = "TLR_TRACE_LIMIT"


ERROR_CLASSES: tuple[type[TorchLeanError], ...] = (
    TorchLeanError,
    InvalidShapeError,
    TensorDataError,
    ScalarTypeError,
    ScalarTypeMismatchError,
    ShapeMismatchError,
    CastEvidenceError,
    NameTypeError,
    ArgumentTypeError,
    NoContextInstanceError,
    TensorTooLargeError,
    ContractViolationError,
    RefinementError,
    TraceFormatError,
    TraceLimitError,
)


def error_class_for_code(code: str) -> type[TorchLeanError]:
    """The error class whose stable ``code`` is ``code`` (KeyError if none)."""
    for cls in ERROR_CLASSES:
        if cls.code == code:
            return cls
    raise KeyError(code)


# --- branch verify: command-line usage -------------------------------------------------------


class UsageError(TorchLeanError, ValueError):
    """A command line asks for something that cannot be done: an ``--only`` pattern matching no
    check, a malformed ``--shard``, reports that cannot be merged.  Exit status 2."""

    code = "TLR_USAGE"
    exit_status = 2


class UserPathError(TorchLeanError, OSError):
    """A path given on the command line cannot be used (missing, unreadable, not a regular
    file).  Exit status 2."""

    code = "TLR_PATH"
    exit_status = 2


class OutputPathError(UserPathError):
    """An output path given on the command line cannot be written (missing folder, not a
    directory, no permission) — checked before any work is done.  Exit status 2."""

    code = "TLR_OUTPUT_PATH"


ERROR_CLASSES = ERROR_CLASSES + (UsageError, UserPathError, OutputPathError)
__all__ += ["UsageError", "UserPathError", "OutputPathError"]
