import importlib.metadata as md
import io
import json
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


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"gdlessons {md.version('gdlessons')}"


@pytest.mark.parametrize(
    ("place", "advice"),
    [("colab", "first code cell"), ("binder", "environment.yml"), ("conda", "conda env update"),
     ("venv", "make lab")],
)  # fmt: skip
def test_check_env_gives_the_next_step_for_each_place(monkeypatch, place, advice):
    real = md.version

    def fake(name):
        if name in ("ipywidgets", "jupyterlab"):
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(cli.md, "version", fake)
    out = io.StringIO()
    assert cli.check_env(out, place=place) == 1
    text = out.getvalue()
    assert advice in text and f"({place})" in text
    # Colab brings its own notebook server: JupyterLab is not needed there
    assert ("jupyterlab   not needed" in text) == (place == "colab")


def test_where_recognises_colab_and_binder(monkeypatch):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    assert cli.where() == "colab"
    monkeypatch.delenv("COLAB_RELEASE_TAG")
    monkeypatch.setenv("BINDER_SERVICE_HOST", "10.0.0.1")
    assert cli.where() == "binder"


def test_lab_without_chapters_says_where_to_get_them(tmp_path):
    with pytest.raises(SystemExit, match="clone the course repository"):
        cli.notebooks_folder(tmp_path)
    assert cli.notebooks_folder().name == "notebooks"


def test_quiet_lab_turns_off_the_news_pop_up_and_keeps_other_overrides(tmp_path):
    settings = tmp_path / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True)
    (settings / "overrides.json").write_text(
        json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}})
    )
    path = cli.quiet_lab(tmp_path)
    written = json.loads(path.read_text())
    assert written["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert written["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert cli.quiet_lab(tmp_path).read_text() == path.read_text()  # idempotent
