"""``torchlean.runtime.protocol.v1``: JSON lines over a runner's stdin/stdout (docs/protocol.md).

* :class:`ProcessTarget` — the client: runs a command (``exec:COMMAND``) as a
  :class:`~.target.Target`.  A runner that crashes, hangs past the per-step timeout, writes
  garbage, writes out of turn or closes a pipe raises
  :class:`~torchlean_runtime.errors.TargetFailedError` (or its subclasses
  ``TargetTimeoutError`` / ``ProtocolError``) carrying the tail of its stderr; its whole process
  group is killed, so no process is left behind.
* :func:`serve` — the server: any target (``torchlean-rt serve --target T``, any selector; ``spec``
  by default) behind the protocol on stdin/stdout; its hello names whose implementation answers
  (:func:`hello_identity`).

One message per line, each a JSON object; the client writes one request and reads exactly one
response before the next request.  Requests carry an ``id`` the response echoes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, BinaryIO, Mapping, Optional, Sequence

from torchlean_runtime.errors import (ProtocolError, TargetFailedError, TargetTimeoutError, TensorTooLargeError,
                                     TorchLeanError, TraceLimitError, print_cli_error)

from .target import DEFAULT_TIMEOUT, Answer, ObjectTarget, ObservedError, Target, one_line, printable_tail
from .vectors.execute import Crash
from .vectors.reader import check_tensor_limits, limits_from_env
from .vectors.format import (ERROR_CODES, HANDLE_PATTERN, OPS, SCALAR_TYPES, Result, args_from_doc, args_to_doc,
                             is_handle, is_one_of, result_from_doc, result_to_doc)

__all__ = ["PROTOCOL", "ProcessTarget", "serve", "MAX_LINE_BYTES", "STDERR_TAIL_BYTES", "one_line", "MAX_REQUEST_ID"]

PROTOCOL = "torchlean.runtime.protocol.v1"
#: The longest message either side accepts (a v1 trace file is at most 8 MiB).
MAX_LINE_BYTES = 64 * 1024 * 1024
#: How much of a failed runner's stderr is reported.
STDERR_TAIL_BYTES = 2000
#: Seconds a runner gets to exit after ``shutdown`` before its process group is killed.
SHUTDOWN_GRACE = 2.0
#: Request ids are JSON integers 0 … MAX_REQUEST_ID (docs/protocol.md, "Transport").
MAX_REQUEST_ID = (1 << 63) - 1
#: How often a waiting client checks whether the runner is still alive (seconds).
_POLL_SLICE = 0.05

#: Appended to a message about stdout lines that are not the answer: where such output belongs.
STDOUT_HINT = " (stdout carries the protocol's JSON lines only; write diagnostics to stderr)"


def _extra_lines(what: str, first: bytes, rest: bytes) -> str:
    """The message for an answer of several lines: every line (the first few), each marked as
    JSON or not, so the offending one — a stray ``debug: …`` print — is the one quoted."""
    lines = [first, *rest.split(b"\n")]
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last line

    def kind(line: bytes) -> str:
        try:
            return "a JSON object" if isinstance(json.loads(line), dict) else "JSON, not an object"
        except (ValueError, RecursionError):
            return "not JSON"

    shown = "; ".join(f"line {i + 1} ({kind(x)}): {x[:200]!r}" for i, x in enumerate(lines[:4]))
    more = f"; and {len(lines) - 4} more" if len(lines) > 4 else ""
    stray = [i + 1 for i, x in enumerate(lines) if kind(x) != "a JSON object"]
    which = f" — line{'s' if len(stray) > 1 else ''} {', '.join(map(str, stray[:10]))} not JSON" if stray else ""
    return (f"the runner wrote {len(lines)} lines in answer to {what}, one JSON line expected{which}: "
            f"{shown}{more}{STDOUT_HINT}")


class ProcessTarget(Target):
    """A subprocess speaking the protocol.  ``argv`` is run in its own process group (a new
    session), its stderr goes to a temporary file (read back for the failure report).

    Every wait is bounded by ``timeout``: reads and writes wait with ``poll`` on non-blocking
    pipes, never on end-of-file, so a process that escaped the group (``setsid``) and keeps a
    pipe open cannot hold the client.  On failure or close the group is killed with SIGKILL, and
    so is every live descendant of the runner that can still be found (``/proc``); a process that
    left both (re-parented after its parent exited) cannot be reaped — the client lets go of its
    pipes and finishes anyway."""

    offers_abstraction = False

    def __init__(self, argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT, env: Optional[Mapping[str, str]] = None):
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.argv = list(argv)
        self.timeout = float(timeout)
        self.name = "exec:" + " ".join(self.argv)
        self._buf = bytearray()
        self._id = 0
        self._closed = False
        self._failed: Optional[TargetFailedError] = None
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                start_new_session=True,  # its own process group: killed whole on failure
                env=None if env is None else dict(env),
            )
        except OSError as exc:
            self._stderr.close()
            self._closed = True
            raise TargetFailedError(f"cannot start {self.argv[0]!r}: {exc.strerror or exc}") from None
        self._out = self._proc.stdout.fileno()  # type: ignore[union-attr]
        self._in = self._proc.stdin.fileno()  # type: ignore[union-attr]
        os.set_blocking(self._out, False)
        os.set_blocking(self._in, False)
        self._poll_out = select.poll()
        self._poll_out.register(self._out, select.POLLIN | select.POLLHUP | select.POLLERR)
        self._poll_in = select.poll()
        self._poll_in.register(self._in, select.POLLOUT | select.POLLERR)
        self.runner: dict[str, Any] = {}
        # the reader's per-tensor limits on every answer, checked before it is decoded (an answer
        # may repeat a context's tensors, so the per-file total is only bounded by the line length)
        self.limits = dataclasses.replace(limits_from_env(), max_total_elements=MAX_LINE_BYTES)
        self._handshake()

    # -- the transport -------------------------------------------------------------------------

    def stderr_tail(self) -> str:
        try:
            self._stderr.flush()
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - STDERR_TAIL_BYTES))
            return printable_tail(self._stderr.read().decode("utf-8", "replace"))
        except (OSError, ValueError):
            return ""

    def _fail(self, cls: type, message: str) -> TargetFailedError:
        """Kill the runner, remember and return the failure (the caller raises it)."""
        self._kill()
        exc = cls(message, self.stderr_tail())
        self._failed = exc
        self._finish()
        return exc

    def _descendants(self) -> list[int]:
        """Live descendants of the runner (Linux ``/proc``; empty elsewhere): those that left its
        process group with ``setsid`` are still found while their parent lives."""
        children: dict[int, list[int]] = {}
        try:
            entries = os.listdir("/proc")
        except OSError:
            return []
        for entry in entries:
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
                ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
        found, todo = [], [self._proc.pid]
        while todo and len(found) < 10000:
            for child in children.get(todo.pop(), ()):
                found.append(child)
                todo.append(child)
        return found

    def _kill(self) -> None:
        """SIGKILL the runner's process group and every descendant still reachable, then reap the
        runner (bounded: never waits on a pipe another process may hold)."""
        stray = self._descendants() if self._proc.poll() is None else []
        for pid in stray:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:  # also when the leader exited: its children may live on in the group
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not refused
            pass

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        for f in (self._proc.stdin, self._proc.stdout):
            try:
                f.close()  # type: ignore[union-attr]
            except (OSError, ValueError):
                pass

    def _exit_note(self) -> str:
        code = self._proc.poll()
        if code is None:
            return ""
        if code < 0:
            try:
                return f" (killed by {signal.Signals(-code).name})"
            except ValueError:
                return f" (killed by signal {-code})"
        return f" (exit status {code})"

    def _wait(self, poller: Any, deadline: float, what: str) -> None:
        """Wait until ``poller`` reports the pipe ready; fail when the deadline passes (timeout)
        or the runner has exited (a child of it may still hold the pipe: no end-of-file comes)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail(TargetTimeoutError, f"no answer to {what} within {self.timeout:g}s (the runner hangs)")
            if poller.poll(max(1, int(min(left, _POLL_SLICE) * 1000) + 1)):
                return
            if self._proc.poll() is not None:
                if poller.poll(0):  # it answered, then exited: let the read see the answer
                    return
                raise self._fail(TargetFailedError, f"the runner exited while answering {what}" + self._exit_note())

    def _write(self, message: dict, what: str) -> None:
        data = (json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout
        try:
            while view:
                try:
                    n = os.write(self._in, view)
                except BlockingIOError:
                    self._wait(self._poll_in, deadline, what)
                    continue
                view = view[n:]
        except OSError:
            self._proc.poll()
            raise self._fail(TargetFailedError, "the runner closed its stdin" + self._exit_note()) from None

    def _read_chunk(self) -> Optional[bytes]:
        """What is on stdout now (``b""`` at end-of-file, None if nothing yet)."""
        try:
            return os.read(self._out, 1 << 20)
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def _out_of_turn(self) -> None:
        """Anything on stdout before a request is sent is output out of turn (or EOF: gone)."""
        if self._buf:
            raise self._fail(ProtocolError, f"the runner wrote out of turn: {bytes(self._buf[:200])!r}")
        if self._poll_out.poll(0):
            chunk = self._read_chunk()
            if chunk is None:
                return
            if not chunk:
                self._proc.poll()
                raise self._fail(TargetFailedError, "the runner closed its stdout" + self._exit_note())
            raise self._fail(ProtocolError, f"the runner wrote out of turn: {chunk[:200]!r}")

    def _read_line(self, what: str) -> bytes:
        """One line of stdout, within the timeout.  Linear in the line's length: chunks are
        appended to a bytearray and only the new chunk is searched for the newline."""
        deadline = time.monotonic() + self.timeout
        buf = self._buf
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl > MAX_LINE_BYTES:
                raise self._fail(ProtocolError, f"a line longer than {MAX_LINE_BYTES} bytes")
            if nl >= 0:
                line = bytes(buf[:nl])
                del buf[:nl + 1]
                return line
            start = len(buf)
            if len(buf) > MAX_LINE_BYTES:
                raise self._fail(ProtocolError, f"a line longer than {MAX_LINE_BYTES} bytes")
            if time.monotonic() > deadline:  # a runner trickling bytes never ends its line
                raise self._fail(TargetTimeoutError, f"no answer to {what} within {self.timeout:g}s (the runner hangs)")
            chunk = self._read_chunk()
            if chunk is None:
                self._wait(self._poll_out, deadline, what)
                continue
            if not chunk:
                try:
                    self._proc.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    pass
                how = "exited" if self._proc.poll() is not None else "closed its stdout"
                raise self._fail(TargetFailedError, f"the runner {how} while answering {what}" + self._exit_note())
            buf += chunk

    def _request(self, message: dict, what: str) -> dict:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise TargetFailedError(f"{self.name}: the runner was shut down")
        self._out_of_turn()
        self._id += 1
        message["id"] = self._id
        self._write(message, what)
        line = self._read_line(what)
        if self._buf:
            raise self._fail(ProtocolError, _extra_lines(what, line, bytes(self._buf)))
        try:
            response = json.loads(line)
        except (ValueError, RecursionError):
            raise self._fail(ProtocolError, f"the answer to {what} is not JSON: {line[:200]!r}{STDOUT_HINT}") from None
        if not isinstance(response, dict):
            raise self._fail(ProtocolError, f"the answer to {what} is not a JSON object: {line[:200]!r}")
        rid = response.get("id")
        if type(rid) is not int or rid != self._id:
            raise self._fail(ProtocolError, f"the answer to {what} has id {one_line(repr(rid), 100)}, expected {self._id}")
        return response

    # -- the messages --------------------------------------------------------------------------

    def _handshake(self) -> None:
        r = self._request({"type": "hello", "protocol": PROTOCOL}, "hello")
        if r.get("type") != "hello" or r.get("protocol") != PROTOCOL:
            raise self._fail(ProtocolError, f"the hello answer must be {{'type': 'hello', 'protocol': {PROTOCOL!r}, …}}, given {one_line(str(r), 200)}")
        scalar_types, operations = r.get("scalar_types"), r.get("operations")
        if not isinstance(scalar_types, list) or not all(isinstance(s, str) for s in scalar_types):
            raise self._fail(ProtocolError, "hello.scalar_types must be a list of scalar type names")
        if not isinstance(operations, list) or not all(isinstance(s, str) for s in operations):
            raise self._fail(ProtocolError, "hello.operations must be a list of Lean declaration names")
        unknown = sorted(set(scalar_types) - set(SCALAR_TYPES)) + sorted(set(operations) - set(OPS))
        if unknown:
            raise self._fail(ProtocolError, f"hello names unknown scalar types/operations {one_line(str(unknown[:5]), 300)}")
        self.scalar_types = frozenset(scalar_types)
        self.operations = frozenset(operations)
        self.runner = {"name": one_line(r.get("name", ""), 200), "version": one_line(r.get("version", ""), 200)}

    def reset(self, scalar_type: str) -> None:
        r = self._request({"type": "reset", "scalar_type": scalar_type}, "reset")
        if r.get("type") != "ok":
            raise self._fail(ProtocolError, f"the answer to reset must be {{'type': 'ok'}}, given {one_line(str(r), 200)}")

    def call(self, op: str, args: Mapping[str, Any], bind: Optional[str] = None) -> Answer:
        message: dict[str, Any] = {"type": "call", "op": op, "args": args_to_doc(op, args)}
        if bind is not None:
            message["bind"] = bind
        r = self._request(message, f"call {op}")
        kind = r.get("type")
        if kind == "result":
            try:
                check_tensor_limits(r.get("result"), f"the answer to {op}", self.limits)  # before decoding
                return result_from_doc(OPS[op].result, r.get("result"), f"the answer to {op}")
            except TorchLeanError as exc:
                raise self._fail(ProtocolError, f"malformed result: {one_line(exc.message, 300)}") from None
        if kind == "error":
            code = r.get("code")
            if not is_one_of(code, ERROR_CODES):
                raise self._fail(ProtocolError, f"an error answer needs 'code', one of the stable codes of docs/vectors.md "
                                                f"(\"Error codes\"), given {one_line(repr(code), 200)}")
            return ObservedError(code, one_line(r.get("message", "")))
        if kind == "crash":  # an untyped failure of the implementation on this call: never a match
            return Crash("runner", one_line(r.get("message", "")))
        raise self._fail(ProtocolError, f"the answer to call {op} must have type 'result', 'error' or 'crash', given {one_line(str(r), 200)}")

    def close(self) -> None:
        if self._closed:
            return
        if self._failed is None:
            try:
                self._request({"type": "shutdown"}, "shutdown")
            except TargetFailedError:
                return  # already killed and reaped by _fail
            try:
                self._proc.wait(timeout=SHUTDOWN_GRACE)
            except subprocess.TimeoutExpired:
                pass
        self._kill()
        self._finish()
        self._stderr.close()

    def __del__(self) -> None:  # a forgotten target must not leave a process behind
        try:
            if not self._closed:
                self._kill()
                self._finish()
        except Exception:  # noqa: BLE001
            pass


# --- the server ---------------------------------------------------------------------------


def _valid_id(rid: Any) -> bool:
    """A request id: a JSON integer 0 … MAX_REQUEST_ID (not a bool, float, string or null)."""
    return type(rid) is int and 0 <= rid <= MAX_REQUEST_ID


def _answer(target: Target, request: Any, session: Optional[dict] = None) -> dict:
    """The response to one request (never raises for a bad request: protocol_error).
    ``session`` carries what the connection remembers (whether a ``reset`` was answered)."""
    if session is None:
        session = {"reset": getattr(target, "scalar_type", True) is not None}
    if not isinstance(request, dict):
        return {"id": None, "type": "protocol_error", "message": "a request is a JSON object"}
    rid, kind = request.get("id"), request.get("type")
    if not _valid_id(rid):
        return {"id": None, "type": "protocol_error",
                "message": f"id must be a JSON integer 0 … {MAX_REQUEST_ID}, given {one_line(repr(rid), 100)}"}
    out: dict[str, Any] = {"id": rid}
    if kind == "hello":
        if request.get("protocol") != PROTOCOL:
            return {**out, "type": "protocol_error", "message": f"this server speaks {PROTOCOL}"}
        return {**out, "type": "hello", "protocol": PROTOCOL, **hello_identity(target),
                "scalar_types": sorted(target.scalar_types), "operations": sorted(target.operations)}
    if kind == "reset":
        st = request.get("scalar_type")
        if not is_one_of(st, target.scalar_types):
            return {**out, "type": "protocol_error", "message": f"scalar_type must be one of {sorted(target.scalar_types)}"}
        try:
            target.reset(st)
        except TargetFailedError as exc:
            return {**out, "type": "protocol_error", "message": f"reset failed: {one_line(exc.message)}"}
        session["reset"] = True
        return {**out, "type": "ok"}
    if kind == "call":
        op, bind = request.get("op"), request.get("bind")
        if not is_one_of(op, OPS) or op not in target.operations:
            return {**out, "type": "protocol_error", "message": f"unknown or unsupported operation {one_line(repr(op), 200)}"}
        if not session.get("reset"):
            return {**out, "type": "protocol_error", "message": "call before reset: send a reset first"}
        if bind is not None and not is_handle(bind):
            return {**out, "type": "protocol_error", "message": f"bind must be a handle matching {HANDLE_PATTERN}"}
        if bind is not None and OPS[op].result not in ("context", "variable"):  # docs/protocol.md, "call"
            return {**out, "type": "protocol_error",
                    "message": f"bind: {op} returns a {OPS[op].result}; only contexts and variables are bound"}
        try:  # the trace reader's tensor limits, before anything is decoded or allocated
            check_tensor_limits(request.get("args"), "args", session.get("limits"))
        except TraceLimitError as exc:
            return {**out, "type": "error", "code": TensorTooLargeError.code, "message": one_line(exc.message)}
        try:
            args = args_from_doc(op, request.get("args"), "args")
        except TorchLeanError as exc:
            return {**out, "type": "protocol_error", "message": one_line(exc.message)}
        # (every context/variable argument is a handle, is_handle: args_from_doc refuses any other)
        try:
            answer = target.call(op, args, bind)
        except TargetFailedError as exc:
            return {**out, "type": "protocol_error", "message": one_line(exc.message)}
        if isinstance(answer, Result):
            return {**out, "type": "result", "result": result_to_doc(answer)}
        if isinstance(answer, ObservedError):
            return {**out, "type": "error", "code": answer.code, "message": answer.message}
        assert isinstance(answer, Crash)
        return {**out, "type": "crash", "message": answer.describe()}
    if kind == "shutdown":
        return {**out, "type": "ok"}
    return {**out, "type": "protocol_error", "message": f"unknown request type {one_line(repr(kind), 100)}"}


def _version() -> str:
    from torchlean_runtime import __version__

    return __version__


def hello_identity(target: Target) -> dict:
    """``name`` and ``version`` of ``serve``'s hello: whose implementation answers.

    * ``spec`` / ``impl``: ``torchlean-runtime spec`` (``… impl``) and this package's version;
    * an ``exec:`` runner (serve is then a proxy): the runner's own ``name`` and ``version`` from
      its hello; without a name, ``proxy for exec:COMMAND`` (and no version it did not give);
    * a ``module:`` or entry-point adapter: its ``name``, and its ``version`` attribute when it
      has a string one (no version is made up for it)."""
    from .target import _AdapterTarget

    if isinstance(target, _AdapterTarget):
        return {"name": f"torchlean-runtime {target.name}", "version": _version()}
    if isinstance(target, ProcessTarget):
        runner = getattr(target, "runner", None) or {}
        name, version = runner.get("name", ""), runner.get("version", "")
        return {"name": name or f"proxy for {one_line(target.name, 200)}", **({"version": version} if version else {})}
    try:
        version = getattr(target, "version", None)
    except Exception:  # noqa: BLE001 - an adapter's property: no version rather than no hello
        version = None
    return {"name": one_line(target.name, 200), **({"version": one_line(version, 200)} if isinstance(version, str) and version else {})}


def serve(target: Target, stdin: Optional[BinaryIO] = None, stdout: Optional[BinaryIO] = None) -> int:
    """Answer requests from ``stdin`` until ``shutdown`` or end of input; 0 on a clean end."""
    rd = stdin if stdin is not None else sys.stdin.buffer
    wr = stdout if stdout is not None else sys.stdout.buffer
    try:
        return _serve(target, rd, wr)
    except (BrokenPipeError, ConnectionResetError):  # the harness went away: nothing to answer
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), wr.fileno())  # no flush error at exit
        except (OSError, ValueError, AttributeError):
            pass
        return 0


