"""One import root: spec/, impl/, proofs/ are importable only as torchlean_runtime.*."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import torchlean_runtime
import torchlean_runtime.impl
import torchlean_runtime.proofs
import torchlean_runtime.spec

REPO = Path(__file__).resolve().parent.parent
FOLDERS = ("spec", "impl", "proofs")


def _sys_path_entries() -> list[Path]:
    return [Path(p or os.getcwd()).resolve() for p in sys.path]


def test_repo_root_is_not_on_sys_path() -> None:
    assert REPO not in _sys_path_entries()


@pytest.mark.parametrize("name", FOLDERS)
def test_top_level_name_is_not_importable(name: str) -> None:
    assert name not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(name)


def test_top_level_names_not_importable_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """Also outside pytest: nothing named spec/impl/proofs is installed in site-packages."""
    code = (
        "import importlib.util, sys\n"
        "found = [n for n in ('spec', 'impl', 'proofs') if importlib.util.find_spec(n) is not None]\n"
        "import torchlean_runtime.spec\n"
        "print(found, torchlean_runtime.spec.__file__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    found, _, spec_file = out.stdout.strip().partition(" ")
    assert found == "[]"
    assert _is_spec_location(Path(spec_file))


def _is_spec_location(path: Path) -> bool:
    """``spec/__init__.py`` in this repo (editable install) or torchlean_runtime/spec in site-packages."""
    path = path.resolve()
    if path == REPO / "spec" / "__init__.py":
        return True
    return path.parent.name == "spec" and path.parent.parent.name == "torchlean_runtime" and "site-packages" in path.parts


def test_spec_file_resolves_into_spec_folder_or_site_packages() -> None:
    assert _is_spec_location(Path(torchlean_runtime.spec.__file__))


def test_subpackages_resolve_under_their_folders() -> None:
    for module, folder in ((torchlean_runtime.impl, "impl"), (torchlean_runtime.proofs, "proofs")):
        path = Path(module.__file__).resolve()
        assert path == REPO / folder / "__init__.py" or path.parent.parts[-2:] == ("torchlean_runtime", folder)


def _declared_packages() -> tuple[list[str], dict[str, str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    return list(config["packages"]), dict(config["package-dir"])


def _package_name(directory: Path) -> str:
    rel = directory.relative_to(REPO).parts
    # torchlean_runtime/ holds its own subpackages (conformance/, …); the other folders are mapped
    return ".".join(rel if rel[0] == "torchlean_runtime" else ("torchlean_runtime",) + rel)


def test_every_package_directory_is_listed_in_pyproject() -> None:
    packages, _ = _declared_packages()
    on_disk = sorted(
        _package_name(init.parent)
        for folder in FOLDERS + ("torchlean_runtime",)
        for init in (REPO / folder).rglob("__init__.py")
        if "__pycache__" not in init.parts
    )
    assert on_disk, "no package directories found"
    missing = [p for p in on_disk if p not in packages]
    assert missing == [], f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_listed_package_exists_on_disk() -> None:
    packages, package_dir = _declared_packages()
    assert package_dir == {
        "torchlean_runtime": "torchlean_runtime",
        "torchlean_runtime.spec": "spec",
        "torchlean_runtime.impl": "impl",
        "torchlean_runtime.proofs": "proofs",
    }
    for package in packages:
        # the longest package-dir prefix maps the package to its folder (setuptools' rule)
        prefix = max((k for k in package_dir if package == k or package.startswith(k + ".")), key=len)
        rest = package[len(prefix):].lstrip(".")
        directory = REPO / package_dir[prefix] / Path(*rest.split(".")) if rest else REPO / package_dir[prefix]
        assert (directory / "__init__.py").is_file(), package
        assert importlib.util.find_spec(package) is not None, package
