"""Every example in README.md runs and prints what the README says it prints.

A ```python block immediately followed by a ```text block is an example: the code runs in a
fresh namespace and its stdout must equal the text block exactly.
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"```python\n(?P<code>.*?)```\s*```text\n(?P<out>.*?)```", re.S)


def _examples() -> list[tuple[str, str]]:
    return [(m["code"], m["out"]) for m in _BLOCK.finditer(README.read_text(encoding="utf-8"))]


def test_readme_has_examples() -> None:
    assert len(_examples()) >= 2


@pytest.mark.parametrize("index", range(len(_examples())))
def test_readme_example_prints_what_it_says(index: int, require_extra) -> None:
    code, expected = _examples()[index]
    if "import torch" in code:
        require_extra("torch")  # a skip without the [torch] extra; a failure under CI, which installs it
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(code, f"README example {index}", "exec"), {"__name__": "__readme__"})
    assert buf.getvalue() == expected


def test_the_error_code_reference_is_the_error_hierarchy() -> None:
    """docs/errors.md lists every stable code: its table is exactly errors.code_table(), which walks
    every TorchLeanError subclass (a new error class without a doc row fails here)."""
    from torchlean_runtime.errors import code_table

    text = (README.parent / "docs" / "errors.md").read_text(encoding="utf-8")
    table = "\n".join(line for line in text.splitlines() if line.startswith("|"))
    assert table == code_table()
