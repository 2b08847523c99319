import pytest

from gdlessons.display.tables import Table


def test_text_and_html_show_every_cell():
    t = Table([{"a": 1, "b": 0.123456, "c": None}])
    assert "0.1235" in repr(t) and "—" in repr(t)
    assert "<th>a</th>" in t._repr_html_()


def test_empty_rows_are_refused():
    with pytest.raises(ValueError, match="rows"):
        Table([])
