"""Give every chapter parameter a type and a one-line help, for ``papermill --help-notebook``.

    .venv/bin/python tools/parameter_help.py notebooks/01_training_loop.ipynb \\
        --describe timing_batch="batch size of the timing runs"

papermill reads a parameters cell line by line as ``name: type = value  # help``. For each
notebook given, this script rewrites the cell's assignments into that shape:

- the type comes from the literal value (``int``, ``float``, ``str``, ``bool``, ``list[int]``,
  ...); an annotation already written is kept;
- the help is the line's own comment; where there is none, a ``--describe NAME=TEXT`` given on
  the command line, else the course-wide meaning of a name used the same way in every chapter
  (``seed``, ``lr``, ...); ``--describe`` also replaces an existing help;
- ``a, b = 1.0, 2.0`` becomes one line per name (papermill skips tuple assignments).

Running it again changes nothing. It stops without writing a notebook when a parameter has no
help, or has a help papermill cannot read (one with ``=`` in it: papermill then skips the line).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

# Names that mean the same in every chapter ("one name per idea everywhere"); a chapter's own
# comment, when the line has one, says more and wins.
GLOSSARY = {
    "seed": "seed of every random draw: the same seed gives the same draws",
    "lr": "learning rate of the chapter's training runs",
    "epochs": "passes over the training data in the chapter's training runs",
    "batch_size": "samples per mini-batch, one optimizer update each",
    "n": "samples in the chapter's data set",
}


LINE_LENGTH = 80  # line-length in notebooks/ruff.toml


class ParameterError(ValueError):
    """A parameters cell this script cannot document; the message says what to change."""


def literal_type(value: object) -> str:
    """The annotation for a literal parameter value.

    >>> [literal_type(v) for v in (0, 0.1, True, "mse", [0, 2], [1e-4, 1], [], (1, 2))]
    ['int', 'float', 'bool', 'str', 'list[int]', 'list[float]', 'list', 'tuple']
    """
    scalar = {bool: "bool", int: "int", float: "float", str: "str"}
    if type(value) in scalar:
        return scalar[type(value)]
    if isinstance(value, list):
        kinds = {literal_type(v) for v in value}
        if kinds == {"int", "float"}:
            kinds = {"float"}
        if len(kinds) == 1 and kinds <= set(scalar.values()):
            return f"list[{kinds.pop()}]"
        return "list"
    if isinstance(value, (tuple, dict)):
        return type(value).__name__
    raise ParameterError(
        f"cannot tell the type of {value!r}: annotate it by hand (name: type = ...)"
    )


def _comment(line: str, end: int) -> str:
    """The comment after column ``end`` of ``line``, without its ``#``."""
    rest = line[end:].strip()
    return rest[1:].strip() if rest.startswith("#") else ""


def _parameters(source: str) -> list[tuple[int, int, list[tuple[str, str, str, str]]]]:
    """Each assignment of a parameters cell as (first line, last line, [(name, type, value source,
    help)]), lines counted from 0."""
    lines = source.splitlines()
    found = []
    for node in ast.parse(source).body:
        help_ = _comment(lines[node.end_lineno - 1], node.end_col_offset)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            pairs = [(node.target, node.value, ast.get_source_segment(source, node.annotation))]
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                pairs = [(target, node.value, None)]
            elif (isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                  and len(target.elts) == len(node.value.elts)
                  and all(isinstance(t, ast.Name) for t in target.elts)):  # fmt: skip
                pairs = [(t, v, None) for t, v in zip(target.elts, node.value.elts)]
            else:
                pairs = []
        else:
            pairs = []
        if not pairs:
            raise ParameterError(
                f"line {node.lineno} ({lines[node.lineno - 1].strip()!r}) is not 'name = value': "
                "a parameters cell holds one assignment per line"
            )
        params = []
        for target, value, annotation in pairs:
            value_source = ast.get_source_segment(source, value)
            if annotation is None:
                try:
                    annotation = literal_type(ast.literal_eval(value))
                except (ValueError, TypeError, SyntaxError) as exc:  # not a literal
                    raise ParameterError(f"{target.id}: {exc}") from None
            params.append((target.id, annotation, value_source, help_))
        found.append((node.lineno - 1, node.end_lineno - 1, params))
    return found


def document(source: str, describe: dict[str, str] | None = None) -> str:
    """The parameters cell ``source`` with a type and a help on every assignment.

    >>> print(document("seed = 0\\nw, b = -1.0, 2.5  # start\\nk = 4", {"k": "micro-batches"}))
    seed: int = 0  # seed of every random draw: the same seed gives the same draws
    w: float = -1.0  # start
    b: float = 2.5  # start
    k: int = 4  # micro-batches
    """
    describe = describe or {}
    lines = source.splitlines()
    out, done, missing = [], 0, []
    for first, last, params in _parameters(source):
        out += lines[done:first]  # comments and blank lines between assignments stay
        for name, annotation, value, help_ in params:
            help_ = describe.get(name) or help_ or GLOSSARY.get(name, "")
            if not help_:
                missing.append(name)
            elif "=" in help_:
                raise ParameterError(
                    f"{name}: papermill skips a line with a second '=': reword its help {help_!r}"
                )
            line = f"{name}: {annotation} = {value}  # {help_}"
            if len(line.splitlines()[-1]) > LINE_LENGTH:
                raise ParameterError(
                    f"{name}: the line is longer than {LINE_LENGTH} characters and ruff format "
                    f"would split it: shorten its help {help_!r}"
                )
            out.append(line)
        done = last + 1
    out += lines[done:]
    if missing:
        raise ParameterError(
            f"no help for {', '.join(missing)}: write a comment after each value, or pass "
            + " ".join(f'--describe {name}="..."' for name in missing)
        )
    return "\n".join(out)


def parameter_names(source: str) -> list[str]:
    """The names a parameters cell assigns.

    >>> parameter_names("seed = 0\\nw, b = -1.0, 2.5")
    ['seed', 'w', 'b']
    """
    return [name for _, _, params in _parameters(source) for name, *_ in params]


def parameters_cell(nb: dict) -> dict:
    """The one cell of notebook ``nb`` tagged ``parameters``."""
    cells = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"{len(cells)} cells are tagged 'parameters', not exactly one")
    return cells[0]


def update_notebook(nb: dict, describe: dict[str, str] | None = None) -> dict:
    """Document the parameters cell of notebook ``nb`` (a dict, changed in place)."""
    cell = parameters_cell(nb)
    cell["source"] = document("".join(cell["source"]), describe).splitlines(keepends=True)
    return nb


def _describe(pair: str) -> tuple[str, str]:
    name, sep, text = pair.partition("=")
    if not sep or not name.strip().isidentifier() or not text.strip():
        raise argparse.ArgumentTypeError(f"--describe takes NAME=TEXT, not {pair!r}")
    return name.strip(), text.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument(
        "--describe", type=_describe, action="append", default=[], metavar="NAME=TEXT",
        help="the one-line help of parameter NAME (repeat for several)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    describe = dict(args.describe)
    failed, named = 0, set()
    for path in args.notebooks:
        text = path.read_text(encoding="utf-8")
        try:
            nb = json.loads(text)
            named |= set(parameter_names("".join(parameters_cell(nb)["source"])))
            nb = update_notebook(nb, describe)
        except ParameterError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"  # as gdlessons.render writes
        if new != text:
            path.write_text(new, encoding="utf-8")
        print(f"{'updated' if new != text else 'unchanged'} {path}")
    if set(describe) - named:
        print(f"--describe names no parameter: {', '.join(sorted(set(describe) - named))}",
              file=sys.stderr)  # fmt: skip
        failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
