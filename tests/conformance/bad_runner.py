"""A protocol runner that answers like ``serve --target spec`` until call number ``AT``, then
misbehaves as MODE says.  Used by test_protocol.py; writes its pid (and a child's) to PIDFILE.

    python bad_runner.py MODE AT PIDFILE
"""
import json
import os
import subprocess
import sys
import time

from torchlean_runtime.conformance.protocol import _answer
from torchlean_runtime.conformance.target import spec_target

mode, at, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],  # a grandchild to clean up
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
with open(pidfile, "w") as fh:
    fh.write(f"{os.getpid()} {child.pid}\n")
target = spec_target()
calls = 0
out = sys.stdout
for line in sys.stdin:
    request = json.loads(line)
    if mode == "bad-hello" and request.get("type") == "hello":
        out.write('{"id": 1, "type": "hello", "protocol": "something.else"}\n')
        out.flush()
        continue
    if request.get("type") == "call":
        if calls == at:
            sys.stderr.write(f"bad_runner: misbehaving ({mode}) at call {calls}\n")
            sys.stderr.flush()
            if mode == "crash":
                os._exit(7)
            if mode == "hang":
                time.sleep(600)
            if mode == "garbage":
                out.write("this is not json\n")
                out.flush()
                continue
            if mode == "close":
                os.close(1)  # sys.stdout.close() would leave fd 1 open
                time.sleep(600)
            if mode == "two-lines":
                out.write(json.dumps(_answer(target, request)) + "\n" + json.dumps({"id": 99}) + "\n")
                out.flush()
                continue
            if mode == "wrong-id":
                answer = _answer(target, request)
                answer["id"] = -1
                out.write(json.dumps(answer) + "\n")
                out.flush()
                continue
            if mode == "bad-result":
                out.write(json.dumps({"id": request["id"], "type": "result", "result": {"type": "nonsense"}}) + "\n")
                out.flush()
                continue
        calls += 1
    out.write(json.dumps(_answer(target, request)) + "\n")
    out.flush()
    if mode == "out-of-turn" and calls == at:
        time.sleep(0.2)
        out.write('{"unsolicited": true}\n')
        out.flush()
    if request.get("type") == "shutdown":
        break
