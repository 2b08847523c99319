"""The conda/Binder environment and pyproject ask for the same runtime dependencies."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch-cpu": "torch"}  # conda-forge name -> PyPI name


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_matches_pyproject_both_ways():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    python = [d for d in deps if _name(d) == "python"]
    assert python and re.fullmatch(r"python=3\.\d+", python[0]), "Python must be pinned"
    conda = {CONDA_NAMES.get(_name(d), _name(d)) for d in deps} - {"python", "pip"}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {_name(d) for d in pyproject["project"]["dependencies"]}
    assert conda == runtime, (
        f"only in environment.yml: {conda - runtime}; only in pyproject: {runtime - conda}"
    )


def test_binder_uses_the_same_environment():
    link = ROOT / "binder" / "environment.yml"
    assert link.is_symlink() and link.resolve() == (ROOT / "environment.yml").resolve()
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post


def test_torch_is_pinned_to_the_cpu_wheel_only_in_setup():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    torch_req = [d for d in pyproject["project"]["dependencies"] if _name(d) == "torch"]
    assert torch_req == ["torch>=2.2"]
    assert "torch==2.13.0" in (ROOT / "constraints-cpu.txt").read_text()
    assert "-c constraints-cpu.txt" in (ROOT / "Makefile").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    steps = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith(("#", "set ", "cd ", "export "))]  # fmt: skip
    assert steps == ["make test"]
    assert "urlpath=lab/tree/notebooks/00_welcome.ipynb" in readme
