"""Exercise results kept on this machine: the best status per question, a report, a clear."""

import pytest

from gdlessons import exercise_results as saved
from gdlessons.__main__ import main
from gdlessons.exercises import Exercise, expect_int


@pytest.fixture
def kept(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    monkeypatch.setenv("GDLESSONS_PROGRESS", str(path))
    monkeypatch.delenv("GDLESSONS_RENDER", raising=False)
    return path


def test_a_check_keeps_the_best_status_of_its_chapter(kept):
    q = Exercise("q1", "2 + 2?", expect_int(4), hint="Count.", solution="4")
    q.chapter = "ch99_test"
    q.check(5)
    assert saved.load() == {"ch99_test": {"q1": "incorrect"}}
    q.check(4)
    q.check(...)  # the placeholder again: solved stays solved
    assert saved.load()["ch99_test"]["q1"] == "correct"


def test_the_command_reports_and_clears(kept, capsys):
    saved.record("ch01_training_loop", "q1", "correct")
    saved.record("ch01_training_loop", "q2", "incorrect")
    assert main(["progress"]) == 0
    out = capsys.readouterr().out
    assert "ch01_training_loop: 1 of 2 checked correct; not yet: q2" in out and str(kept) in out
    assert main(["progress", "--clear"]) == 0
    assert "Forgot 2 kept results." in capsys.readouterr().out and not kept.exists()


def test_nothing_is_kept_while_rendering_or_when_off(kept, monkeypatch):
    monkeypatch.setenv("GDLESSONS_RENDER", "1")
    saved.record("ch01_training_loop", "q1", "correct")
    monkeypatch.delenv("GDLESSONS_RENDER")
    monkeypatch.setenv("GDLESSONS_PROGRESS", "off")
    saved.record("ch01_training_loop", "q1", "correct")
    assert not kept.exists()


def test_a_damaged_file_starts_afresh_and_a_bad_status_is_named(kept):
    kept.write_text("{not json")
    assert saved.load() == {}
    with pytest.raises(ValueError, match="status must be one of"):
        saved.record("ch01_training_loop", "q1", "done")


def test_questions_know_their_chapter():
    from gdlessons.exercises import ch01_training_loop as ex

    assert ex.q1.chapter == "ch01_training_loop"
