"""torchlean_runtime/conformance/vectors/replay.py and the CLI — per-file verdicts, first divergence, vacuity guard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from torchlean_runtime import cli
from torchlean_runtime.conformance.vectors import replay as RP
from torchlean_runtime.conformance.vectors.execute import ImplUnavailable, _load_impl
from torchlean_runtime.conformance.vectors.format import FORMAT, LEAN_SOURCE

CORPUS = Path(RP.corpus_dir())
CASE = "Runtime.getVariable/first-match-shape-mismatch.float64.json"


def impl_available() -> bool:
    try:
        _load_impl()
        return True
    except ImplUnavailable:
        return False


needs_impl = pytest.mark.skipif(not impl_available(), reason="torchlean_runtime.impl is not importable yet (issue 3)")


def test_the_corpus_replays_on_the_spec(capsys):
    assert cli.main(["replay", str(CORPUS), "--target", "spec"]) == 0
    out = capsys.readouterr().out
    # every trace file passes (manifest.json is verified, not replayed)
    assert out.count("\nPASS spec ") + out.startswith("PASS spec ") == len(list(CORPUS.rglob("*.json"))) - 1
    assert out.splitlines()[-1].startswith("PASS: ")


@needs_impl
def test_the_corpus_replays_on_the_impl(capsys):
    assert cli.main(["replay", str(CORPUS), "--target", "impl", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["totals"]["failed"] == 0 and report["totals"]["steps_replayed"] > 4000
    assert {r["target"] for r in report["files"]} == {"impl"}
    assert report["manifests"][0]["ok"] and report["manifests"][0]["files"] == report["totals"]["files"]


def _flip_expected_bit(src: Path, dst: Path) -> int:
    """Flip the lowest bit of the first expected tensor element of the first step that returns a
    tensor value; return that step's index."""
    doc = json.loads(src.read_text())
    for i, step in enumerate(doc["steps"]):
        value = step.get("expect", {}).get("value")
        if isinstance(value, dict) and value.get("bits"):
            value["bits"][0] = str(int(value["bits"][0]) ^ 1)
            dst.write_text(json.dumps(doc))
            return i
    raise AssertionError("no expected tensor to corrupt")


@pytest.mark.parametrize("target", ["spec", pytest.param("impl", marks=needs_impl)])
def test_one_flipped_bit_fails_replay_at_that_step(tmp_path, target, capsys):
    bad = tmp_path / "corrupted.json"
    index = _flip_expected_bit(CORPUS / CASE, bad)
    assert cli.main(["replay", str(bad), "--target", target]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {target}" in out and f"steps[{index}] (Runtime.getVariable)" in out
    [result] = RP.replay_paths([str(bad)], (target,))
    d = result.divergence
    assert d.step == index and result.executed == index + 1
    # both decoded and as bits, differing in exactly the flipped bit
    assert "bits=[" in d.expected and "bits=[" in d.actual and "values=[" in d.actual
    assert d.expected != d.actual


def test_a_wrong_error_code_diverges(tmp_path):
    doc = json.loads((CORPUS / "Runtime.Variable.castShape/evidence.float64.json").read_text())
    i = next(i for i, s in enumerate(doc["steps"]) if "expect_error" in s)
    doc["steps"][i]["expect_error"] = "TLR_SHAPE_MISMATCH"
    (tmp_path / "t.json").write_text(json.dumps(doc))
    [r] = RP.replay_paths([str(tmp_path / "t.json")], ("spec",))
    assert not r.passed and r.divergence.step == i and "TLR_CAST_EVIDENCE" in r.divergence.actual


def test_a_context_divergence_points_at_the_component(tmp_path):
    doc = json.loads((CORPUS / "Runtime.registerGradient/next-id.float64.json").read_text())
    doc["steps"][2]["expect"]["next_id"] = 2  # as if registerGradient bumped next_id
    (tmp_path / "t.json").write_text(json.dumps(doc))
    [r] = RP.replay_paths([str(tmp_path / "t.json")], ("spec",))
    assert r.divergence.step == 2 and r.divergence.where == "next_id is 1, expected 2"


def _empty_trace() -> dict:
    return {"format": FORMAT, "lean": dict(LEAN_SOURCE), "scalar_type": "Float",
            "generator": {"name": "t", "version": "0"}, "steps": []}


def test_vacuity_guard(tmp_path, capsys):
    (tmp_path / "empty.json").write_text(json.dumps(_empty_trace()))
    (tmp_path / "nodir").mkdir()
    (tmp_path / "broken.json").write_text("{")
    results = RP.replay_paths(
        [str(tmp_path / "empty.json"), str(tmp_path / "nodir"), str(tmp_path / "missing.json"), str(tmp_path / "broken.json")],
        ("spec", "impl"),
    )
    problems = sorted((Path(r.path).name, r.problem.split(":")[0]) for r in results)
    assert all(not r.passed for r in results)
    assert ("empty.json", "vacuous") in problems and ("nodir", "unread") in problems
    assert ("missing.json", "unread") in problems and ("broken.json", "unread") in problems
    # a passing file next to a failing one: the run fails
    shutil.copy(CORPUS / CASE, tmp_path / "good.json")
    assert cli.main(["replay", str(tmp_path / "good.json"), str(tmp_path / "empty.json"), "--target", "spec"]) == 1
    out = capsys.readouterr().out
    assert "PASS spec" in out and "vacuous: the file has no steps" in out


def test_json_output_is_machine_readable(capsys):
    assert cli.main(["replay", str(CORPUS / CASE), "--target", "spec", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["totals"]["runs"] == 1 and report["target"] == "spec"
    [r] = report["files"]
    assert r["status"] == "passed" and r["executed"] == r["steps"] > 0 and r["divergence"] is None


def test_generate_then_replay_round_trip_through_the_cli(tmp_path, capsys):
    assert cli.main(["vectors", "generate", str(tmp_path / "c")]) == 0
    assert "every declaration and every trap is covered" in capsys.readouterr().out
    assert cli.main(["replay", str(tmp_path / "c" / "Runtime.emptyContext"), "--target", "spec"]) == 0


def test_provider_lists_the_vector_obligations():
    from torchlean_runtime import verify
    from torchlean_runtime.proofs import vectors_obligations as VO

    assert "torchlean_runtime.proofs.vectors_obligations:obligations" in verify.PROVIDERS
    obs = VO.obligations(quick=True)
    assert [o.label for o in obs] == ["examples", "examples", "examples", "checked", "sampled"]  # spec, impl, impl -O, …
    assert VO.check_corpus_replay("spec").passed
    assert VO.check_corpus_regenerates().passed
