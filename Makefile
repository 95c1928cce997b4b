# make run   : create .venv if missing, install the locked versions, run the default experiment
# make reproduce: the same, for the larger miniature of configs/reproduce.yaml (about 25 min)
# make test  : same set-up, run the test suite
# make bench (benchmark scripts: print numbers), make dryrun, make lint, make fmt, make clean,
# make lock (rebuild requirements.lock from pyproject.toml's ranges in a fresh venv)
VENV   ?= .venv
PY     := $(VENV)/bin/python
SMK    := $(VENV)/bin/snakemake
CORES  ?= all
STAMP  := $(VENV)/.installed
# The CPU wheel of torch that this machine keeps on disk; elsewhere an ordinary torch.
TORCH_CPU_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl))

.PHONY: install run reproduce test bench dryrun lint fmt clean lock

install: $(STAMP)

# exact versions from requirements.lock (torch's CPU wheel where this machine keeps one: the lock's
# torch==X matches X+cpu), then langadapt itself without touching them
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e ".[dev]"
	touch $(STAMP)

# the newest versions pyproject.toml allows, resolved in a fresh venv and written down exactly
LOCK_VENV := .lock-venv
lock:
	rm -rf $(LOCK_VENV) && python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
ifneq ($(TORCH_CPU_WHEEL),)
	$(LOCK_VENV)/bin/python -m pip install --quiet "torch==2.13.0"
endif
	$(LOCK_VENV)/bin/python -m pip install --quiet -e ".[dev]"
	$(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | sed -E 's/^(torch==[^+]+)\+cpu$$/\1/' > requirements.lock
	rm -rf $(LOCK_VENV)

run: install
	$(SMK) --cores $(CORES)

# the larger miniature (configs/reproduce.yaml, layered on config.yaml): about 25 minutes on 2 cores
reproduce: install
	$(SMK) --cores $(CORES) --configfile config.yaml configs/reproduce.yaml

test: install
	$(PY) -m pytest -q -rs --durations=25 tests

# a cold default run into bench-results/ with every stage's wall and CPU time, lm-eval per model and
# the no-op re-run; CPT tokens/s against a plain Trainer loop; initialization at LLaMa-3 scale;
# tokenizer training throughput; GPU-hours of the paper configs, and the same cost model on the cold run
bench: install
	$(PY) benchmarks/stages.py --cold
	$(PY) benchmarks/cpt_throughput.py
	$(PY) benchmarks/transfer_scale.py
	$(PY) benchmarks/transfer_scale.py --vocab 262144 --dim 2560 --tied --reference-vocab 0
	$(PY) benchmarks/tokenizer_throughput.py
	$(PY) benchmarks/table2.py
	$(PY) benchmarks/data_scale.py
	$(PY) benchmarks/gpu_hours.py --configfile configs/paper-llama3.yaml
	$(PY) benchmarks/gpu_hours.py --configfile configs/paper-mistral.yaml
	$(PY) benchmarks/gpu_hours.py --configfile configs/paper-qwen3.yaml
	$(PY) benchmarks/gpu_hours.py --configfile configs/paper-gemma3.yaml
	$(PY) benchmarks/gpu_hours.py --configfile configs/paper-llama3-70b.yaml
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
	rm -rf results bench-results .snakemake $(LOCK_VENV)
