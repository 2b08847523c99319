from gdlessons.progress import progress_bar, progress_enabled


def test_rendering_turns_bars_off(monkeypatch):
    monkeypatch.setenv("GDLESSONS_RENDER", "1")
    assert not progress_enabled(None, 10**6)
    assert progress_enabled(True, 1)  # an explicit request wins


def test_short_runs_and_tqdm_disable_show_no_bar(monkeypatch):
    monkeypatch.delenv("GDLESSONS_RENDER", raising=False)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not progress_enabled(None, 10**6)
    monkeypatch.delenv("TQDM_DISABLE")
    assert not progress_enabled(None, 10)


def test_explicit_bar(monkeypatch):
    bar = progress_bar(5, progress=True)
    assert bar is not None and bar.total == 5
    bar.close()
    assert progress_bar(5, progress=False) is None
