"""``torchlean.runtime.protocol.v1``: JSON lines over a runner's stdin/stdout (docs/protocol.md).

* :class:`ProcessTarget` — the client: runs a command (``exec:COMMAND``) as a
  :class:`~.target.Target`.  A runner that crashes, hangs past the per-step timeout, writes
  garbage, writes out of turn or closes a pipe raises
  :class:`~torchlean_runtime.errors.TargetFailedError` (or its subclasses
  ``TargetTimeoutError`` / ``ProtocolError``) carrying the tail of its stderr; its whole process
  group is killed, so no process is left behind.
* :func:`serve` — the server: any target (``torchlean-rt serve --target spec|impl``) behind the
  protocol on stdin/stdout.

One message per line, each a JSON object; the client writes one request and reads exactly one
response before the next request.  Requests carry an ``id`` the response echoes.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, BinaryIO, Mapping, Optional, Sequence

from torchlean_runtime.errors import ProtocolError, TargetFailedError, TargetTimeoutError, TorchLeanError, print_cli_error

from .target import DEFAULT_TIMEOUT, Answer, ObservedError, Target
from .vectors.execute import Crash
from .vectors.format import OPS, SCALAR_TYPES, Result, args_from_doc, args_to_doc, result_from_doc, result_to_doc

__all__ = ["PROTOCOL", "ProcessTarget", "serve", "MAX_LINE_BYTES", "STDERR_TAIL_BYTES"]

PROTOCOL = "torchlean.runtime.protocol.v1"
#: The longest message either side accepts (a v1 trace file is at most 8 MiB).
MAX_LINE_BYTES = 64 * 1024 * 1024
#: How much of a failed runner's stderr is reported.
STDERR_TAIL_BYTES = 2000
#: Seconds a runner gets to exit after ``shutdown`` before its process group is killed.
SHUTDOWN_GRACE = 2.0


class ProcessTarget(Target):
    """A subprocess speaking the protocol.  ``argv`` is run in its own process group (a new
    session), its stderr goes to a temporary file (read back for the failure report)."""

    offers_abstraction = False

    def __init__(self, argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT, env: Optional[Mapping[str, str]] = None):
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.argv = list(argv)
        self.timeout = float(timeout)
        self.name = "exec:" + " ".join(self.argv)
        self._buf = b""
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
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._out, selectors.EVENT_READ)
        self.runner: dict[str, Any] = {}
        self._deadline: Optional[float] = None
        self._timed_out = self._exited_early = False
        threading.Thread(target=self._watchdog, name=f"watchdog of {self.argv[0]}", daemon=True).start()
        self._handshake()

    # -- the transport -------------------------------------------------------------------------

    def stderr_tail(self) -> str:
        try:
            self._stderr.flush()
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - STDERR_TAIL_BYTES))
            return self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def _fail(self, cls: type, message: str) -> TargetFailedError:
        """Kill the runner, remember and return the failure (the caller raises it)."""
        self._kill()
        exc = cls(message, self.stderr_tail())
        self._failed = exc
        self._finish()
        return exc

    def _kill(self) -> None:
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        else:  # the leader exited; its children may live on in the group
            try:
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
            except OSError:
                pass
        self._selector.close()

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

    def _write(self, message: dict) -> None:
        data = (json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._in, view)
                view = view[n:]
        except (BrokenPipeError, OSError):
            self._proc.poll()
            raise self._fail(TargetFailedError, "the runner closed its stdin" + self._exit_note()) from None

    def _out_of_turn(self) -> None:
        """Anything on stdout before a request is sent is output out of turn (or EOF: gone)."""
        if self._buf:
            raise self._fail(ProtocolError, f"the runner wrote out of turn: {self._buf[:200]!r}")
        if self._selector.select(0):
            chunk = os.read(self._out, 65536)
            if not chunk:
                self._proc.poll()
                raise self._fail(TargetFailedError, "the runner closed its stdout" + self._exit_note())
            raise self._fail(ProtocolError, f"the runner wrote out of turn: {chunk[:200]!r}")

    def _watchdog(self) -> None:
        """Kills the runner's process group when an answer is overdue, or when the runner has
        exited while an answer is awaited (a child of it may still hold its stdout), so that the
        blocking read below ends with end-of-file.  A thread, so that the read itself needs no
        select per message (a pipe round trip costs ~100 µs on the CI machines already)."""
        while not self._closed:
            time.sleep(0.02)
            deadline = self._deadline
            if deadline is None:
                continue
            if time.monotonic() > deadline:
                self._timed_out = True
            elif self._proc.poll() is not None:
                self._exited_early = True
            else:
                continue
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._deadline = None

    def _read_line(self, what: str) -> bytes:
        self._timed_out = self._exited_early = False
        self._deadline = time.monotonic() + self.timeout
        try:
            while True:
                nl = self._buf.find(b"\n")
                if nl >= 0:
                    line, self._buf = self._buf[:nl], self._buf[nl + 1:]
                    return line
                if len(self._buf) > MAX_LINE_BYTES:
                    raise self._fail(ProtocolError, f"a line longer than {MAX_LINE_BYTES} bytes")
                chunk = os.read(self._out, 1 << 20)
                if not chunk:
                    if self._timed_out:
                        raise self._fail(TargetTimeoutError, f"no answer to {what} within {self.timeout:g}s (the runner hangs)")
                    try:
                        self._proc.wait(timeout=0.5)
                    except subprocess.TimeoutExpired:
                        pass
                    how = "exited" if self._exited_early else "closed its stdout"
                    raise self._fail(TargetFailedError, f"the runner {how} while answering {what}" + self._exit_note())
                self._buf += chunk
        finally:
            self._deadline = None

    def _request(self, message: dict, what: str) -> dict:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise TargetFailedError(f"{self.name}: the runner was shut down")
        self._out_of_turn()
        self._id += 1
        message["id"] = self._id
        self._write(message)
        line = self._read_line(what)
        if self._buf:
            raise self._fail(ProtocolError, f"the runner wrote more than one line in answer to {what}: {self._buf[:200]!r}")
        try:
            response = json.loads(line)
        except (ValueError, RecursionError):
            raise self._fail(ProtocolError, f"the answer to {what} is not JSON: {line[:200]!r}") from None
        if not isinstance(response, dict):
            raise self._fail(ProtocolError, f"the answer to {what} is not a JSON object: {line[:200]!r}")
        if response.get("id") != self._id:
            raise self._fail(ProtocolError, f"the answer to {what} has id {response.get('id')!r}, expected {self._id}")
        return response

    # -- the messages --------------------------------------------------------------------------

    def _handshake(self) -> None:
        r = self._request({"type": "hello", "protocol": PROTOCOL}, "hello")
        if r.get("type") != "hello" or r.get("protocol") != PROTOCOL:
            raise self._fail(ProtocolError, f"the hello answer must be {{'type': 'hello', 'protocol': {PROTOCOL!r}, …}}, given {str(r)[:200]}")
        scalar_types, operations = r.get("scalar_types"), r.get("operations")
        if not isinstance(scalar_types, list) or not all(isinstance(s, str) for s in scalar_types):
            raise self._fail(ProtocolError, "hello.scalar_types must be a list of scalar type names")
        if not isinstance(operations, list) or not all(isinstance(s, str) for s in operations):
            raise self._fail(ProtocolError, "hello.operations must be a list of Lean declaration names")
        unknown = sorted(set(scalar_types) - set(SCALAR_TYPES)) + sorted(set(operations) - set(OPS))
        if unknown:
            raise self._fail(ProtocolError, f"hello names unknown scalar types/operations {unknown[:5]}")
        self.scalar_types = frozenset(scalar_types)
        self.operations = frozenset(operations)
        self.runner = {"name": str(r.get("name", ""))[:200], "version": str(r.get("version", ""))[:200]}

    def reset(self, scalar_type: str) -> None:
        r = self._request({"type": "reset", "scalar_type": scalar_type}, "reset")
        if r.get("type") != "ok":
            raise self._fail(ProtocolError, f"the answer to reset must be {{'type': 'ok'}}, given {str(r)[:200]}")

    def call(self, op: str, args: Mapping[str, Any], bind: Optional[str] = None) -> Answer:
        message: dict[str, Any] = {"type": "call", "op": op, "args": args_to_doc(op, args)}
        if bind is not None:
            message["bind"] = bind
        r = self._request(message, f"call {op}")
        kind = r.get("type")
        if kind == "result":
            try:
                return result_from_doc(OPS[op].result, r.get("result"), f"the answer to {op}")
            except TorchLeanError as exc:
                raise self._fail(ProtocolError, f"malformed result: {exc.message[:300]}") from None
        if kind == "error":
            code = r.get("code")
            if not isinstance(code, str):
                raise self._fail(ProtocolError, f"an error answer needs a string 'code', given {str(r)[:200]}")
            return ObservedError(code, str(r.get("message", ""))[:500])
        if kind == "crash":  # an untyped failure of the implementation on this call: never a match
            return Crash("runner", str(r.get("message", ""))[:500])
        raise self._fail(ProtocolError, f"the answer to call {op} must have type 'result', 'error' or 'crash', given {str(r)[:200]}")

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


def _answer(target: Target, request: Any) -> dict:
    """The response to one request (never raises for a bad request: protocol_error)."""
    if not isinstance(request, dict):
        return {"type": "protocol_error", "message": "a request is a JSON object"}
    rid, kind = request.get("id"), request.get("type")
    out: dict[str, Any] = {"id": rid}
    if kind == "hello":
        if request.get("protocol") != PROTOCOL:
            return {**out, "type": "protocol_error", "message": f"this server speaks {PROTOCOL}"}
        return {**out, "type": "hello", "protocol": PROTOCOL, "name": f"torchlean-runtime {target.name}",
                "version": _version(), "scalar_types": sorted(target.scalar_types), "operations": sorted(target.operations)}
    if kind == "reset":
        st = request.get("scalar_type")
        if st not in target.scalar_types:
            return {**out, "type": "protocol_error", "message": f"scalar_type must be one of {sorted(target.scalar_types)}"}
        target.reset(st)
        return {**out, "type": "ok"}
    if kind == "call":
        op, bind = request.get("op"), request.get("bind")
        if op not in OPS or op not in target.operations:
            return {**out, "type": "protocol_error", "message": f"unknown or unsupported operation {op!r}"}
        if bind is not None and not isinstance(bind, str):
            return {**out, "type": "protocol_error", "message": "bind must be a string"}
        try:
            args = args_from_doc(op, request.get("args"), "args")
        except TorchLeanError as exc:
            return {**out, "type": "protocol_error", "message": exc.message[:500]}
        answer = target.call(op, args, bind)
        if isinstance(answer, Result):
            return {**out, "type": "result", "result": result_to_doc(answer)}
        if isinstance(answer, ObservedError):
            return {**out, "type": "error", "code": answer.code, "message": answer.message}
        assert isinstance(answer, Crash)
        return {**out, "type": "crash", "message": answer.describe()}
    if kind == "shutdown":
        return {**out, "type": "ok"}
    return {**out, "type": "protocol_error", "message": f"unknown request type {kind!r}"}


def _version() -> str:
    from torchlean_runtime import __version__

    return __version__


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
    loads, dumps = json.loads, json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    while True:
        line = rd.readline(MAX_LINE_BYTES + 1)
        if not line:
            return 0
        if len(line) > MAX_LINE_BYTES:
            response: dict = {"type": "protocol_error", "message": f"a line longer than {MAX_LINE_BYTES} bytes"}
            wr.write(dumps(response).encode("utf-8") + b"\n")
            wr.flush()
            return 2
        try:
            request = loads(line)
        except (ValueError, RecursionError):
            request, response = None, {"type": "protocol_error", "message": "not JSON"}
        else:
            response = _answer(target, request)
        wr.write(dumps(response).encode("utf-8") + b"\n")
        wr.flush()
        if isinstance(request, dict) and request.get("type") == "shutdown":
            return 0


def main(args: Any) -> int:
    """``torchlean-rt serve --target T``."""
    from .target import open_target

    try:
        target = open_target(args.target, timeout=getattr(args, "timeout", None) or DEFAULT_TIMEOUT)
    except TorchLeanError as exc:
        print_cli_error(exc.code, f"serve: {exc.message}")
        return 2 if not isinstance(exc, TargetFailedError) else 3
    try:
        return serve(target)
    finally:
        target.close()
