import ast
import pathlib

import pytest

from gdlessons import settings


@pytest.mark.parametrize(("value", "on"), [("1", True), ("TRUE", True), ("yes", True), ("On", True),
                                           ("0", False), ("", False), ("no", False)])  # fmt: skip
def test_yes_no_switches(monkeypatch, value, on):
    monkeypatch.setenv("GDLESSONS_RENDER", value)
    monkeypatch.setenv("TQDM_DISABLE", value)
    assert settings.rendering() is on and settings.bars_disabled() is on


def test_unset_switches_are_off_and_take_their_defaults(monkeypatch):
    for name in ("GDLESSONS_RENDER", "TQDM_DISABLE", "GDLESSONS_FRAMES", "GDLESSONS_FRAMES_URL",
                 "GDLESSONS_FRAMES_MAX"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert not settings.rendering() and not settings.bars_disabled()
    assert settings.frames_folder() is None and settings.frames_max() is None
    assert settings.frames_url() == "frames"
    monkeypatch.setenv("GDLESSONS_FRAMES", "")  # empty: as if unset
    assert settings.frames_folder() is None


def test_frames_settings_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("GDLESSONS_FRAMES", str(tmp_path))
    monkeypatch.setenv("GDLESSONS_FRAMES_URL", "frames/03")
    monkeypatch.setenv("GDLESSONS_FRAMES_MAX", "12")
    assert settings.frames_folder() == tmp_path
    assert settings.frames_url() == "frames/03" and settings.frames_max() == 12


def test_a_relative_frames_folder_is_refused(monkeypatch):
    monkeypatch.setenv("GDLESSONS_FRAMES", "build/frames")
    with pytest.raises(
        ValueError, match="GDLESSONS_FRAMES must be an absolute folder, got 'build/frames'"
    ):
        settings.frames_folder()


@pytest.mark.parametrize("value", ["many", "0", "-3"])
def test_a_frames_cap_that_is_no_count_is_named(monkeypatch, value):
    monkeypatch.setenv("GDLESSONS_FRAMES_MAX", value)
    with pytest.raises(
        ValueError, match=f"GDLESSONS_FRAMES_MAX must be a whole number .* got '{value}'"
    ):
        settings.frames_max()


def _environment_reads(path: pathlib.Path) -> set[str]:
    """The names this file reads from ``os.environ`` (``.get``, ``[...]``, ``os.getenv``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        key = None
        if isinstance(node, ast.Call) and node.args:
            target = ast.unparse(node.func)
            if target in ("os.environ.get", "os.getenv", "environ.get", "getenv"):
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if ast.unparse(node.value) in ("os.environ", "environ"):
                key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    return names


def test_only_settings_reads_the_course_switches():
    root = pathlib.Path(settings.__file__).parent
    switches = {"GDLESSONS_RENDER", "TQDM_DISABLE", "GDLESSONS_FRAMES", "GDLESSONS_FRAMES_URL",
                "GDLESSONS_FRAMES_MAX"}  # fmt: skip
    readers = {
        str(p.relative_to(root)) for p in root.rglob("*.py") if _environment_reads(p) & switches
    }
    assert readers == {"settings.py"}
    for name in switches:  # every switch is listed in the module's docstring
        assert f"``{name}``" in settings.__doc__
