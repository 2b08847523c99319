"""The conda/Binder environment and pyproject ask for the same runtime dependencies."""

import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

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
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(d) for d in project["dependencies"] + project["optional-dependencies"]["lab"]}
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
    assert torch_req == ["torch>=2.4"]  # the floor the support table in the README measured
    pinned = re.search(r"^torch==(\S+)$", (ROOT / "constraints-cpu.txt").read_text(), re.M)
    assert pinned, "constraints-cpu.txt must pin torch==<version>"
    env = (ROOT / "environment.yml").read_text()
    assert f"pytorch-cpu={pinned.group(1)}" in env, "environment.yml must pin the same torch"
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints-cpu.txt torch" in makefile and "$(TORCH_INDEX)" in makefile


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    steps = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith(("#", "set ", "cd ", "export "))]  # fmt: skip
    assert steps == ["make test"]
    assert "urlpath=lab/tree/notebooks/00_welcome.ipynb" in readme


def test_the_installed_torch_is_a_cpu_build():
    torch = pytest.importorskip("torch")
    assert torch.version.cuda is None, f"a CUDA build of torch is installed: {torch.__version__}"


def test_runtime_dependencies_are_what_the_package_imports():
    """JupyterLab and papermill are extras: the chapters run without them (Colab)."""
    import ast

    imported = set()
    for path in (ROOT / "gdlessons").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(d) for d in project["dependencies"]}
    import_names = {"scikit-learn": "sklearn"}
    for dist in runtime:
        assert import_names.get(dist, dist) in imported, f"{dist} is a dependency nobody imports"
    assert {"jupyterlab", "papermill"} <= {
        _name(d) for d in project["optional-dependencies"]["lab"]
    }


def test_license_is_an_spdx_string_with_its_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
