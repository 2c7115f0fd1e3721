"""The target interface and its selectors, the conformance report (validated against its
published JSON Schema with jsonschema), exit codes, the corpus manifest, and the examples."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from torchlean_runtime import cli
from torchlean_runtime.conformance import target as T
from torchlean_runtime.conformance.vectors import manifest as M
from torchlean_runtime.conformance.vectors.reader import read_trace
from torchlean_runtime.conformance.vectors.replay import (collect_files, corpus_dir, report_document, report_schema,
                                                          run_replay)
from torchlean_runtime.errors import TargetSelectorError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CORPUS = Path(corpus_dir())
CASE = CORPUS / "Runtime.getVariable" / "first-match-shape-mismatch.float64.json"
#: The documented first divergence of the dict example (README, "Testing your implementation"):
#: the first covered file in path order that registers a name twice.
DICT_FIRST = ("Runtime.contextSize/duplicates.float32.json", 4, "Runtime.registerVariable",
              "var_registry has 1 entries, expected 2")


def _validate(doc: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(report_schema())
    jsonschema.Draft202012Validator(report_schema()).validate(doc)


# --- selectors ----------------------------------------------------------------------------


def test_spec_and_impl_are_object_targets_with_no_private_path():
    for name in ("spec", "impl"):
        t = T.open_target(name)
        assert isinstance(t, T.ObjectTarget) and t.name == name and t.offers_abstraction
        t.reset("Float")
        assert t.call("Runtime.emptyContext", {}, "c0").value.next_id == 0
        assert t.call("Runtime.hasVariable", {"ctx": "c0", "name": ""}).value is False


@pytest.mark.parametrize("selector", ["", "nonsense", "module:", "module:no_such_module:f", "module:json:nothing",
                                      "module:json:dumps", "exec:", "exec:'unclosed"])
def test_bad_selectors_are_typed_usage_errors(selector, capsys):
    with pytest.raises(TargetSelectorError) as info:
        T.open_target(selector)
    assert info.value.code == "TLR_TARGET_SELECTOR"
    assert cli.main(["replay", str(CASE), "--target", selector or "''"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and "TLR_TARGET_SELECTOR" in err


def test_module_selector_and_the_entry_point_group(tmp_path, monkeypatch):
    """(b) and (c): the example adapter by module: and through an installed entry point (a
    dist-info directory on sys.path is what pip install leaves behind)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    dist = tmp_path / "dict_example_target-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: dict-example-target\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[torchlean_runtime.targets]\ndict-example = dict_adapter:DictTarget\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for selector in ("module:dict_adapter:DictTarget", "dict-example"):
        run = run_replay([str(CORPUS)], selector)
        first = next(r for r in run.results if r.status == "diverged")
        assert first.path.endswith("Runtime.getVariable/first-match-shape-mismatch.float32.json")
        assert (first.divergence.step, first.divergence.where) == (2, "var_registry has 1 entries, expected 2")
        assert report_document(run)["exit_code"] == 1
    # the pyproject of the example package declares exactly that entry point
    text = (EXAMPLES / "entry_point_package" / "pyproject.toml").read_text()
    assert '[project.entry-points."torchlean_runtime.targets"]' in text and 'dict-example = "dict_adapter:DictTarget"' in text


def test_the_standalone_runner_fails_at_its_documented_step(capsys):
    """(a): stdlib only, no import of this package; replay exits 1 at the documented step."""
    source = (EXAMPLES / "dict_runner.py").read_text()
    assert "torchlean_runtime" not in source.replace("torchlean.runtime", "").split('"""', 2)[2]
    selector = f"exec:{shlex.quote(sys.executable)} {EXAMPLES / 'dict_runner.py'}"
    assert cli.main(["replay", str(CORPUS), "--target", selector, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    _validate(doc)
    first = next(f for f in doc["files"] if f["status"] == "diverged")
    path, step, op, where = DICT_FIRST
    assert first["path"].endswith(path) and first["divergence"]["step"] == step
    assert first["divergence"]["op"] == op and first["divergence"]["first_difference"] == where
    assert doc["totals"]["not_covered"] > 0 and doc["totals"]["steps_not_covered"] > 0  # listed and counted
    assert all(f["problem"].startswith("not covered: unsupported operations") for f in doc["files"]
               if f["status"] == "not_covered")


# --- reports and exit codes ---------------------------------------------------------------


def _flip(src: Path, dst: Path) -> None:
    doc = json.loads(src.read_text())
    for step in doc["steps"]:
        value = step.get("expect", {}).get("value")
        if isinstance(value, dict) and value.get("bits"):
            value["bits"][0] = str(int(value["bits"][0]) ^ 1)
            break
    dst.write_text(json.dumps(doc))


def test_every_status_validates_against_the_published_schema(tmp_path):
    _flip(CASE, tmp_path / "diverges.json")
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "empty.json").write_text(json.dumps(dict(json.loads(CASE.read_text()), steps=[])))
    run = run_replay([str(CASE), str(tmp_path / "diverges.json"), str(tmp_path / "broken.json"),
                      str(tmp_path / "empty.json"), str(tmp_path / "missing.json")], "impl")
    doc = report_document(run)
    _validate(doc)
    assert {f["status"] for f in doc["files"]} == {"passed", "diverged", "unread", "vacuous"}
    d = next(f for f in doc["files"] if f["status"] == "diverged")["divergence"]
    assert d["expected"]["value"]["type"] == "option_tensor" and d["actual"]["value"] != d["expected"]["value"]
    assert "bits=[" in d["expected"]["decoded"]
    assert doc["exit_code"] == 2  # unread input outranks a divergence


def test_exit_codes(tmp_path, capsys):
    _flip(CASE, tmp_path / "diverges.json")
    assert cli.main(["replay", str(CASE), "--target", "impl"]) == 0
    assert cli.main(["replay", str(tmp_path / "diverges.json"), "--target", "impl"]) == 1
    assert cli.main(["replay", str(tmp_path / "missing.json"), "--target", "impl"]) == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["replay"])
    assert info.value.code == 2
    capsys.readouterr()