def _serve(target: Target, rd: BinaryIO, wr: BinaryIO) -> int:
    loads = json.loads
    # ASCII-only, no NaN/Infinity: every line written is valid JSON whatever a request held
    # (a lone surrogate in a string is escaped, never an encoding error)
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode
    session: dict = {"reset": False, "limits": limits_from_env()}
    while True:
        line = rd.readline(MAX_LINE_BYTES + 1)
        if not line:
            return 0
        if len(line) > MAX_LINE_BYTES:
            response: dict = {"id": None, "type": "protocol_error", "message": f"a line longer than {MAX_LINE_BYTES} bytes"}
            wr.write(dumps(response).encode("utf-8") + b"\n")
            wr.flush()
            return 2
        try:
            request = loads(line)
        except (ValueError, RecursionError):
            request, response = None, {"id": None, "type": "protocol_error", "message": "not JSON"}
        else:
            response = _answer(target, request, session)
        try:
            data = dumps(response)
        except (ValueError, TypeError, RecursionError):  # pragma: no cover - every field is checked
            data = dumps({"id": None, "type": "protocol_error", "message": "the answer cannot be written as JSON"})
        wr.write(data.encode("ascii") + b"\n")
        wr.flush()
        if response.get("type") == "ok" and isinstance(request, dict) and request.get("type") == "shutdown":
            return 0


def main(args: Any) -> int:
    """``torchlean-rt serve --target T``."""
    from .target import open_target

    timeout = getattr(args, "timeout", None)
    if timeout is not None and not (0 < timeout < math.inf):
        print_cli_error("TLR_USAGE", "serve: --timeout must be a positive, finite number of seconds")
        return 2
    try:
        target = open_target(args.target, timeout=timeout or DEFAULT_TIMEOUT)
    except TorchLeanError as exc:
        print_cli_error(exc.code, f"serve: {exc.message}")
        return 2 if not isinstance(exc, TargetFailedError) else 3
    try:
        return serve(target)
    finally:
        target.close()
