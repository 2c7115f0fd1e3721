"""The project's one error hierarchy.

Every class carries a stable ``code``: the code is the contract (tests, trace files and
other tools match on it), the message is for people.  Each class also derives from the
closest built-in exception so ordinary ``except ValueError`` / ``except TypeError``
handlers keep working.
"""

from __future__ import annotations

import re

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


#: Longest message an error carries (characters).  Messages quote what the caller passed (a
#: name, a format tag, a runner's answer); a hostile input must not turn one error into megabytes
#: of output, so the middle of a longer message is cut and says how much was cut.
MAX_MESSAGE_CHARS = 2000


def _bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    keep = MAX_MESSAGE_CHARS // 2
    return f"{message[:keep]} …[{len(message) - 2 * keep} characters cut]… {message[-keep:]}"


class TorchLeanError(Exception):
    """Base of every error raised by torchlean_runtime.  ``message`` is at most
    :data:`MAX_MESSAGE_CHARS` long (the middle of a longer one is cut, saying so)."""

    code = "TLR_ERROR"

    def __init__(self, message: str):
        message = _bounded(str(message))
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


# --- branch impl: environment, floating-point environment and output bounds (issue 9) ---------


class EnvironmentConfigError(TorchLeanError, ValueError):
    """An environment variable of torchlean_runtime has a value outside its documented domain
    (e.g. ``TORCHLEAN_RT_CHECK=on``, ``TORCHLEAN_RT_SPEC_MAX_ELEMENTS=lots`` or ``-5``)."""

    code = "TLR_ENVIRONMENT"
    exit_status = 2  # the command line's usage class: nothing ran


class FloatEnvironmentError(TorchLeanError, ArithmeticError):
    """The CPU's floating-point environment is not IEEE 754's default: subnormals are flushed to
    zero (FTZ) or read as zero (DAZ) — typically switched on by a shared library built with
    fast-math loaded into this process.  Spec and impl results would be silently wrong."""

    code = "TLR_FLOAT_ENVIRONMENT"


class OutputTooLargeError(TorchLeanError, ValueError):
    """A printed form (``contextToString`` / ``variableToString``) above the documented cap on
    its length, refused before it is built."""

    code = "TLR_OUTPUT_TOO_LARGE"


__all__ += ["EnvironmentConfigError", "FloatEnvironmentError", "OutputTooLargeError"]
ERROR_CLASSES = ERROR_CLASSES + (EnvironmentConfigError, FloatEnvironmentError, OutputTooLargeError)
# --- branch params: parameter files in and out (torchlean_runtime.interop) ---------------------


class ParamError(TorchLeanError):
    """Base of the parameter-file errors; ``path`` and ``param`` (index and name, when known)
    say which file and which parameter the error is about."""

    code = "TLR_PARAM"

    def __init__(self, message: str, path: object = None, param: object = None):
        where = ", ".join(x for x in (f"file {path}" if path is not None else "",
                                      f"parameter {param}" if param is not None else "") if x)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.param = param


class ParamFormatError(ParamError, ValueError):
    """A parameter file is malformed (syntax, format tag, magic/version, bit pattern, element
    count, truncation, trailing bytes)."""

    code = "TLR_PARAM_FORMAT"


class ParamLimitError(ParamError, ValueError):
    """A parameter file exceeds a reader limit (bytes, parameters, rank, elements), refused
    before anything is allocated."""

    code = "TLR_PARAM_LIMIT"


class ParamCountError(ParamError, ValueError):
    """Missing or trailing parameter records against the expected list (shapes or names)."""

    code = "TLR_PARAM_COUNT"


class ParamShapeError(ParamError, ValueError):
    """A parameter's shape differs from the expected shape."""

    code = "TLR_PARAM_SHAPE"


class ParamDtypeError(ParamError, TypeError):
    """A dtype the target cannot hold exactly (e.g. BF16 in safetensors, float32 into the
    Float-only bits format, float64 → float32 without the explicit flag, mixed dtypes for one
    context)."""

    code = "TLR_PARAM_DTYPE"


class ParamFileError(ParamError, OSError):
    """A parameter file cannot be opened, read or written."""

    code = "TLR_PARAM_IO"


class TorchUnavailableError(ParamError, ImportError):
    """The PyTorch interop needs the optional extra ``torchlean-runtime[torch]``."""

    code = "TLR_TORCH_MISSING"


# Kept apart from ERROR_CLASSES on purpose: those codes are the ones a conformance trace may
# expect from a runtime operation (the vector schema enumerates them); file errors are not.
PARAM_ERROR_CLASSES: tuple[type[ParamError], ...] = (
    ParamError,
    ParamFormatError,
    ParamLimitError,
    ParamCountError,
    ParamShapeError,
    ParamDtypeError,
    ParamFileError,
    TorchUnavailableError,
)
__all__ += [
    "PARAM_ERROR_CLASSES",
    "ParamError",
    "ParamFormatError",
    "ParamLimitError",
    "ParamCountError",
    "ParamShapeError",
    "ParamDtypeError",
    "ParamFileError",
    "TorchUnavailableError",
]