# --- the manifest -------------------------------------------------------------------------


def test_the_manifest_lists_every_file_with_its_sha256_and_counts():
    doc = json.loads((CORPUS / "manifest.json").read_text())
    files, _, manifests = collect_files([str(CORPUS)])
    assert manifests == [str(CORPUS / "manifest.json")]
    assert sorted(str(CORPUS / e["path"]) for e in doc["files"]) == sorted(files)
    traces = {str(CORPUS / e["path"]): read_trace(CORPUS / e["path"]) for e in doc["files"]}
    assert doc["totals"]["steps"] == sum(len(t.steps) for t in traces.values()) == sum(e["steps"] for e in doc["files"])
    assert sum(doc["steps_per_declaration"].values()) == doc["totals"]["steps"]
    from torchlean_runtime import __version__

    assert doc["generator"]["version"] == __version__
    shadowing = sum(len(t.steps) for t in traces.values() if "shadowing" in t.tags)
    assert doc["steps_per_trap"]["shadowing"] == shadowing > 0
    e = doc["files"][0]
    assert M.sha256_file(CORPUS / e["path"]) == e["sha256"]


def test_replay_verifies_the_manifest(tmp_path, capsys):
    import shutil

    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS / "Runtime.emptyContext", copy / "Runtime.emptyContext")
    shutil.copy(CORPUS / "manifest.json", copy / "manifest.json")
    # the manifest lists files this partial copy lacks: reported, exit 2
    assert cli.main(["replay", str(copy), "--target", "spec"]) == 2
    assert "listed in manifest.json but missing" in capsys.readouterr().out
    # tampering with a listed file
    doc = json.loads((CORPUS / "manifest.json").read_text())
    doc["files"] = [e for e in doc["files"] if e["path"].startswith("Runtime.emptyContext/")]
    (copy / "manifest.json").write_text(json.dumps(doc))
    assert cli.main(["replay", str(copy), "--target", "spec"]) == 0
    victim = copy / doc["files"][0]["path"]
    victim.write_text(victim.read_text().replace('"description": "', '"description": "x'))
    assert cli.main(["replay", str(copy), "--target", "spec"]) == 2
    assert "differs from manifest.json" in capsys.readouterr().out
    (copy / "extra.json").write_bytes(CASE.read_bytes())
    assert cli.main(["replay", str(copy), "--target", "spec"]) == 2
    assert "not listed in manifest.json" in capsys.readouterr().out


# --- the corpus covers every edge value of every argument domain, present and absent --------


def test_every_edge_name_is_asked_present_and_absent_by_every_query():
    """The kind behind `empty-name-is-absent` surviving the corpus: for every query taking a name
    and every scalar type, each edge name is asked where the context holds it as a variable and
    where it does not (decided from the expected states in the files, not from the generator)."""
    from torchlean_runtime.conformance.vectors.generate import EDGE_NAMES, NAME_QUERIES

    files, _, _ = collect_files([str(CORPUS)])
    seen: set = set()
    for f in files:
        trace = read_trace(f)
        states = {}
        for s in trace.steps:
            if s.bind is not None:
                states[s.bind] = s.expect.value
            op = s.op.replace("Runtime.", "", 1)
            if op not in NAME_QUERIES or "ctx" not in s.args:
                continue
            if op == "isValidContext":
                continue  # takes no name: asked after registering a gradient under each edge name
            name = s.args["name"] if "name" in s.args else states[s.args["v"]].name
            present = any(n == name for n, _ in states[s.args["ctx"]].var_registry)
            seen.add((op, trace.scalar_type, name, present))
    for op in NAME_QUERIES:
        if op == "isValidContext":
            continue
        for st in ("Float", "IEEE32Exec", "Int"):
            for name in EDGE_NAMES:
                assert (op, st, name, True) in seen and (op, st, name, False) in seen, (op, st, name)


@pytest.mark.parametrize("engine", ["stateful", "random"])
def test_fuzz_names_only_what_the_target_does_not_declare(engine, monkeypatch):
    """A fuzz summary's "not covered" reason lists the operations the target does not declare,
    never one it does (found by a new user: the dict adapter's own registerVariable was listed)."""
    from torchlean_runtime.proofs.differential import fuzz

    monkeypatch.syspath_prepend(str(EXAMPLES))
    from dict_adapter import DictTarget  # noqa: PLC0415

    run = fuzz.run_campaign if engine == "stateful" else fuzz.run_random_campaign
    result = run(seconds=600, seed=2, target="module:dict_adapter:DictTarget", rounds=1, examples_per_round=10,
                 **({"shrink": False} if engine == "stateful" else {}))
    assert sum(result.not_covered.values()) > 0 and result.unsupported
    assert not set(result.unsupported) & DictTarget.operations, result.unsupported
    assert "Runtime.setVariable" in result.unsupported  # the dict adapter declares no setVariable
