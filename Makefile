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

bench: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_runtime.py
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_params.py

clean:
	rm -rf $(VENV) build *.egg-info
