"""The Lean → Python declaration table (spec/declarations.py) is complete: a missing, duplicate
or extra entry fails."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from torchlean_runtime.proofs import coverage
from torchlean_runtime.spec import LEAN_COMMIT, declarations
from torchlean_runtime.spec.declarations import CONTEXT_LEAN, DECLARATIONS, VARIABLE_LEAN, Declaration


def test_table_is_complete_and_exact() -> None:
    assert declarations.problems() == []


def test_table_shape() -> None:
    """NN/Runtime/Context.lean: 2 structures + 15 defs; NN/Runtime/Variable.lean: 1 structure + 19 defs."""
    by_file = {CONTEXT_LEAN: [], VARIABLE_LEAN: []}
    for d in DECLARATIONS:
        by_file[d.lean_file].append(d)
    assert [d.kind for d in by_file[CONTEXT_LEAN]].count("structure") == 2
    assert [d.kind for d in by_file[CONTEXT_LEAN]].count("def") == 15
    assert [d.kind for d in by_file[VARIABLE_LEAN]].count("structure") == 1
    assert [d.kind for d in by_file[VARIABLE_LEAN]].count("def") == 19
    for rows in by_file.values():  # listed in source order, one declaration per line
        lines = [d.line for d in rows]
        assert lines == sorted(lines) and len(set(lines)) == len(lines) and lines[0] > 0


def test_names_follow_the_lean_namespaces() -> None:
    for d in DECLARATIONS:
        short = d.lean_name.rsplit(".", 1)[1]
        assert d.python_path.endswith("." + short)
        if d.lean_file == CONTEXT_LEAN:
            assert d.lean_name == f"Runtime.{short}"
            assert d.python_path == f"torchlean_runtime.spec.runtime.context.{short}"
        else:
            assert d.lean_name in ("Runtime.Variable", f"Runtime.Variable.{short}")
            assert d.python_path == f"torchlean_runtime.spec.runtime.variable.{short}"
    assert {d.lean_name for d in DECLARATIONS if d.kind == "structure"} == {
        "Runtime.AnyTensor",
        "Runtime.RuntimeContext",
        "Runtime.Variable",
    }


def test_as_json_round_trips() -> None:
    data = json.loads(declarations.as_json())
    assert data["lean_commit"] == LEAN_COMMIT
    assert len(data["declarations"]) == len(DECLARATIONS)
    first = data["declarations"][0]
    assert first["lean_name"] == "Runtime.AnyTensor" and first["line"] == 44
    assert first["source_url"].endswith(f"{LEAN_COMMIT}/NN/Runtime/Context.lean#L44")


def _with_table(monkeypatch, rows) -> list[str]:
    monkeypatch.setattr(declarations, "DECLARATIONS", tuple(rows))
    return declarations.problems()


def test_missing_row_is_reported_as_extra_public_name(monkeypatch) -> None:
    rows = [d for d in DECLARATIONS if d.lean_name != "Runtime.setVariable"]
    found = _with_table(monkeypatch, rows)
    assert found == ["extra: torchlean_runtime.spec.runtime.context.setVariable is public but transcribes no Lean declaration"]


def test_unresolvable_row_is_missing(monkeypatch) -> None:
    ghost = Declaration("Runtime.ghost", "def", CONTEXT_LEAN, 999, "torchlean_runtime.spec.runtime.context.ghost")
    found = _with_table(monkeypatch, list(DECLARATIONS) + [ghost])
    assert len(found) == 1 and found[0].startswith("missing: Runtime.ghost")


def test_duplicate_rows_are_reported(monkeypatch) -> None:
    found = _with_table(monkeypatch, list(DECLARATIONS) + [DECLARATIONS[3]])
    assert any(p.startswith("duplicate: Lean declaration Runtime.registerVariable") for p in found)
    assert any(p.startswith("duplicate: Python path") for p in found)


def test_wrong_kind_and_wrong_target_are_reported(monkeypatch) -> None:
    rows = list(DECLARATIONS)
    i = next(k for k, d in enumerate(rows) if d.lean_name == "Runtime.emptyContext")
    rows[i] = replace(rows[i], kind="structure")
    j = next(k for k, d in enumerate(rows) if d.lean_name == "Runtime.Variable.error")
    rows[j] = replace(rows[j], python_path="torchlean_runtime.spec.runtime.variable.castShape")
    found = _with_table(monkeypatch, rows)
    assert any("Runtime.emptyContext is a structure" in p for p in found)
    assert any("not named error" in p for p in found)
    assert any("extra: torchlean_runtime.spec.runtime.variable.error" in p for p in found)


def test_coverage_obligation(monkeypatch) -> None:
    [ob] = coverage.obligations(quick=True)
    assert (ob.method, ob.label) == ("coverage", "checked")
    outcome = ob.run(*ob.args)
    assert outcome.passed and outcome.detail == f"{len(DECLARATIONS)}/{len(DECLARATIONS)} declarations"
    monkeypatch.setattr(declarations, "DECLARATIONS", DECLARATIONS[:-1])
    assert not coverage.check_declaration_table().passed


def test_docs_naming_table_is_generated_from_the_declarations() -> None:
    import pathlib

    from torchlean_runtime.spec.declarations import as_markdown

    doc = pathlib.Path(__file__).resolve().parent.parent / "docs" / "naming.md"
    assert doc.read_text(encoding="utf-8") == as_markdown(), "regenerate docs/naming.md from spec/declarations.as_markdown()"
