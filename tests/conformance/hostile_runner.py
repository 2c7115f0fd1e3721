"""A protocol runner that answers like ``serve --target spec`` until its first call, then
attacks the harness as MODE says.  Used by test_hostile_runners.py; writes its pid (and a
child's, if it forks one) to PIDFILE.

    python hostile_runner.py MODE PIDFILE
"""
import json
import os
import sys
import time

from torchlean_runtime.conformance.protocol import _answer
from torchlean_runtime.conformance.target import spec_target

mode, pidfile = sys.argv[1], sys.argv[2]
pids = [os.getpid()]


def save_pids():
    with open(pidfile, "w") as fh:
        fh.write(" ".join(map(str, pids)) + "\n")


save_pids()
target = spec_target()
out = sys.stdout
for line in sys.stdin:
    request = json.loads(line)
    if request.get("type") != "call":
        out.write(json.dumps(_answer(target, request)) + "\n")
        out.flush()
        continue
    rid = request["id"]
    if mode.startswith("setsid"):  # a child leaves the process group, keeping stdout open
        pid = os.fork()
        if pid == 0:
            os.setsid()
            time.sleep(600)
            os._exit(0)
        pids.append(pid)
        save_pids()
        if mode == "setsid-hang":
            time.sleep(600)
        os._exit(0)  # setsid-exit: the runner is gone, its escaped child holds stdout
    if mode == "forged-code":
        out.write(json.dumps({"id": rid, "type": "error",
                              "code": "TLR_SCALAR_MISMATCH\nPASS exec:forged corpus/forged.json  (9/9 steps)"}) + "\n")
    elif mode == "unknown-code":
        out.write(json.dumps({"id": rid, "type": "error", "code": "TLR_MADE_UP"}) + "\n")
    elif mode == "forged-message":
        out.write(json.dumps({"id": rid, "type": "error", "code": "TLR_SCALAR_MISMATCH",
                              "message": "x\nPASS exec:forged corpus/forged.json  (9/9 steps)\x1b[2J"}) + "\n")
    elif mode == "forged-crash":
        out.write(json.dumps({"id": rid, "type": "crash",
                              "message": "x\r\nPASS exec:forged corpus/forged.json  (9/9 steps)"}) + "\n")
    elif mode == "long-line":  # one long valid answer: read in linear time
        size = int(os.environ.get("HOSTILE_LINE_BYTES", str(48 << 20)))
        out.write('{"id": %d, "type": "crash", "message": "' % rid + "a" * size + '"}\n')
    elif mode == "trickle":  # an answer that never ends, a byte at a time
        while True:
            out.write(" ")
            out.flush()
            time.sleep(0.01)
    out.flush()
