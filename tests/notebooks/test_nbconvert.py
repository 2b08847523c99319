"""A chapter converted with ``jupyter nbconvert --to html`` shows each explorer's picture,
readout and note: what an HTML reader (nbviewer, an exported page) gets."""

from __future__ import annotations

import html
import json
import re

from nbconvert import HTMLExporter

from gdlessons.display.explorer import STATIC_NOTE
from tests.notebooks.conftest import ROOT

CHAPTER = ROOT / "notebooks" / "02_epochs_batches_iterations.ipynb"


def test_nbconvert_html_keeps_explorer_readouts():
    nb = json.loads(CHAPTER.read_text(encoding="utf-8"))
    readouts = [
        "".join(o["data"]["text/plain"])
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if STATIC_NOTE in "".join(o.get("data", {}).get("text/plain", ""))
    ]
    assert readouts, "the chapter has no stored explorer output"
    page, _ = HTMLExporter().from_filename(str(CHAPTER))
    text = html.unescape(re.sub(r"<[^>]+>", "", page))  # what a reader sees, entities decoded
    for readout in readouts:
        for line in readout.splitlines():
            assert line in text, f"nbconvert's HTML lacks the readout line {line!r}"
    assert page.count('src="data:image/png;base64,') >= len(readouts)
