"""What an outside implementer meets first (the defects a fresh user reported): exit statuses,
reproduce commands, shard numbering, runner messages, which implementations a report ran, the
hostile caller's explanations.  Expected values come from docs/conformance.md, docs/protocol.md
and the README, never from the code under test."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from torchlean_runtime import cli

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PY = shlex.quote(sys.executable)

# a runner answering like `serve --target spec`, but whose hello declares OPERATIONS (JSON)
RUNNER = """
import json, sys
from torchlean_runtime.conformance.protocol import _answer
from torchlean_runtime.conformance.target import spec_target
target = spec_target()
ops = json.loads(sys.argv[1])
stray = sys.argv[2] if len(sys.argv) > 2 else ""
for line in sys.stdin:
    request = json.loads(line)
    answer = _answer(target, request)
    if request.get("type") == "hello" and ops is not None:
        answer["operations"] = ops
    if stray and request.get("type") == stray:
        sys.stdout.write("debug: " + stray + "\\n")
    sys.stdout.write(json.dumps(answer) + "\\n")
    sys.stdout.flush()
"""


def _runner(tmp_path: Path, ops, stray: str = "") -> str:
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    return f"exec:{PY} {shlex.quote(str(script))} {shlex.quote(json.dumps(ops))} {stray}".rstrip()


def _doc_exit_table() -> dict[int, str]:
    text = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    section = text[text.index("## Exit status (replay and fuzz)"):]
    section = section[:section.index("\n## ", 5)]
    return {int(line.split("|")[1]): line.split("|")[2] for line in section.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()}


# --- 2. fuzz's exit status follows the documented table -------------------------------------


def test_the_doc_says_nothing_covered_is_status_1():
    assert "nothing covered at all" in _doc_exit_table()[1]


def test_fuzz_with_nothing_covered_exits_1(tmp_path, capsys):
    status = cli.main(["fuzz", "--rounds", "1", "--programs", "3", "--seed", "1", "--out", str(tmp_path / "f"),
                       "--target", _runner(tmp_path, [])])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "nothing covered" in out


def test_replay_with_nothing_covered_exits_1_too(tmp_path, capsys):
    corpus = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus" / "random"
    status = cli.main(["replay", str(corpus), "--target", _runner(tmp_path, [])])
    assert status == 1


def test_fuzz_merge_of_campaigns_that_covered_nothing_exits_1(tmp_path, capsys):
    summary = tmp_path / "s.json"
    cli.main(["fuzz", "--rounds", "1", "--programs", "3", "--seed", "1", "--out", str(tmp_path / "f"),
              "--json", str(summary), "--target", _runner(tmp_path, [])])
    assert cli.main(["fuzz", "merge", str(summary), str(summary)]) == 1
    assert "nothing covered" in capsys.readouterr().out


# --- 3. the printed reproduce command reproduces ---------------------------------------------


def _cli_env(**extra: str) -> dict:
    import os

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra)
    env.pop("TORCHLEAN_RT_DEBUG", None)
    return env


def _sh(command: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=_cli_env(**extra), capture_output=True, text=True,
                          timeout=300)


def test_the_reproduce_command_of_fuzz_hostile_reproduces(tmp_path):
    """The leaky adapter hands out its state: only the hostile caller finds it.  The printed
    command alone (run in the same directory) must fail the same way; without --hostile it
    would pass — so the flag must be in it."""
    fuzzed = _sh(f"torchlean-rt fuzz --target module:leaky_adapter:LeakyTarget --hostile --rounds 1 --programs 20 "
                 f"--seed 1 --out failures", tmp_path, PYTHONPATH=str(HERE))
    assert fuzzed.returncode == 1, fuzzed.stdout + fuzzed.stderr
    [command] = [line.split("reproduce with: ", 1)[1] for line in fuzzed.stdout.splitlines() if "reproduce with: " in line]
    assert " --hostile" in command and "--target module:leaky_adapter:LeakyTarget" in command
    again = _sh(command, tmp_path)  # PYTHONPATH comes from the command itself
    assert again.returncode == 1 and again.stdout.startswith("target: ") and "\nFAIL leaky-adapter " in again.stdout, \
        again.stdout + again.stderr
    polite = _sh(command.replace(" --hostile", ""), tmp_path)
    assert polite.returncode == 0, polite.stdout  # the flag is what decides the verdict


def test_the_reproduce_command_carries_the_settings_in_force(tmp_path):
    from types import SimpleNamespace

    from torchlean_runtime.proofs.differential.fuzz import reproduce_command

    import os
    old = dict(os.environ)
    try:
        os.environ["TORCHLEAN_RT_CHECK"] = "off"
        cmd = reproduce_command("f/x y.json", SimpleNamespace(target="exec:./my runner", hostile=False, timeout=2.5))
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert cmd == "TORCHLEAN_RT_CHECK=off torchlean-rt replay 'f/x y.json' --target 'exec:./my runner' --timeout 2.5"


# --- 4. --shard I/N is 1-based in verify and fuzz, with one message ---------------------------


@pytest.mark.parametrize("bad", ["0/2", "3/2", "x", "1/0"])
def test_shard_is_refused_the_same_way_by_verify_and_fuzz(bad, capsys):
    assert cli.main(["verify", "--quick", "--list", "--shard", bad]) == 2
    verify_err = capsys.readouterr().err
    assert cli.main(["fuzz", "--rounds", "1", "--shard", bad]) == 2
    fuzz_err = capsys.readouterr().err
    message = verify_err.split("[TLR_USAGE] ", 1)[1].strip()
    assert "1 <= I <= N" in message and message in fuzz_err


def test_the_readme_says_shards_count_from_1():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`--shard I/N` counts from 1 in `verify` and `fuzz` alike" in readme


def test_fuzz_shard_2_of_2_is_the_second_half(tmp_path):
    assert cli.main(["fuzz", "--rounds", "2", "--programs", "2", "--seed", "3", "--shard", "2/2",
                     "--json", str(tmp_path / "s.json"), "--out", str(tmp_path / "f")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["rounds"] == [1]


# --- 6. the first line of a report names what was run -----------------------------------------


def test_replay_and_fuzz_say_when_they_ran_this_package_only(tmp_path, capsys):
    corpus = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus" / "random"
    assert cli.main(["replay", str(corpus)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == \
        "target: both (this package's spec and impl — pass --target to test your implementation)"
    assert cli.main(["fuzz", "--rounds", "1", "--programs", "2", "--seed", "1", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == \
        "fuzz: target: impl (this package's impl — pass --target to test your implementation)"
    runner = _runner(tmp_path, None)
    cli.main(["replay", str(corpus), "--target", runner])
    assert capsys.readouterr().out.splitlines()[0] == f"target: {runner}"


def test_the_readme_synopsis_does_not_make_target_look_required():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "torchlean-rt replay FILE_OR_DIR... [--target T]" in readme
    assert "torchlean-rt fuzz [--target T]" in readme


# --- 5. a stray stdout line is the one quoted -------------------------------------------------


def test_a_stray_line_before_the_answer_is_the_line_reported(tmp_path, capsys):
    """docs/protocol.md: one JSON line per request; the message must quote the line that is not
    one (here `debug: reset`, printed before a valid answer), not only the valid answer."""
    corpus = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus" / "random"
    status = cli.main(["replay", str(corpus), "--target", _runner(tmp_path, None, "reset")])
    assert status == 3
    text = capsys.readouterr()
    report = text.out + text.err
    assert "b'debug: reset'" in report and "not JSON" in report and "stderr" in report


def test_the_extra_lines_message_marks_each_line():
    from torchlean_runtime.conformance.protocol import _extra_lines

    message = _extra_lines("reset", b"debug: reset", b'{"id": 2, "type": "ok"}\n')
    assert "line 1 (not JSON): b'debug: reset'" in message and "line 2 (a JSON object)" in message
    message = _extra_lines("call", b'{"id": 3}', b'oops\n')
    assert "line 2 (not JSON): b'oops'" in message


# --- 7. failures after the harness mutated something say so -----------------------------------


def _fuzz(tmp_path: Path, target: str, *more: str) -> subprocess.CompletedProcess:
    return _sh(f"torchlean-rt fuzz --target {target} --rounds 1 --programs 20 --seed 1 --out failures {' '.join(more)}",
               tmp_path, PYTHONPATH=str(HERE))


def test_a_crash_after_the_hostile_caller_says_what_the_harness_did(tmp_path):
    """fuzz --hostile deletes attributes of the plain object the leaky adapter returned: the
    later AttributeError must come with the reason (docs/conformance.md, hostile caller)."""
    out = _fuzz(tmp_path, "module:leaky_adapter:LeakyTarget", "--hostile").stdout
    [line] = [x for x in out.splitlines() if x.startswith("fuzz: DIVERGENCE")]
    assert "crash AttributeError" in line and "after the harness mutated the objects earlier calls returned" in line


def test_a_crash_after_input_attacks_says_the_arrays_were_overwritten(tmp_path):
    corpus = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus"
    done = _sh(f"torchlean-rt replay {shlex.quote(str(corpus))} --target module:leaky_adapter:AliasingTarget",
               tmp_path, PYTHONPATH=str(HERE))
    fails = [x for x in done.stdout.splitlines() if "actual:" in x and "crash" in x]
    assert fails and all("after the harness overwrote the arrays it had passed in to earlier calls" in x for x in fails)


def test_without_attacks_there_is_no_such_note():
    from torchlean_runtime.conformance.target import ObjectTarget

    t = ObjectTarget()
    t.reset("Float")
    assert t.attack_note() == ""


# --- 8. fuzz attacks the arrays passed in, as replay does and as the doc says ----------------


def test_an_aliasing_adapter_fails_fuzz_as_it_fails_replay(tmp_path):
    doc = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    assert "hostile caller** during `replay` and `fuzz`" in doc
    fuzzed = _fuzz(tmp_path, "module:leaky_adapter:AliasingTarget")
    assert fuzzed.returncode == 1, fuzzed.stdout
    corpus = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus"
    replayed = _sh(f"torchlean-rt replay {shlex.quote(str(corpus))} --target module:leaky_adapter:AliasingTarget",
                   tmp_path, PYTHONPATH=str(HERE))
    assert replayed.returncode == 1


def test_the_hostility_table_of_the_doc_is_what_fuzz_and_replay_do():
    from torchlean_runtime.conformance.vectors.replay import hostility
    from torchlean_runtime.proofs.differential.fuzz import fuzz_hostility

    attacked = {False: ("—", "—"), "inputs": ("attacked", "—"), True: ("attacked", "attacked")}
    rows = {
        "`replay` (module:, entry points)": hostility("module:x:y"),
        "`replay --target impl`": hostility("impl"),
        "`replay --hostile`": hostility("module:x:y", True),
        "`fuzz` (module:, entry points)": fuzz_hostility("module:x:y", False),
        "`fuzz --target impl` / `spec`": fuzz_hostility("impl", False),
        "`fuzz --hostile`": fuzz_hostility("module:x:y", True),
    }
    doc = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    for row, mode in rows.items():
        assert f"| {row} | {attacked[mode][0]} | {attacked[mode][1]} |" in doc, row


# --- 9. what observe returns, per result kind, documented and kept equal ---------------------


def test_the_observe_table_covers_every_result_kind_and_is_the_generated_one():
    import re

    from torchlean_runtime.conformance.target import OBSERVE_CONTRACT, observe_contract
    from torchlean_runtime.conformance.vectors.format import RESULT_KINDS

    assert set(OBSERVE_CONTRACT) == set(RESULT_KINDS)
    doc = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- observe-contract:begin[^\n]*-->\n(.*?)\n<!-- observe-contract:end -->", doc, re.S)
    assert block is not None and block.group(1) == observe_contract()
    for kind in RESULT_KINDS:
        assert f"| `{kind}` |" in block.group(1)


@pytest.mark.parametrize("kind", ["context", "variable", "tensor", "option_tensor", "scalar", "bool", "nat",
                                  "string", "names"])
def test_each_documented_example_is_a_valid_result(kind):
    """The examples of the table are accepted by Result itself (format.RESULT_KINDS' checker)."""
    from torchlean_runtime.conformance.target import OBSERVE_CONTRACT
    from torchlean_runtime.conformance.vectors.bits import ScalarBits, TensorBits
    from torchlean_runtime.conformance.vectors.format import ContextState, Result, VariableState

    example = OBSERVE_CONTRACT[kind][1].strip("`")
    value = eval(example, {"ContextState": ContextState, "VariableState": VariableState,  # noqa: S307
                           "TensorBits": TensorBits, "ScalarBits": ScalarBits})
    Result(kind, value)
    if kind == "names":  # the doc says a tuple, not a list: a list is refused
        from torchlean_runtime.errors import TraceFormatError

        with pytest.raises(TraceFormatError):
            Result(kind, list(value))


# --- 10. the docs say how to parse the 64-bit integers ----------------------------------------


@pytest.mark.parametrize("doc", ["docs/protocol.md", "docs/vectors.md"])
def test_the_docs_say_integers_are_64_bit_unsigned_and_how_to_parse_them(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert "> **64-bit integers.**" in text
    start = text.index("> **64-bit integers.**")
    para = text[start:text.index("\n\n", start)]
    for must in ("2^64-1", "64-bit **unsigned** integers", "2^53", "UseNumber()", "BigInt", "Python: `json.loads`"):
        assert must in para, must


def test_the_corpus_really_has_a_64_bit_id():
    """What the paragraph warns about is real: the corpus has an id a double cannot hold."""
    corpus = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus" / "random" / "random-1.float64.json"
    text = corpus.read_text(encoding="utf-8")
    assert '"id": 18446744073709551615' in text
    assert float(18446744073709551615) != 18446744073709551615 or int(float(18446744073709551615)) != 18446744073709551615


def test_protocol_md_says_it_at_the_top():
    head = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8").split("## Transport")[0]
    assert "64-bit unsigned integers" in head


# --- 11. failure reports carry the vector's description ---------------------------------------


def _broken_copy(tmp_path: Path) -> tuple[Path, str]:
    """The corpus' fold-order vector with its last expected norm's bits changed."""
    src = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus" / "Runtime.Variable.variableNorm" / "fold-order.float64.json"
    doc = json.loads(src.read_text(encoding="utf-8"))
    last = next(s for s in reversed(doc["steps"]) if s.get("expect", {}).get("type") == "scalar")
    last["expect"]["bits"] = str(int(last["expect"]["bits"]) ^ 1)
    out = tmp_path / "fold-order.json"
    out.write_text(json.dumps(doc))
    return out, doc["description"]


def test_the_text_report_of_a_failure_quotes_the_vectors_description(tmp_path, capsys):
    path, description = _broken_copy(tmp_path)
    assert description  # the corpus explains its fold-order vectors (vectors.md: `description`)
    assert cli.main(["replay", str(path), "--target", "spec"]) == 1
    out = capsys.readouterr().out
    assert f"      about:    {' '.join(description.split())}" in out


def test_the_json_report_carries_it_and_validates_against_the_schema(tmp_path, capsys):
    import jsonschema

    path, description = _broken_copy(tmp_path)
    assert cli.main(["replay", str(path), "--target", "spec", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    schema = json.loads((ROOT / "torchlean_runtime" / "conformance" / "report_schema_v1.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(report)
    [entry] = report["files"]
    assert entry["status"] == "diverged" and entry["description"] == description


def test_the_extended_schema_still_accepts_reports_without_the_new_fields(tmp_path, capsys):
    """Compatible: a report written before description/after_attacks existed still validates."""
    import jsonschema

    path, _ = _broken_copy(tmp_path)
    cli.main(["replay", str(path), "--target", "spec", "--json"])
    report = json.loads(capsys.readouterr().out)
    for entry in report["files"]:
        entry.pop("description")
        if entry["divergence"]:
            entry["divergence"].pop("after_attacks")
    schema = json.loads((ROOT / "torchlean_runtime" / "conformance" / "report_schema_v1.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(report)


def test_a_plain_divergence_of_the_impl_is_not_blamed_on_the_attacks(tmp_path, capsys):
    path, _ = _broken_copy(tmp_path)
    assert cli.main(["replay", str(path), "--target", "impl"]) == 1
    assert "after the harness" not in capsys.readouterr().out


# --- 12. the advice after a divergence is for the person who ran it ---------------------------


def test_fuzz_tells_an_outside_user_to_keep_the_trace_in_their_own_suite(tmp_path):
    out = _fuzz(tmp_path, "module:leaky_adapter:LeakyTarget", "--hostile").stdout
    last = out.splitlines()[-1]
    assert "your own test suite" in last and "replay" in last
    assert "torchlean_runtime/conformance/vectors/regressions" not in out


# --- nitpicks -------------------------------------------------------------------------------------


def test_fuzz_merge_help_is_its_own(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["fuzz", "merge", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: torchlean-rt fuzz merge") and "--engine" not in out and "--seconds" not in out


def test_vectors_generate_and_fuzz_timeout_explain_themselves(capsys):
    with pytest.raises(SystemExit):
        cli.main(["vectors", "generate", "--help"])
    assert "OUT_DIR" in capsys.readouterr().out.split("positional arguments:")[1]
    with pytest.raises(SystemExit):
        cli.main(["fuzz", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "runner may take per message (default 10)" in out  # target.DEFAULT_TIMEOUT, as replay's help


def test_a_runner_that_cannot_start_is_not_buried_under_not_run_lines(tmp_path, capsys):
    corpus = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus"
    assert cli.main(["replay", str(corpus), "--target", "exec:./nope"]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert "cannot start './nope'" in lines[1]
    assert len(lines) < 10 and any("more files" in x for x in lines)


def test_an_unknown_mutant_name_is_an_environment_error(capsys, monkeypatch):
    monkeypatch.setenv("TORCHLEAN_RT_MUTANT", "bogus")
    assert cli.main(["fuzz", "merge", "x.json"]) == 2
    assert "[TLR_ENVIRONMENT]" in capsys.readouterr().err


def test_a_saved_failure_is_tagged_nan_propagation_only_if_it_has_nan_arithmetic():
    from dataclasses import replace

    from torchlean_runtime.conformance.vectors.reader import read_trace
    from torchlean_runtime.proofs.differential.fuzz import honest_tags

    folder = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus"
    nan = read_trace(str(folder / "Runtime.Variable.accumulateGradient" / "nan-propagation.float64.json"))
    assert "nan-propagation" in nan.tags and honest_tags(nan).tags == nan.tags  # the corpus says it has NaN sums
    plain = read_trace(str(folder / "Runtime.Variable.accumulateGradient" / "basic.float64.json"))
    assert "nan-propagation" not in plain.tags
    assert "nan-propagation" not in honest_tags(replace(plain, tags=plain.tags + ("nan-propagation",))).tags


def test_a_string_divergence_points_at_the_first_differing_character():
    from torchlean_runtime.conformance.vectors.format import Result
    from torchlean_runtime.conformance.vectors.replay import _first_difference

    where = _first_difference(Result("string", "Variable w"), Result("string", "Variable v"))
    assert where.startswith("character 9: 'v' (U+0076), expected 'w' (U+0077)")
    assert _first_difference(Result("string", "ab"), Result("string", "a")).startswith("character 1: the string ends")
    assert _first_difference(Result("names", ("a", "b")), Result("names", ("b", "a"))) == "name 0 is 'b', expected 'a'"


# --- 13. the hostile-caller note only where the attacks made the difference --------------------


def _failure_blocks(report: str) -> list[str]:
    """Each FAIL line of a text report with its indented lines."""
    blocks: list[str] = []
    for line in report.splitlines():
        if line.startswith("FAIL "):
            blocks.append(line)
        elif line.startswith("      ") and blocks:
            blocks[-1] += "\n" + line
    return [b for b in blocks if not b.startswith("FAIL:")]


def _register_then(tmp_path: Path, op: str, expect) -> Path:
    """A trace: emptyContext, registerVariable w (its array is attacked after the call), then ``op``."""
    import numpy as np

    from torchlean_runtime.conformance.vectors.bits import TensorBits
    from torchlean_runtime.conformance.vectors.format import ContextState, Result, Step, Trace, write_trace

    one = TensorBits.from_array(np.array([1.0]))
    trace = Trace("Float", (
        Step("Runtime.emptyContext", {}, "c0", Result("context", ContextState((), (), 0))),
        Step("Runtime.registerVariable", {"ctx": "c0", "name": "w", "value": one}, "c1",
             Result("context", ContextState((("w", one),), (), 1))),
        Step(op, {"ctx": "c1"}, None, expect),
    ))
    path = tmp_path / f"{op}.json"
    write_trace(trace, path)
    return path


def test_replay_does_not_blame_the_attacks_for_an_adapters_own_crash(tmp_path):
    """copying_adapter copies every array it is given; its contextSize raises ValueError on a
    non-empty context — after registerVariable's array was attacked, but not because of it."""
    from torchlean_runtime.conformance.vectors.format import Result

    path = _register_then(tmp_path, "Runtime.contextSize", Result("nat", 1))
    done = _sh(f"torchlean-rt replay {shlex.quote(str(path))} --target module:copying_adapter:CopyingTarget",
               tmp_path, PYTHONPATH=str(HERE))
    assert done.returncode == 1, done.stdout + done.stderr
    [block] = _failure_blocks(done.stdout)
    assert "steps[2] (Runtime.contextSize)" in block and "crash ValueError: sizes of non-empty contexts" in block
    assert "after the harness" not in block and "hostile caller" not in block and "note:" not in block


@pytest.mark.parametrize("engine,seed", [("random", 1), ("stateful", 5)])  # (seeds that find it in 20 programs)
def test_fuzz_does_not_blame_the_attacks_for_an_adapters_own_crash(tmp_path, engine, seed):
    done = _sh(f"torchlean-rt fuzz --target module:copying_adapter:SizeCrashTarget --engine {engine} --rounds 1 "
               f"--programs 20 --seed {seed} --out failures", tmp_path, PYTHONPATH=str(HERE))
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = [x for x in done.stdout.splitlines() if x.startswith("fuzz: DIVERGENCE")]
    assert "crash" in line and "after the harness" not in line and "hostile caller" not in line, line
    assert re.search(r" steps: steps\[\d+\] \(Runtime\.contextSize\): spec nat ", line), line  # 0-based, as replay's


def test_a_wrong_kind_of_value_from_observe_is_the_adapters_error_not_a_trace_format_error(tmp_path):
    """A list where a tuple of names is required: the adapter's own error, saying what was
    expected and what came back — not TraceFormatError / TLR_TRACE_FORMAT (no trace file is bad),
    and not blamed on the attacks."""
    from torchlean_runtime.conformance.vectors.format import Result

    path = _register_then(tmp_path, "Runtime.variableNames", Result("names", ("w",)))
    done = _sh(f"torchlean-rt replay {shlex.quote(str(path))} --target module:copying_adapter:CopyingTarget --json",
               tmp_path, PYTHONPATH=str(HERE))
    assert done.returncode == 1, done.stdout + done.stderr
    [entry] = json.loads(done.stdout)["files"]
    d = entry["divergence"]
    assert d["step"] == 2 and d["after_attacks"] == ""
    assert d["actual"]["decoded"] == (
        "crash WrongResultValue: observe built Result('names', …) for Runtime.variableNames from a list ['w']; "
        "a names result is a tuple of str, in Lean's list order (newest first); not a list "
        '(docs/conformance.md, "What observe returns")')
    doc = " ".join((ROOT / "docs" / "conformance.md").read_text(encoding="utf-8").split())
    assert ("`crash WrongResultValue: observe built Result('names', …) for Runtime.variableNames from a list ['w']; "
            "a names result is a tuple of str, …`") in doc


def test_observe_of_the_wrong_result_kind_is_the_adapters_error():
    from torchlean_runtime.conformance.target import WRONG_RESULT
    from torchlean_runtime.conformance.vectors.execute import Crash
    from torchlean_runtime.conformance.vectors.format import Result

    sys.path.insert(0, str(HERE))
    try:
        from copying_adapter import CopyingTarget
    finally:
        sys.path.remove(str(HERE))

    class Confused(CopyingTarget):
        def observe(self, kind, x):
            return Result("nat", 0) if kind == "context" else super().observe(kind, x)

    t = Confused()
    t.reset("Float")
    answer = t.call("Runtime.emptyContext", {}, "c0")
    assert answer == Crash(WRONG_RESULT, "observe returned a nat result for Runtime.emptyContext, whose result is a "
                                         'context (docs/conformance.md, "What observe returns")')


def _aliasing_and_wrong(bump: bool):
    """aliasing_adapter's registry (it keeps the caller's array) — getVariable off by one too when ``bump``."""
    sys.path.insert(0, str(HERE))
    try:
        from leaky_adapter import AliasingTarget
    finally:
        sys.path.remove(str(HERE))

    class Target(AliasingTarget):
        def invoke(self, op, scalar_type, args):
            out = super().invoke(op, scalar_type, args)
            return out + 1 if bump and op == "Runtime.getVariable" and out is not None else out

    t = Target()
    t.hostile = "inputs"  # what replay does to a module: target
    return t


def _register_then_get():
    from torchlean_runtime.conformance.vectors.bits import TensorBits
    from torchlean_runtime.conformance.vectors.format import ContextState, Result, Step, Trace

    one = TensorBits.from_array(__import__("numpy").array([1.0]))
    return Trace("Float", (
        Step("Runtime.emptyContext", {}, "c0", Result("context", ContextState((), (), 0))),
        Step("Runtime.registerVariable", {"ctx": "c0", "name": "w", "value": one}, "c1",
             Result("context", ContextState((("w", one),), (), 1))),
        Step("Runtime.getVariable", {"ctx": "c1", "name": "w", "s": (1,)}, None, Result("option_tensor", one)),
    ))


def test_a_divergence_the_attacks_changed_says_what_it_is_without_them():
    """With the attacks the aliased array reads back attacked; without them the off-by-one bug
    still diverges at the same step but with another answer: the attacks mattered, and the note
    says what the step answers without them."""
    from torchlean_runtime.conformance.vectors.replay import replay_trace

    d = replay_trace(_register_then_get(), _aliasing_and_wrong(bump=True)).divergence
    assert d is not None and d.step == 2
    assert "after the harness overwrote the arrays" in d.after_attacks
    assert "without the attacks steps[2] answers some float64[1] values=[2.0]" in d.after_attacks


def test_the_note_when_the_file_passes_without_the_attacks():
    from torchlean_runtime.conformance.vectors.replay import replay_trace

    d = replay_trace(_register_then_get(), _aliasing_and_wrong(bump=False)).divergence
    assert d is not None and d.after_attacks.endswith("; without the attacks this file passes")


# --- 14. a CI gate can demand full coverage; a partial pass says so ----------------------------


def _all_but_to_string() -> list[str]:
    from torchlean_runtime.conformance.vectors.format import OPS

    return sorted(op for op in OPS if op != "Runtime.contextToString")


SET_VARIABLE = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus" / "Runtime.setVariable"


def test_a_partial_pass_says_how_much_was_not_covered(tmp_path, capsys):
    """The runner is the spec but does not declare contextToString: 6 of the 12 setVariable files
    need it.  Exit 0 (documented), and the verdict says the pass is partial."""
    assert cli.main(["replay", str(SET_VARIABLE), "--target", _runner(tmp_path, _all_but_to_string())]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("PASS (partial: 6 of 12 files not covered): 12 files, 12 runs (6 passed, 0 diverged, "
                           "6 not covered, "), last


def test_require_full_coverage_fails_a_partial_run(tmp_path, capsys):
    import jsonschema

    from torchlean_runtime.conformance.vectors.replay import report_schema

    runner = _runner(tmp_path, _all_but_to_string())
    assert cli.main(["replay", str(SET_VARIABLE), "--target", runner, "--require-full-coverage"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        "FAIL (--require-full-coverage: 6 of 12 files not covered): 12 files")
    assert cli.main(["replay", str(SET_VARIABLE), "--target", runner, "--require-full-coverage", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert (doc["ok"], doc["exit_code"], doc["require_full_coverage"]) == (False, 1, True)
    jsonschema.Draft202012Validator(report_schema()).validate(doc)


def test_require_full_coverage_passes_a_fully_covered_run(capsys):
    assert cli.main(["replay", str(SET_VARIABLE), "--target", "spec", "--require-full-coverage"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("PASS: 12 files, 12 runs (12 passed")


def test_fuzz_require_full_coverage(tmp_path, capsys):
    """fuzz: steps the target does not declare run on the spec alone; the campaign passes without
    the option and fails with it (and so does fuzz merge of its summary)."""
    runner = _runner(tmp_path, _all_but_to_string())
    common = ["fuzz", "--rounds", "1", "--programs", "3", "--seed", "1", "--target", runner, "--out", str(tmp_path / "f")]
    assert cli.main(common) == 0
    capsys.readouterr()
    summary = tmp_path / "s.json"
    assert cli.main([*common, "--require-full-coverage", "--json", str(summary)]) == 1
    out = capsys.readouterr().out
    assert "fuzz: FAIL (--require-full-coverage): " in out
    assert "steps not covered (the target does not declare: Runtime.contextToString); exit status 1" in out
    assert cli.main(["fuzz", "merge", str(summary)]) == 0
    assert cli.main(["fuzz", "merge", str(summary), "--require-full-coverage"]) == 1
    assert "fuzz merge: FAIL (--require-full-coverage): " in capsys.readouterr().out


# --- 15. a sharded, multi-worker fuzz run says what it runs and adds its workers up -----------


def test_fuzz_banner_states_the_shards_rounds_and_the_workers_add_up(tmp_path, capsys):
    summary = tmp_path / "f2.json"
    assert cli.main(["fuzz", "--rounds", "4", "--programs", "2", "--seed", "5", "--shard", "2/2", "--workers", "2",
                     "--json", str(summary), "--out", str(tmp_path / "f")]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0] == \
        "[fuzz] spec vs impl, random engine, 2 of 4 rounds (1, 3), seed 5, shard 2/2, 2 workers"
    lines = captured.out.splitlines()
    assert [x[:len("fuzz: worker 1/2: ")] for x in lines if x.startswith("fuzz: worker ")] == \
        ["fuzz: worker 1/2: ", "fuzz: worker 2/2: "]
    doc = json.loads(summary.read_text())
    assert doc["cases"] == 4 and doc["rounds"] == [1, 3]
    [total] = [x for x in lines if x.startswith("fuzz: total of 2 workers: ")]
    assert total.startswith(f"fuzz: total of 2 workers: 4 cases, {doc['operations']} operations "
                            f"({doc['must_fail']} must-fail), 0 divergences, 0 target failures in ")
    assert total.endswith("(seed 5, 2 rounds: 1, 3; shard 2/2)")


def test_fuzz_banner_of_a_whole_campaign_and_one_worker_is_unchanged(tmp_path, capsys):
    assert cli.main(["fuzz", "--rounds", "2", "--programs", "2", "--seed", "5", "--out", str(tmp_path / "f")]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0] == "[fuzz] spec vs impl, random engine, 2 rounds, seed 5, shard 1/1, 1 worker"
    assert not any(x.startswith(("fuzz: total", "fuzz: worker")) for x in captured.out.splitlines())


# --- 16. serve takes any selector, and its hello says whose implementation answers -----------


HELLO = '{"id": 1, "type": "hello", "protocol": "torchlean.runtime.protocol.v1"}\n{"id": 2, "type": "shutdown"}\n'


def _serve_hello(tmp_path: Path, target: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "torchlean_runtime", "serve", "--target", target], input=HELLO,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_cli_env(PYTHONPATH=str(HERE)))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[0])


def test_serve_spec_and_impl_say_they_are_this_package():
    from torchlean_runtime import __version__
    from torchlean_runtime.conformance.protocol import hello_identity
    from torchlean_runtime.conformance.target import impl_target, spec_target

    assert hello_identity(spec_target()) == {"name": "torchlean-runtime spec", "version": __version__}
    assert hello_identity(impl_target()) == {"name": "torchlean-runtime impl", "version": __version__}


def test_serve_of_an_exec_runner_announces_the_runners_own_name_and_version(tmp_path):
    runner = f"exec:{PY} {shlex.quote(str(ROOT / 'examples' / 'dict_runner.py'))}"
    hello = _serve_hello(tmp_path, runner)
    assert (hello["name"], hello["version"]) == ("dict-runner", "1")  # examples/dict_runner.py's hello


def test_serve_of_a_nameless_runner_says_it_is_a_proxy(tmp_path):
    script = tmp_path / "nameless.py"
    script.write_text("import json, sys\n"
                      "for line in sys.stdin:\n"
                      "    r = json.loads(line)\n"
                      "    a = {'id': r['id'], 'type': 'hello', 'protocol': r.get('protocol'), 'scalar_types': ['Float'],\n"
                      "         'operations': ['Runtime.emptyContext']} if r['type'] == 'hello' else {'id': r['id'], 'type': 'ok'}\n"
                      "    print(json.dumps(a), flush=True)\n")
    hello = _serve_hello(tmp_path, f"exec:{PY} {shlex.quote(str(script))}")
    assert hello["name"] == f"proxy for exec:{sys.executable} {script}" and "version" not in hello
    assert hello["operations"] == ["Runtime.emptyContext"]


def test_serve_of_a_python_adapter_announces_the_adapters_name_without_a_borrowed_version(tmp_path):
    hello = _serve_hello(tmp_path, "module:leaky_adapter:LeakyTarget")
    assert hello["name"] == "leaky-adapter" and "version" not in hello


def test_the_docs_say_serve_takes_any_selector():
    from torchlean_runtime.cli import build_parser

    for doc in ("README.md", "docs/protocol.md", "docs/conformance.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert "serve --target spec|impl" not in text, doc
    protocol = " ".join((ROOT / "docs" / "protocol.md").read_text(encoding="utf-8").split())
    assert "`torchlean-rt serve --target T` takes any selector" in protocol
    assert "proxy for exec:" in protocol
    serve = build_parser()._subparsers._group_actions[0].choices["serve"].format_help()
    assert "module:PKG.MOD:FACTORY" in serve and "exec:COMMAND" in serve


# --- 17. step numbers: one form, counted from 0, said so ----------------------------------------


def test_reports_name_steps_as_the_index_into_the_files_steps_array(tmp_path, capsys):
    from torchlean_runtime.conformance.vectors.format import Result

    path = _register_then(tmp_path, "Runtime.contextSize", Result("nat", 7))  # steps[2] expects a wrong 7
    assert cli.main(["replay", str(path), "--target", "spec"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL spec {path}  steps[2] (Runtime.contextSize)" in out and " step 2 " not in out
    for doc in ("docs/conformance.md", "docs/vectors.md"):
        text = " ".join((ROOT / doc).read_text(encoding="utf-8").split())
        assert "counted from 0" in text and "`steps[" in text, doc


# --- 18. the shipped corpus and regression traces, by name --------------------------------------


def test_replay_regressions_and_corpus_name_the_shipped_folders(tmp_path):
    from torchlean_runtime.conformance.vectors.replay import corpus_dir, regressions_dir

    done = _sh("torchlean-rt replay regressions --target spec", tmp_path)  # no path named regressions here
    assert done.returncode == 0, done.stdout + done.stderr
    shipped = sorted(p.name for p in Path(regressions_dir()).glob("*.json"))
    assert len(shipped) >= 4 and all(f"{name}  (" in done.stdout for name in shipped)
    assert done.stdout.splitlines()[-1].startswith(f"PASS: {len(shipped)} files, ")
    assert f"replaying the shipped regressions ({regressions_dir()})" in done.stderr
    done = _sh("torchlean-rt replay corpus --target spec --json", tmp_path)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["totals"]["files"] == 174 and report["manifests"]  # its manifest checked
    assert all(f["path"].startswith(corpus_dir()) for f in report["files"])


def test_a_local_path_named_corpus_wins(tmp_path):
    local = tmp_path / "corpus"
    local.mkdir()
    src = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus" / "Runtime.emptyContext" / "empty.float64.json"
    (local / "mine.json").write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    done = _sh("torchlean-rt replay corpus --target spec", tmp_path)
    assert done.returncode == 0 and "PASS spec corpus/mine.json" in done.stdout and "shipped" not in done.stderr
    assert done.stdout.splitlines()[-1].startswith("PASS: 1 files, ")


def test_regressions_dir_has_one_definition():
    from torchlean_runtime.conformance.vectors import replay
    from torchlean_runtime.proofs.differential import fuzz

    assert fuzz.regressions_dir is replay.regressions_dir


def test_vectors_generate_points_at_the_regression_traces(tmp_path):
    done = _sh("torchlean-rt vectors generate out", tmp_path)
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == (
        "replay them with: torchlean-rt replay out --target T; the shipped regression traces (shrunk fuzz "
        "failures, not written here) with: torchlean-rt replay regressions --target T")
