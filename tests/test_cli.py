import importlib.metadata as md
import io
import subprocess
import sys

import pytest

from gdlessons import __main__ as cli


def test_check_env_reports_versions_and_succeeds():
    out = io.StringIO()
    assert cli.check_env(out) == 0
    text = out.getvalue()
    for name in ("python", "torch", "ipywidgets", "jupyterlab", "matplotlib", "threads"):
        assert name in text
    assert "extension: installed" in text


def test_check_env_fails_clearly_when_something_is_missing(monkeypatch):
    real = md.version

    def fake(name):
        if name == "ipywidgets":
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(cli.md, "version", fake)
    out = io.StringIO()
    assert cli.check_env(out) == 1
    assert "ipywidgets   MISSING" in out.getvalue() and "Missing: ipywidgets" in out.getvalue()


@pytest.mark.slow
def test_module_and_console_script_entry_points():
    result = subprocess.run(
        [sys.executable, "-m", "gdlessons", "check-env"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "torch" in result.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "gdlessons", "nonsense"], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "invalid choice" in bad.stderr
