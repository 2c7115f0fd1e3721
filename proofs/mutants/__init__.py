"""Mutation teeth: semantic mutants of the impl and the kill matrix of ``torchlean-rt verify --mutants``.

* ``catalogue.py``    — the mutants (plausible bugs) and :func:`apply` (monkeypatching, with undo)
* ``pytest_plugin.py`` — ``pytest -p torchlean_runtime.proofs.mutants.pytest_plugin``: applies the
  mutant named in ``TORCHLEAN_RT_MUTANT`` before collection
* ``runner.py``        — one verification method in a fresh process, mutant applied first
* ``kill_matrix.py``   — runs every method against every mutant and prints the matrix
"""

from .catalogue import BY_NAME, ENV_VAR, MUTANTS, Mutant, apply, apply_from_env

__all__ = ["BY_NAME", "ENV_VAR", "MUTANTS", "Mutant", "apply", "apply_from_env", "main"]


def main(args) -> int:
    """``torchlean-rt verify --mutants [--quick] [--json FILE] [--only PATTERN]``."""
    from .kill_matrix import main as run_matrix

    return run_matrix(args)
