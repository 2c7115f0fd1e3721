# The two commands of the README: `make verify` (the main job) and `make test`.
# Both create .venv and install the package with its dev extras on first use.
#   make verify            the main job: every check, the quick bounds and counts (about 2 min on 2 cores, 9 under heavy load; README)
#   make verify-thorough   the thorough bounds and counts (tens of minutes on 2 cores; see README)
#   make verify-mutants    the kill matrix of verify's own methods against the mutant catalogue
# VERIFY_ARGS passes more options, e.g. VERIFY_ARGS="--jobs 4" or VERIFY_ARGS="--shard 1/3 --json r1.json".
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
VERIFY_ARGS ?=

.PHONY: setup verify verify-quick verify-thorough verify-mutants test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

verify: $(STAMP)
	$(BIN)/torchlean-rt verify --quick $(VERIFY_ARGS)

# the CI job (.ci/run): the same run as `make verify`
verify-quick: verify

verify-thorough: $(STAMP)
	$(BIN)/torchlean-rt verify $(VERIFY_ARGS)

verify-mutants: $(STAMP)
	$(BIN)/torchlean-rt verify --quick --mutants $(VERIFY_ARGS)

# pytest itself (not `python -m pytest`) so the repo root never lands on sys.path.
test: $(STAMP)
	$(BIN)/pytest -q -rs

# Installs the [bench] (matplotlib: the figure) and [fast] (numba: the optional norm kernel)
# extras; PyTorch is a peer only where already installed.  Each bench writes its JSON record in
# docs/figures/ (bench.json and bench_scaling.png drawn from it, bench_params.json, bench_protocol.json,
# bench_fuzz.json, bench_fuzz_engines.json, bench_contracts.json, bench_reader.json) and rewrites the doc blocks rendered
# from it (benchmarks/bench_report.py: README.md and docs/*.md).
bench: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench,fast]'
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_runtime.py
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_params.py
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_protocol.py
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_fuzz.py
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_fuzz_engines.py
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_contracts.py
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_reader.py

clean:
	rm -rf $(VENV) build *.egg-info
