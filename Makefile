# The two commands of the README: `make verify` (the main job) and `make test`.
# Both create .venv and install the package with its dev extras on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
VERIFY_ARGS ?=

.PHONY: setup verify verify-quick test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

verify: $(STAMP)
	$(BIN)/torchlean-rt verify $(VERIFY_ARGS)

verify-quick: $(STAMP)
	$(BIN)/torchlean-rt verify --quick $(VERIFY_ARGS)

# pytest itself (not `python -m pytest`) so the repo root never lands on sys.path.
test: $(STAMP)
	$(BIN)/pytest -q

# Installs the [bench] (matplotlib: the figure) and [fast] (numba: the optional norm kernel)
# extras; PyTorch is a peer only where already installed.  Rewrites docs/figures/bench_*.
bench: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench,fast]'
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_runtime.py

clean:
	rm -rf $(VENV) build *.egg-info