# --- branch conf: the conformance kit (targets, the runner protocol, settings) --------------


class TargetSelectorError(TorchLeanError, ValueError):
    """A ``--target`` selector that names no target (unknown name, bad ``module:`` path, empty ``exec:``)."""

    code = "TLR_TARGET_SELECTOR"


class TargetFailedError(TorchLeanError, RuntimeError):
    """The target under test failed as a program (crash, hang, closed pipe) — not a divergence.

    ``stderr_tail`` holds the last lines the runner wrote to stderr (``""`` if none)."""

    code = "TLR_TARGET_FAILED"

    def __init__(self, message: str, stderr_tail: str = ""):
        super().__init__(message)
        self.stderr_tail = stderr_tail


class TargetTimeoutError(TargetFailedError):
    """The target gave no answer within the per-step timeout."""

    code = "TLR_TARGET_TIMEOUT"


class ProtocolError(TargetFailedError):
    """A runner broke ``torchlean.runtime.protocol.v1``: garbage, a wrong answer shape, output out of turn."""

    code = "TLR_PROTOCOL"


# One class for a bad environment variable (the impl's): the conformance kit raises it too.
BadEnvironmentError = EnvironmentConfigError


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


ERROR_CLASSES = ERROR_CLASSES + (TargetSelectorError, TargetFailedError, TargetTimeoutError, ProtocolError,
                                 UsageError, UserPathError, OutputPathError)
__all__ += ["TargetSelectorError", "TargetFailedError", "TargetTimeoutError", "ProtocolError", "BadEnvironmentError",
            "UsageError", "UserPathError", "OutputPathError"]


# --- the command line's one error line ---------------------------------------------------------

#: Every command reports a failure as exactly one line on stderr, in this one form:
#: ``torchlean-rt: error: [CODE] message`` (tests and wrappers match on the prefix and the code).
CLI_ERROR_PREFIX = "torchlean-rt: error: "


def safe_repr(value: object, limit: int = 120) -> str:
    """``repr(value)`` for an error message: at most ``limit`` characters, printable, and the type
    name instead when the object's ``__repr__`` raises — building a message never fails and never
    grows with hostile input."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__
        return f"<{type(value).__name__} object>"
    return printable(text if len(text) <= limit else text[: limit - 1] + "…")


def printable(text: str) -> str:
    """``text`` with every character UTF-8 cannot encode escaped, so printing it never fails:
    a byte the OS kept as a surrogate escape (U+DC80..U+DCFF: a file name that is not UTF-8)
    becomes ``\\xNN``, any other lone surrogate (a ``\\ud800`` escape read from JSON)
    ``\\uXXXX``.  The one helper for every string from input that a command prints (paths,
    error messages, names and details read from files).  Linear; ``text`` itself when clean."""
    text = str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    return "".join(
        c if not 0xD800 <= ord(c) <= 0xDFFF
        else f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF
        else f"\\u{ord(c):04x}"
        for c in text
    )


def print_cli_error(code: str, message: str) -> None:
    """Write the one stderr line of a failed command: ``torchlean-rt: error: [CODE] message``
    (``message`` folded onto one line, unencodable characters escaped by :func:`printable`).
    ``code`` is a stable error code (``TLR_…``)."""
    import sys  # noqa: PLC0415 — only the command line needs it

    line = _bounded(" ".join(printable(message).split()))
    print(f"{CLI_ERROR_PREFIX}[{code}] {line}" if code else f"{CLI_ERROR_PREFIX}{line}", file=sys.stderr, flush=True)


__all__ += ["CLI_ERROR_PREFIX", "print_cli_error", "printable"]


def code_table() -> str:
    """Every stable code as the Markdown table of ``docs/errors.md`` (code, class, built-in base,
    the class docstring's first paragraph), in class-definition order; the command line's
    ``TLR_INTERNAL`` (a bug of torchlean-rt, no class) last.  The doc is checked against it."""
    def classes(cls: type) -> list:
        out = [cls]
        for sub in cls.__subclasses__():
            out += classes(sub)
        return out

    rows = ["| code | class | also a | meaning |", "| --- | --- | --- | --- |"]
    for cls in classes(TorchLeanError):
        builtin = next((b.__name__ for b in cls.__mro__[1:] if b.__module__ == "builtins" and b is not object), "")
        meaning = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        meaning = re.sub(r":\w+:`", "`", meaning).replace("``", "`").replace("|", "\\|")  # reST roles → Markdown
        rows.append(f"| `{cls.code}` | `{cls.__name__}` | `{builtin}` | {meaning} |")
    rows.append("| `TLR_INTERNAL` | — | — | A bug of torchlean-rt caught by the command line (exit 70); "
                "`TORCHLEAN_RT_DEBUG=1` shows the traceback. Please report it. |")
    return "\n".join(rows)


__all__ += ["code_table"]
