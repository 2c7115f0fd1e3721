"""Executable specification: a literal transcription of TorchLean's runtime layer.

Lean source pinned at lean-dojo/TorchLean @ 411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c
(Lean v4.29.0).  One module per Lean file, one function per Lean definition, Lean names
verbatim.  Pure and immutable; slow on purpose.
"""

LEAN_REPO = "lean-dojo/TorchLean"
LEAN_COMMIT = "411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c"
LEAN_VERSION = "v4.29.0"
