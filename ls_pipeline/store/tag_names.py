"""Tag names as Latent Scope uses them: any Unicode a file name can hold (its defaults are 👍 and 👎, its README's
example ❤️), ZWJ sequences and variation selectors included, so long as the name stays one file in tags/ and reads
back as itself.

Latent Scope reads a tag's name up to its first dot (`f.split(".")[0]`), so a dot anywhere would make a tag it
cannot find; a leading dot would also hide the file. Separators, `..`, NUL and other control characters, and the
bidirectional controls (which make a name display as another) are refused too.
"""

from __future__ import annotations

import unicodedata

from ls_pipeline.errors import UserError

MAX_CHARS = 100
# A file name holds 255 bytes on the common filesystems; ".indices" takes 8 of them.
MAX_BYTES = 200
# Unicode's Bidi_Control characters: marks, embeddings, overrides and isolates.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Control, surrogate, line and paragraph separator categories; format characters (Cf) stay allowed: ZWJ is one.
_REFUSED_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")


def tag_name_problem(name: object) -> str | None:
    """What is wrong with `name` as a tag name, in a few words; None when it is a good one."""
    if not isinstance(name, str):
        return "a tag name must be a string"
    if not name.strip():
        return "a tag name cannot be empty"
    if len(name) > MAX_CHARS or len(name.encode("utf-8", errors="surrogatepass")) > MAX_BYTES:
        return f"a tag name holds at most {MAX_CHARS} characters ({MAX_BYTES} bytes of UTF-8)"
    for char in name:
        if problem := _char_problem(char):
            return problem
    return None


def _char_problem(char: str) -> str | None:
    if char in "/\\":
        return "a tag name cannot hold '/' or '\\'"
    if char == ".":
        return "a tag name cannot hold '.' (Latent Scope reads a tag's name up to its first dot)"
    if char in BIDI_CONTROLS:
        return f"a tag name cannot hold the bidirectional control U+{ord(char):04X}"
    if unicodedata.category(char) in _REFUSED_CATEGORIES:
        return f"a tag name cannot hold the control character U+{ord(char):04X}"
    return None


def is_tag_name(name: object) -> bool:
    return tag_name_problem(name) is None


def check_tag_name(name: str, what: str = "tag name") -> str:
    """`name` itself, or a UserError naming what is wrong and the fix."""
    if (problem := tag_name_problem(name)) is not None:
        shown = repr(name)[:60] if isinstance(name, str) else type(name).__name__
        raise UserError(f"invalid {what} {shown}: {problem}; use letters, digits, emoji, spaces, '_' or '-'")
    return name
