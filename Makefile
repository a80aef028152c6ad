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

.PHONY: demo test lint typecheck docs format test-core test-zoo bench clean

# $(call venv_rule,FOLDER,TORCH SPEC,EXTRAS): FOLDER/.installed, a virtual environment with torch and this package.
define venv_rule
$(1)/.installed: pyproject.toml
	$$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install $$(PIP_QUIET) --upgrade pip
	$(1)/bin/python -m pip install $$(PIP_QUIET) $(2)
	$(1)/bin/python -m pip install $$(PIP_QUIET) -e ".[$(3)]"
	touch $$@
endef
comma := ,
$(eval $(call venv_rule,$(VENV),$(TORCH_SPEC),samcl$(comma)cameras$(comma)deploy$(comma)dev))
$(eval $(call venv_rule,$(ZOO_VENV),$(ZOO_TORCH_SPEC),samcl$(comma)zoo$(comma)dev))

## demo: synthetic thermal faces -> TiAug + scene -> statistics and previews -> three small trainings (plain, TiAug + scene, + SAM-CL) -> per-condition evaluation
demo: $(VENV)/.installed
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" scripts/demo.sh demo_out

## test: lint, format check, type check, the strict docs build, the whole test suite, then the zoo tests
test: lint docs test-core test-zoo

## lint: what .pre-commit-config.yaml runs too (ruff check, ruff format --check, mypy on tiaug/ and samcl/)
lint: typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

## docs: the documentation site (docs/, API reference from the docstrings) into site/; warnings are errors
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site  # not --quiet: it hides the warnings strict counts

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
	rm -rf $(VENV) $(ZOO_VENV) demo_out site .pytest_cache .ruff_cache .mypy_cache .hypothesis
