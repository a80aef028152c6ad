# Two commands a new user needs:  `make demo`  and  `make test`.
# Each creates the virtual environment it needs (Python 3.11, CPU build of torch) on first use.
PYTHON ?= python3
VENV ?= .venv
ZOO_VENV ?= .venv-zoo
PY := $(VENV)/bin/python
ZOO_PY := $(ZOO_VENV)/bin/python
# torch 2.13.0 is a small CPU build; torchvision (needed by timm/smp) only imports beside 2.14.1.
TORCH_SPEC ?= torch==2.13.0
ZOO_TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PIP_QUIET ?= -q
JOBS ?= 2

.PHONY: demo test lint format test-core test-zoo bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --upgrade pip
	$(PY) -m pip install $(PIP_QUIET) $(TORCH_SPEC)
	$(PY) -m pip install $(PIP_QUIET) -e ".[samcl,cameras,dev]"
	touch $@

$(ZOO_VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(ZOO_VENV)
	$(ZOO_PY) -m pip install $(PIP_QUIET) --upgrade pip
	$(ZOO_PY) -m pip install $(PIP_QUIET) $(ZOO_TORCH_SPEC)
	$(ZOO_PY) -m pip install $(PIP_QUIET) -e ".[samcl,zoo,dev]"
	touch $@

## demo: synthetic thermal faces -> TiAug -> statistics and previews -> two small trainings (without/with SAM-CL) -> evaluation
demo: $(VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" scripts/demo.sh demo_out

## test: lint, format check, the whole test suite, then the segmentation-models-pytorch zoo tests
test: lint test-core test-zoo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-core: $(VENV)/.installed
	$(PY) -m pytest -n $(JOBS) -q
	$(PY) -m pytest -q --nbmake --nbmake-timeout=300 -p no:cacheprovider notebooks

test-zoo: $(ZOO_VENV)/.installed
	$(ZOO_PY) -m pytest -q -m zoo -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_augment.py

clean:
	rm -rf $(VENV) $(ZOO_VENV) demo_out .pytest_cache .ruff_cache .hypothesis
