"""``python -m gdlessons.book``: build the course's static site (see :mod:`gdlessons.book`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gdlessons.book.build import build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gdlessons.book",
        description="Build the course as a static website whose sliders work with no kernel.",
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="chapters to include (default: all in notebooks/)"
    )
    parser.add_argument("--out", type=Path, default=Path("build/book"), help="output folder")
    parser.add_argument("--jobs", type=int, default=2, help="chapters executed at once")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(Path("notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [str(nb) for nb in notebooks if not nb.is_file()]
    if not notebooks or missing:
        print(f"no such notebook: {', '.join(missing) or 'notebooks/*.ipynb'}", file=sys.stderr)
        return 2
    report = build(args.out, notebooks, jobs=args.jobs)
    print(f"{'chapter':<36} {'run s':>6} {'explorers':>9} {'states':>7} {'frames MB':>9}")
    for c in report["chapters"]:
        states = sum(e["states"] for e in c["explorers"])
        print(
            f"{c['name']:<36} {c['seconds']:6.1f} {len(c['explorers']):9d} {states:7d} "
            f"{c['frame_bytes'] / 1e6:9.2f}"
        )
    print(
        f"executed in {report['execute_seconds']} s, site built in {report['total_seconds']} s: "
        f"open {args.out / 'html' / 'index.html'}"
    )
    for warning in report["sphinx_warnings"]:
        print(warning)
    return 0


if __name__ == "__main__":
    sys.exit(main())
