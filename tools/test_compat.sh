#!/usr/bin/env bash
# Does the course still run with another PyTorch or Python than the set-up's? Checks one pair:
#
#   tools/test_compat.sh TORCH_VERSION [PYTHON]     e.g. tools/test_compat.sh 2.4.1 3.12
#
# It makes a throw-away venv ($GDLESSONS_COMPAT_DIR, default /tmp/gdlessons-compat/<torch>-py<ver>),
# installs that torch from PyPI, then the course with torch held at that version, and runs the unit
# tier and every chapter at its off-default and quick parameters. Extra pins for that venv go in
# $COMPAT_PINS (e.g. COMPAT_PINS="numpy<2" for torch 2.2, built against NumPy 1).
# Why a separate script: PyPI's torch for Linux is a multi-GB CUDA build (PyTorch's CPU index may
# not answer), fine for a one-off check but never the course's set-up (make setup, .venv).
set -euo pipefail
torch=${1:?usage: tools/test_compat.sh TORCH_VERSION [PYTHON]}
py=${2:-3.11}
repo=$(cd "$(dirname "$0")/.." && pwd)

# The interpreter: pythonX.Y on PATH if it runs (a pyenv shim may not), else pyenv's newest X.Y.
python=python$py
if ! "$python" -c "" 2>/dev/null; then
    python=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$py".* 2>/dev/null | sort -V | tail -n 1)/bin/python
fi
"$python" -c "" 2>/dev/null || { echo "no Python $py found (PATH or pyenv)" >&2; exit 2; }

venv=${GDLESSONS_COMPAT_DIR:-/tmp/gdlessons-compat/$torch-py$py}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# Our constraints replace pip's configured ones (which may cap torch): torch stays at $torch.
printf 'torch==%s\n%s\n' "$torch" "${COMPAT_PINS:-}" | tr ' ' '\n' >"$venv/constraints.txt"
export PIP_CONSTRAINT=$venv/constraints.txt
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "torch==$torch"
"$venv/bin/python" -m pip install --quiet -e "$repo[dev]"
version=$("$venv/bin/python" -c 'import platform; print(platform.python_version())')

# pytest's last line, e.g. "1389 passed, 2 skipped in 95.1s", with the timing kept.
summary() { tail -n 1 "$1" | sed -E 's/^=+ //; s/ =+$//'; }
cd "$repo"
export PATH=$venv/bin:$PATH GDLESSONS_RENDER=1 TQDM_DISABLE=1
status=0
# The CPU-build check is deselected: PyPI's Linux torch is a CUDA build on purpose here.
pytest -n 2 -m "not slow" --doctest-modules gdlessons tests -p no:cacheprovider \
    --deselect tests/test_environment.py::test_the_installed_torch_is_a_cpu_build \
    | tee "$venv/unit.log" || status=1
# Every chapter at its off-default parameters (that test file), then at its quick ones (which
# `make test` runs only in the browser tier's site build), two at a time, into a temporary folder.
pytest -n 2 tests/notebooks/test_papermill_quick.py -p no:cacheprovider \
    | tee "$venv/chapters.log" || status=1
python - <<'PY' | tee "$venv/quick.log" || status=1
import sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from gdlessons.render import execute
from tests.notebooks.conftest import NOTEBOOKS, quick_params

def run(nb):
    try:
        with tempfile.TemporaryDirectory() as out:
            execute(nb, Path(out) / nb.name, quick_params(nb), cwd=nb.parent)
        return 0
    except Exception as exc:
        print(f"{nb.stem} FAILED: {str(exc).strip().splitlines()[-1]}", flush=True)
        return 1

start = time.perf_counter()
failed = sum(ThreadPoolExecutor(2).map(run, NOTEBOOKS))
print(f"{len(NOTEBOOKS) - failed} passed, {failed} failed in {time.perf_counter() - start:.0f}s")
sys.exit(failed > 0)
PY
echo "torch $torch, Python $version: unit tier $(summary "$venv/unit.log");" \
    "chapters off-default $(summary "$venv/chapters.log"), quick $(tail -n 1 "$venv/quick.log")"
exit $status
