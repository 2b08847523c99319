"""Every benchmark records its load, and the README's tables are generated from the results."""

from __future__ import annotations

import doctest
import importlib

import pytest
import report


@pytest.mark.parametrize("name", ["report", "loop", "sweep", "widgets", "course", "site"])
def test_doctests(name):
    failed, _ = doctest.testmod(importlib.import_module(name))
    assert failed == 0


def test_the_readme_tables_are_the_recorded_results():
    """The README holds what the results files say, so its figures cannot drift from a run."""
    results = report.load_results()
    text = report.README.read_text(encoding="utf-8")
    assert report.fill(text, report.generated_blocks(results)) == text, (
        "benchmarks/README.md differs from benchmarks/results/*.json: run benchmarks/report.py"
    )
    for name in report.BENCHMARKS:
        assert f"<!-- begin generated: {name} -->" in text


def test_fill_is_idempotent_and_leaves_the_prose():
    text = "intro\n<!-- begin generated: x -->\n<!-- end generated: x -->\noutro\n"
    once = report.fill(text, {"x": "| a |"})
    assert once == report.fill(once, {"x": "| a |"})
    assert once.startswith("intro\n") and once.endswith("outro\n") and "| a |" in once


def test_save_records_load_and_regenerates_the_readme(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- begin generated: targets -->\n<!-- end generated: targets -->\n")
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    monkeypatch.setattr(report, "README", readme)
    monkeypatch.setattr(report, "BENCHMARKS", ("demo",))
    with report.LoadWatch(every=0.01) as load:
        pass
    path = report.save("demo", {"elapsed_s": 1.0}, load)
    saved = report.load_results(tmp_path)["demo"]
    assert path.exists() and saved["load"]["cpus"] >= 1 and len(saved["load"]["start"]) == 3
    assert "no results recorded yet" in readme.read_text()


def test_spread_and_percentile():
    assert report.spread([1.0, 5.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 5.0, "n": 3}
    values = list(range(101))
    assert report.percentile(values, 95) == 95.0
    with pytest.raises(ValueError):
        report.percentile([], 50)
