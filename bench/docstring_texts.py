"""More real text than the Debian file holds: its descriptions plus the docstrings of the installed Python packages.

    PYTHONPATH=$PWD python bench/docstring_texts.py --data debian-packages.parquet [--rows 110000] [OUT]

Each module, class or function docstring of site-packages of at least 80 characters (whitespace folded, cut at 2,000
characters, each text once) is a row, its package as `section`. OUT (default /tmp/ls-docstrings/texts.parquet) holds
every Debian row, then docstrings in a seeded random order up to --rows: bench/real_text_run.py reads it.
"""

from __future__ import annotations

import argparse
import ast
import site
from pathlib import Path

import pandas as pd

from bench.machine import add_data_argument, data_file

MIN_CHARS, MAX_CHARS = 80, 2000


def docstrings(root: Path) -> pd.DataFrame:
    seen: set[str] = set()
    rows = []
    for file in sorted(root.rglob("*.py")):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8", errors="ignore"))
        except (SyntaxError, ValueError):
            continue
        package = file.relative_to(root).parts[0]
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                text = " ".join((ast.get_docstring(node) or "").split())[:MAX_CHARS]
                if len(text) >= MIN_CHARS and text not in seen:
                    seen.add(text)
                    rows.append((package, package, text))
    return pd.DataFrame(rows, columns=["package", "section", "text"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=Path("/tmp/ls-docstrings/texts.parquet"), type=Path)
    parser.add_argument("--rows", type=int, default=110_000)
    add_data_argument(parser)
    args = parser.parse_args()
    debian = pd.read_parquet(data_file(args.data, args.rows), columns=["package", "section", "text"])
    found = docstrings(Path(site.getsitepackages()[0]))
    extra = found.sample(frac=1, random_state=0).head(max(args.rows - len(debian), 0))
    out = pd.concat([debian.assign(source="debian"), extra.assign(source="python docstrings")], ignore_index=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out.to_parquet(args.out)
    print(f"{len(out):,} rows ({len(debian):,} Debian, {len(extra):,} of {len(found):,} docstrings) in {args.out}")


if __name__ == "__main__":
    main()
