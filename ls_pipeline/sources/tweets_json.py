"""The minimized tweet JSON: what hosted mode's privacy upload sends instead of the whole X archive.

The browser reads the archive zip itself and sends only these fields per tweet (the columns of an X import),
so direct messages, e-mail addresses, media and everything else in the archive never leave the user's machine.
The server trusts nothing in it: every key and type is checked, and anything unexpected is refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ls_pipeline.errors import UserError
from ls_pipeline.sources import twitter

FORMAT = "latent-scope.tweets/1"
SUFFIX = ".tweets.json"
MAX_TEXT_CHARS = 50_000  # a note tweet is at most 25,000 characters; more is not a tweet
_ID = re.compile(r"^[0-9]{1,25}$")

_STRINGS = ("urls", "hashtags", "mentions")


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**53


# field -> (its check, what the error says it must be)
FIELDS: dict[str, tuple[Any, str]] = {
    "id": (lambda v: isinstance(v, str) and bool(_ID.match(v)), "a string of digits"),
    "created_at": (lambda v: v is None or (isinstance(v, str) and len(v) <= 40), "an ISO 8601 time or null"),
    "text": (lambda v: isinstance(v, str) and len(v) <= MAX_TEXT_CHARS, f"a string of at most {MAX_TEXT_CHARS} chars"),
    "lang": (lambda v: isinstance(v, str) and len(v) <= 16, "a language code"),
    "favorite_count": (_count, "a non-negative integer"),
    "retweet_count": (_count, "a non-negative integer"),
    "is_reply": (lambda v: isinstance(v, bool), "true or false"),
    "is_retweet": (lambda v: isinstance(v, bool), "true or false"),
    "in_reply_to": (lambda v: v is None or (isinstance(v, str) and bool(_ID.match(v))), "a string of digits or null"),
    **{
        name: (lambda v: isinstance(v, list) and all(isinstance(s, str) and len(s) <= 4096 for s in v), "strings")
        for name in _STRINGS
    },
    "media_count": (_count, "a non-negative integer"),
}


def is_tweets_json(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIX)


def read(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    return parse(path.read_bytes(), path.name)


def parse(raw: bytes, name: str = "the upload") -> pd.DataFrame:
    """Rows of an X import from the minimized JSON; UserError naming the first problem otherwise."""
    try:
        payload = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise UserError(f"{name} is not UTF-8 text (byte offset {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"{name} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    return to_frame(payload, name)


def to_frame(payload: Any, name: str = "the upload") -> pd.DataFrame:
    if not isinstance(payload, dict) or set(payload) != {"format", "tweets"}:
        raise UserError(f"{name} must be an object with exactly 'format' and 'tweets'")
    if payload["format"] != FORMAT:
        raise UserError(f"{name} has format {str(payload['format'])[:40]!r}; expected {FORMAT!r}")
    tweets = payload["tweets"]
    if not isinstance(tweets, list) or not tweets:
        raise UserError(f"{name} has no tweets: 'tweets' must be a non-empty list")
    rows = [_row(tweet, n, name) for n, tweet in enumerate(tweets, start=1)]
    return twitter.to_frame(rows)


def _row(tweet: Any, n: int, name: str) -> dict[str, Any]:
    if not isinstance(tweet, dict):
        raise UserError(f"{name}: tweet {n} is {type(tweet).__name__}, not an object")
    missing, extra = sorted(set(FIELDS) - set(tweet)), sorted(set(tweet) - set(FIELDS))
    if missing or extra:
        problem = f"lacks {', '.join(missing)}" if missing else f"has unexpected fields {', '.join(extra)[:200]}"
        raise UserError(f"{name}: tweet {n} {problem}; each tweet has exactly: {', '.join(FIELDS)}")
    for field, (check, must_be) in FIELDS.items():
        if not check(tweet[field]):
            raise UserError(f"{name}: tweet {n} field {field!r} must be {must_be}")
    created = twitter.parse_time(tweet["created_at"])
    if tweet["created_at"] is not None and created is None:
        raise UserError(f"{name}: tweet {n} field 'created_at' is not a time: {tweet['created_at'][:40]!r}")
    return {**tweet, "created_at": created, "kind": "tweet"}


def dumps(frame: pd.DataFrame) -> bytes:
    """The minimized JSON of rows read from an archive (what the browser sends; used by tests and tools)."""
    tweets = []
    for row in frame[frame["kind"] == "tweet"].to_dict("records"):
        created = row["created_at"]
        tweets.append(
            {
                **{f: row[f] for f in FIELDS},
                "created_at": None if pd.isna(created) else created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "in_reply_to": None if pd.isna(row["in_reply_to"]) else str(row["in_reply_to"]),
                **{f: [str(s) for s in row[f]] for f in _STRINGS},
                **{f: int(row[f]) for f in ("favorite_count", "retweet_count", "media_count")},
                **{f: bool(row[f]) for f in ("is_reply", "is_retweet")},
            }
        )
    return json.dumps({"format": FORMAT, "tweets": tweets}, ensure_ascii=False).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicate = next(k for k in keys if keys.count(k) > 1)
        raise UserError(f"the upload repeats the key {duplicate[:40]!r} in one object")
    return dict(pairs)


def _no_constant(value: str) -> Any:
    raise UserError(f"the upload holds {value}, which is not JSON")
