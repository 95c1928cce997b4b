# make run   : create .venv if missing, install everything, run the default experiment
# make test  : same set-up, run the test suite
# make bench (benchmark scripts: print numbers), make dryrun, make lint, make fmt, make clean
VENV   ?= .venv
PY     := $(VENV)/bin/python
SMK    := $(VENV)/bin/snakemake
CORES  ?= all
STAMP  := $(VENV)/.installed
# The CPU wheel of torch that this machine keeps on disk; elsewhere an ordinary torch.
TORCH_CPU_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl))

.PHONY: install run test bench dryrun lint fmt clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
ifneq ($(TORCH_CPU_WHEEL),)
	$(PY) -m pip install --quiet "torch==2.13.0"
else
	$(PY) -m pip install --quiet torch
endif
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: install
	$(SMK) --cores $(CORES)

test: install
	$(PY) -m pytest -q -rs tests

# a cold default run into bench-results/ with every stage's wall and CPU time, lm-eval per model and
# the no-op re-run; CPT tokens/s against a plain Trainer loop; initialization at LLaMa-3 scale;
# tokenizer training throughput; GPU-hours of the paper configs, and the same cost model on the cold run
bench: install
	$(PY) benchmarks/stages.py --cold
	$(PY) benchmarks/cpt_throughput.py
	$(PY) benchmarks/transfer_scale.py
	$(PY) benchmarks/tokenizer_throughput.py
	$(PY) benchmarks/gpu_hours.py --configfile configs/paper-llama3.yaml
	$(PY) benchmarks/gpu_hours.py --configfile configs/paper-mistral.yaml
	$(PY) benchmarks/gpu_hours.py --configfile config.yaml --measured bench-results/default

dryrun: install
	$(SMK) -n --quiet rules

lint: install
	$(SMK) --lint
	$(VENV)/bin/snakefmt --check .
	$(VENV)/bin/ruff check --select F --ignore F821 langadapt scripts tests benchmarks

fmt: install
	$(VENV)/bin/snakefmt .

clean:
	rm -rf results bench-results .snakemake
