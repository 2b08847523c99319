# The course's entry points. `make lab` opens the course, `make test` checks all of it,
# `make render` regenerates every chapter's stored outputs (instructors).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.gdlessons-installed
# Extra pip arguments for every install (a proxy, a local wheel folder, ...).
PIP_ARGS ?=
# PyPI's torch for Linux is a multi-GB CUDA build: on Linux the set-up takes torch from PyTorch's
# CPU wheel index when that index answers within 3 s, else from pip's usual sources (where a CPU
# wheel may already lie, as on CI). Elsewhere PyPI's torch is the CPU build already.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_INDEX = $(shell [ "$$(uname -s)" = Linux ] && $(PYTHON) -c "import urllib.request as r; r.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=3)" >/dev/null 2>&1 && echo --extra-index-url $(TORCH_CPU_INDEX))
NB ?=
PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
RENDER_ENV := GDLESSONS_RENDER=1 TQDM_DISABLE=1 PYDEVD_DISABLE_FILE_VALIDATION=1

.PHONY: setup lab test test-fast lint format render book benchmarks browser-deps clean

setup: $(STAMP)

# torch first, from the CPU index when it answers; constraints-cpu.txt then holds that version,
# so installing the rest never swaps it for a CUDA build.
$(STAMP): pyproject.toml constraints-cpu.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(PIP_ARGS) $(TORCH_INDEX) -c constraints-cpu.txt torch
	$(PY) -m pip install --quiet $(PIP_ARGS) -c constraints-cpu.txt -e ".[dev]"
	@touch $@

lab: $(STAMP)
	$(VENV)/bin/gdlessons lab --port=$(PORT) $(ROOT_FLAG)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(STAMP) browser-deps lint
	$(RENDER_ENV) $(VENV)/bin/pytest -n 2 --dist loadfile --doctest-modules gdlessons tests notebooks \
		--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# The unit tier: package, doctests and chapter modules, without chapter runs or the browser.
test-fast: $(STAMP)
	$(RENDER_ENV) $(VENV)/bin/pytest -n 2 -m "not slow" --doctest-modules gdlessons tests

render: $(STAMP)
	$(RENDER_ENV) $(PY) -m gdlessons.render $(NB)

# The course as a static website (build/book/html) whose sliders work without a kernel.
book: $(STAMP)
	$(RENDER_ENV) $(PY) -m gdlessons.book --out build/book

benchmarks: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

# Widgets are tested in JupyterLab in headless Chromium, from Debian's packages (never a browser download).
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else echo "Chromium not installed: the browser test will be skipped (install Debian's chromium and chromium-driver)."; fi; }

clean:
	rm -rf $(VENV) tests/output build
