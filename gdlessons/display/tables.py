"""Small tables for notebook output: plain rows in, aligned text (and HTML) out."""

from __future__ import annotations

import html
from collections.abc import Sequence


class Table:
    """Rows of dicts shown as an aligned table; floats get ``digits`` significant digits.

    >>> Table([{"B": 32, "iterations": 32}, {"B": 64, "iterations": 16}])
    B   iterations
    32          32
    64          16
    """

    def __init__(self, rows: Sequence[dict], *, digits: int = 4):
        if isinstance(rows, (str, bytes, dict)) or not hasattr(rows, "__iter__"):
            raise TypeError(f"rows must be a list of dicts, got {type(rows).__name__}")
        rows = list(rows)
        if not rows:
            raise ValueError("rows must hold at least one row")
        if not all(isinstance(r, dict) for r in rows):
            raise TypeError("rows must be a list of dicts, one per row")
        self.rows = [dict(r) for r in rows]
        self.columns = list(self.rows[0])
        self.digits = digits

    def _cell(self, value) -> str:
        if isinstance(value, float):
            return f"{value:.{self.digits}g}"
        return "—" if value is None else str(value)

    def _grid(self) -> list[list[str]]:
        return [self.columns] + [[self._cell(r.get(c)) for c in self.columns] for r in self.rows]

    def __repr__(self) -> str:
        grid = self._grid()
        widths = [max(len(row[i]) for row in grid) for i in range(len(self.columns))]
        lines = []
        for k, row in enumerate(grid):
            cells = [
                v.ljust(w) if k == 0 or not _numeric(v) else v.rjust(w) for v, w in zip(row, widths)
            ]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head, *body = self._grid()
        th = "".join(f"<th>{html.escape(c)}</th>" for c in head)
        trs = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in body
        )
        return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
