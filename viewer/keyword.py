"""Keyword search over the text column: a literal substring, a whole word (or phrase), or a regular expression in
DuckDB's dialect (RE2: linear time, so no pattern can run away with the server). Every pattern is bound as a value.

A regex is checked when the filter is parsed, by DuckDB itself on a connection of this module's own, so an invalid
pattern is a 400 that names the problem before any query runs.
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb

from viewer.errors import BadRequest, scrub

TEXT_MODES = ("literal", "word", "regex")
# RE2 takes a backslash before any ASCII punctuation as that character itself; before a letter it may mean a class.
_SPECIAL = set("\\.^$|?*+()[]{}-/#&~!,:;<=>@`'\"%")
# Anything but a word character of any script (letters, digits, the underscore): what may touch a whole word.
_NOT_WORD = r"[^\pL\pN_]"

_checker = duckdb.connect(":memory:")
_checker_lock = threading.Lock()


def check_pattern(text: str, mode: str) -> None:
    """A BadRequest naming the problem when `text` is no valid pattern of DuckDB's regex dialect (mode regex)."""
    if mode != "regex":
        return
    with _checker_lock:
        cursor = _checker.cursor()
    try:
        cursor.execute("SELECT regexp_matches('', $pattern)", {"pattern": text}).fetchall()
    except duckdb.Error as exc:
        problem = scrub(str(exc)).removeprefix("Invalid Input Error: ")
        raise BadRequest(
            f"text is not a valid regular expression (DuckDB's RE2 dialect): {problem}; "
            "use text_mode=literal to search for the characters as typed"
        ) from exc
    finally:
        cursor.close()


def text_sql(column: str, text: str, mode: str, name: str, params: dict[str, Any]) -> str:
    """SQL true where `column` (SQL text) matches `text` in `mode`, binding its pattern as $name in `params`.

    literal and word ignore case; a regex is matched as written ((?i) in front ignores case)."""
    value = f"CAST({column} AS VARCHAR)"
    if mode == "regex":
        params[name] = text
        return f"regexp_matches({value}, ${name})"
    if mode == "word":
        params[name] = word_pattern(text)
        return f"regexp_matches({value}, ${name})"
    params[name] = text.lower()
    return f"contains(lower({value}), ${name})"


def word_pattern(text: str) -> str:
    """A case-insensitive RE2 pattern matching `text` as whole words: not inside a longer word of any script."""
    words = ["".join("\\" + ch if ch in _SPECIAL else ch for ch in word) for word in text.split()]
    phrase = r"\s+".join(words)
    return f"(?i)(?:^|{_NOT_WORD}){phrase}(?:$|{_NOT_WORD})"
