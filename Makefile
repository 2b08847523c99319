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

.PHONY: setup lab test test-kernels test-fast lint format render book benchmarks browser-deps clean

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

NBVAL_ARGS := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# CPU kernel settings that stand in for other machines: float32 training amplifies the last-bit
# differences between kernels, so a checked output must hold under each of them.
KERNEL_SETTINGS := default ATEN_CPU_CAPABILITY=default ATEN_CPU_CAPABILITY=avx2 \
	MKL_ENABLE_INSTRUCTIONS=AVX2 MKL_CBWR=COMPATIBLE OMP_NUM_THREADS=1
# The setting `make test` runs under: unlike the machine's own, where the chapters were rendered,
# and the one that moves most results (stale outputs fail under it too). Every test runs under
# it, so each also shows that it holds on a CPU other than the one it was written on.
CI_KERNEL_SETTING ?= ATEN_CPU_CAPABILITY=default
# Test processes (one per core here; 3 on these 2 cores measured 6 min 24 s against 6 min 3 s).
# The site test (it builds the whole site) is named first so that it starts first; the chapters'
# checked outputs (nbval, one file per chapter) come last and fill the cores at the end.
TEST_WORKERS ?= 2

test: $(STAMP) browser-deps lint
	env $(CI_KERNEL_SETTING) $(RENDER_ENV) $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile \
		--durations=20 --doctest-modules tests/browser/test_site.py gdlessons tests notebooks $(NBVAL_ARGS)

# Every chapter's checked outputs under each kernel setting (or those in KERNELS="...").
KERNELS ?= $(KERNEL_SETTINGS)
test-kernels: $(STAMP)
	@failed=""; for setting in $(KERNELS); do \
		echo "== checked outputs under $$setting"; \
		env $$([ "$$setting" = default ] || echo "$$setting") $(RENDER_ENV) \
			$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile -q notebooks $(NBVAL_ARGS) || failed="$$failed $$setting"; \
	done; \
	if [ -n "$$failed" ]; then echo "checked outputs differ under:$$failed"; exit 1; fi

# The unit tier: package, doctests and chapter modules, without chapter runs or the browser.
test-fast: $(STAMP)
	$(RENDER_ENV) $(VENV)/bin/pytest -n 2 -m "not slow" --doctest-modules gdlessons tests

# Unit tier and quick chapter runs under another torch and Python, in a throw-away venv in /tmp
# (PyPI's CUDA torch: a one-off check, not a set-up), e.g. make test-compat TORCH=2.4.1 PY=3.12
# (PY defaults to 3.11; without PY=, $(PY) is the course's .venv python and is dropped).
.PHONY: test-compat
test-compat:
	tools/test_compat.sh $(TORCH) $(filter-out $(VENV)/bin/python,$(PY))

render: $(STAMP)
	$(RENDER_ENV) $(PY) -m gdlessons.render $(NB)

# The course as a static website (build/book/html) whose sliders work without a kernel.
book: $(STAMP)
	$(RENDER_ENV) $(PY) -m gdlessons.book --out build/book

benchmarks: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

# Widgets are tested in JupyterLab in headless Chromium, from Debian's packages (never a browser download).
# axe-core, from npm into build/ (never a CDN): the site test checks every page with it.
AXE_VERSION := 4.14.1
AXE := build/npm/node_modules/axe-core/axe.min.js
browser-deps:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "Chromium not installed: the browser test will be skipped (install Debian's chromium)."; fi; }
	@test -f $(AXE) || command -v npm >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
		else echo "npm not installed: the site's accessibility test will fail (install Debian's npm)."; fi; }
	@test -f $(AXE) || ! command -v npm >/dev/null || { mkdir -p build/npm && cd build/npm && \
		npm install --silent --no-audit --no-fund --no-save axe-core@$(AXE_VERSION) >/dev/null; }

clean:
	rm -rf $(VENV) tests/output build
