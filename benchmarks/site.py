"""What does the static site cost to build and weigh, and how fast does a slider move on it?

Builds the whole course's site as ``make book`` does (every chapter at its default parameters,
every explorer drawing its states; ``gdlessons.book.build``) into a temporary folder, or reads a
site built before (``--reuse build/book``). Then serves it with a plain static file server and,
in headless Chromium (Debian's), opens every chapter page, lets each explorer load its pictures
(a hover, as a reader's pointer does) and moves every control to up to five of its values, timing
each move from the input event until the new picture is decoded (``img.decode()``).

Targets: all frames drawn in <= 5 minutes (the sum of every explorer's drawing time); <= 20 MB of
frames per chapter page; a slider move shows its frame in <= 50 ms (95th percentile).

    .venv/bin/python benchmarks/site.py                      # build and measure, ~5-12 minutes
    .venv/bin/python benchmarks/site.py --reuse build/book   # measure a site already built
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import LoadWatch, percentile, save, spread

ROOT = Path(__file__).resolve().parents[1]
TARGET_FRAMES_S = 300.0
TARGET_CHAPTER_MB = 20.0
TARGET_MOVE_MS = 50.0
CHROMIUM = "/usr/bin/chromium"
MOVES_PER_CONTROL = 5

MOVE = """async ([root, control, target]) => {
  const input = root.querySelector(`[data-control="${control}"]`);
  const start = performance.now();
  if (input.type === 'checkbox') input.checked = !input.checked;
  else input.value = String(target);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  const image = root.querySelector('img.gdl-figure');
  await image.decode();
  return performance.now() - start;
}"""


def targets_of(spec: dict) -> list[int]:
    """Up to five value indices of a control, spread over its range.

    >>> targets_of({"labels": list("abcdefghij"), "initial": 0})
    [9, 7, 5, 2, 0]
    """
    last = len(spec["labels"]) - 1
    steps = min(MOVES_PER_CONTROL, last + 1)
    return sorted({round(last * i / max(1, steps - 1)) for i in range(steps)}, reverse=True)


def measure_moves(html: Path, chapters: list[str]) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(html)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)
    moves: dict[str, list[float]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            for chapter in chapters:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/{chapter}.html", wait_until="load")
                times = []
                for root in page.query_selector_all(".gdl-explorer.gdl-live"):
                    root.scroll_into_view_if_needed()
                    root.hover()
                    page.wait_for_function(
                        "r => r.dataset.warm === 'done'", arg=root, timeout=60000
                    )
                    manifest = json.loads(root.query_selector("script.gdl-frames").text_content())
                    for spec in manifest["controls"]:
                        for target in targets_of(spec):
                            times.append(page.evaluate(MOVE, [root, spec["name"], target]))
                moves[chapter] = times
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return moves


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", type=Path, help="a site built before (its folder)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    with LoadWatch() as load:
        if args.reuse:
            out = args.reuse
            report = json.loads((out / "report.json").read_text())
        else:
            from gdlessons.book.build import build

            out = Path(tempfile.mkdtemp(prefix="gdl-site-"))
            notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
            report = build(out, notebooks, jobs=2)
        chapters = [c["name"] for c in report["chapters"]]
        moves = measure_moves(out / "html", chapters)
    frames_s = sum(e["seconds"] for c in report["chapters"] for e in c["explorers"])
    all_moves = [t for times in moves.values() for t in times]
    rows = []
    for c in report["chapters"]:
        times = moves.get(c["name"], [])
        rows.append({
            "chapter": c["name"],
            "explorers": c["explorers"],
            "frames_mb": c["frame_bytes"] / 1e6,
            "frames_s": sum(e["seconds"] for e in c["explorers"]),
            "moves": spread(times) if times else None,
            "move_p95_ms": percentile(times, 95) if times else None,
        })  # fmt: skip
    p95 = percentile(all_moves, 95)
    largest = max(r["frames_mb"] for r in rows)
    result = {
        "targets": {
            "frames_s": TARGET_FRAMES_S,
            "chapter_mb": TARGET_CHAPTER_MB,
            "move_p95_ms": TARGET_MOVE_MS,
        },  # fmt: skip
        "totals": {
            "build_s": report["total_seconds"],
            "execute_s": report["execute_seconds"],
            "frames_s": frames_s,
            "largest_chapter_mb": largest,
            "move_p95_ms": p95,
            "move_median_ms": percentile(all_moves, 50),
            "moves": len(all_moves),
            "meets_targets": frames_s <= TARGET_FRAMES_S
            and largest <= TARGET_CHAPTER_MB
            and p95 <= TARGET_MOVE_MS,
        },
        "rows": rows,
        "elapsed_s": round(time.perf_counter() - start, 1),
        "raw_moves_ms": moves,
    }
    save("site", result, load)
    print(json.dumps(result["totals"], indent=1))
    return result


if __name__ == "__main__":
    main()
