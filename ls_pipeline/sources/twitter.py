"""X (Twitter) archives to rows: a native export zip (data/tweets.js and its parts) or a Community Archive JSON."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ls_pipeline.errors import UserError

COLUMNS = [
    "id",
    "created_at",
    "text",
    "lang",
    "favorite_count",
    "retweet_count",
    "is_reply",
    "is_retweet",
    "in_reply_to",
    "urls",
    "hashtags",
    "mentions",
    "media_count",
    "kind",
]
# window.YTD.tweets.part0 = [ ... ]  (the same wrapper for likes, notes and every part file)
_WRAPPER = re.compile(r"^\s*window\.YTD\.[A-Za-z_]+\.part\d+\s*=\s*", re.ASCII)
_PART = re.compile(r"(?:^|/)data/(tweets|tweet)(?:-part\d+)?\.js$")
_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"


@dataclass(frozen=True)
class TweetFilters:
    year: int | None = None
    lang: str | None = None
    min_favorites: int = 0
    min_text_length: int = 0
    exclude_replies: bool = False
    exclude_retweets: bool = False
    top_n: int | None = None
    sort: Literal["recent", "oldest", "favorites", "retweets", "engagement"] = "recent"

    def __post_init__(self) -> None:
        if self.top_n is not None and self.top_n < 1:
            raise UserError(f"--top_n must be a positive integer, got {self.top_n}")
        if self.min_favorites < 0 or self.min_text_length < 0:
            raise UserError("--min_favorites and --min_text_length must be 0 or more")
        if self.sort not in ("recent", "oldest", "favorites", "retweets", "engagement"):
            raise UserError(f"unknown --sort {self.sort!r}: use recent, oldest, favorites, retweets or engagement")


# ---- reading ---------------------------------------------------------------------------------------------------------


def read_zip(path: str | Path, include_likes: bool = False, include_notes: bool = False) -> pd.DataFrame:
    """Rows from a native X export zip: every tweets part file, and optionally likes and note tweets."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path.name} is not a zip file: pass the archive zip you downloaded from X")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        parts = sorted(n for n in names if _PART.search(n))
        if not parts:
            raise UserError(f"{path.name} has no data/tweets.js: is it an X (Twitter) archive export?")
        records = [item for name in parts for item in _read_part(archive, name)]
        rows = [tweet_row(_unwrap(r, "tweet")) for r in records]
        if include_likes:
            rows += [like_row(_unwrap(r, "like")) for n in _named(names, "like") for r in _read_part(archive, n)]
        if include_notes:
            rows += [
                note_row(_unwrap(r, "noteTweet")) for n in _named(names, "note-tweet") for r in _read_part(archive, n)
            ]
    return to_frame(rows)


def read_community(path: str | Path) -> pd.DataFrame:
    """Rows from a Community Archive per-user JSON ({"tweets": [{"tweet": {...}}], ...})."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path.name} is not valid JSON: {exc}") from exc
    return community_frame(payload, path.name)


def community_frame(payload: Any, name: str) -> pd.DataFrame:
    if not isinstance(payload, dict) or not isinstance(payload.get("tweets"), list):
        raise UserError(f"{name} is not a Community Archive export: it has no 'tweets' list")
    return to_frame([tweet_row(_unwrap(r, "tweet")) for r in payload["tweets"]])


def _named(names: Iterable[str], kind: str) -> list[str]:
    pattern = re.compile(rf"(?:^|/)data/{re.escape(kind)}(?:-part\d+)?\.js$")
    return sorted(n for n in names if pattern.search(n))


def _read_part(archive: zipfile.ZipFile, name: str) -> list[Any]:
    try:
        text = archive.read(name).decode("utf-8")
    except (zipfile.BadZipFile, UnicodeDecodeError, OSError) as exc:
        raise UserError(f"cannot read {name} in the archive: {exc}") from exc
    match = _WRAPPER.match(text)
    if not match:
        raise UserError(f"{name} does not start with 'window.YTD.<kind>.partN = ': not an X archive file")
    try:
        records = json.loads(text[match.end() :].strip().rstrip(";"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{name} is truncated or not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(records, list):
        raise UserError(f"{name} holds {type(records).__name__}, not a list of tweets")
    return records


def _unwrap(record: Any, key: str) -> dict[str, Any]:
    if isinstance(record, dict) and isinstance(record.get(key), dict):
        return record[key]
    if isinstance(record, dict):
        return record
    raise UserError(f"an archive entry is {type(record).__name__}, not an object with {key!r}")


# ---- one tweet to one row --------------------------------------------------------------------------------------------


def tweet_row(tweet: dict[str, Any]) -> dict[str, Any]:
    tweet_id = tweet.get("id_str") or tweet.get("id")
    if tweet_id is None:
        raise UserError("a tweet in the archive has no id_str: the archive looks damaged")
    entities = tweet.get("entities") or {}
    media = (tweet.get("extended_entities") or {}).get("media") or entities.get("media") or []
    text = expand_links(str(tweet.get("full_text") or tweet.get("text") or ""), entities.get("urls") or [], media)
    reply_to = tweet.get("in_reply_to_status_id_str") or tweet.get("in_reply_to_status_id")
    return {
        "id": str(tweet_id),
        "created_at": parse_time(tweet.get("created_at")),
        "text": text,
        "lang": str(tweet.get("lang") or "und"),
        "favorite_count": _int(tweet.get("favorite_count")),
        "retweet_count": _int(tweet.get("retweet_count")),
        "is_reply": reply_to is not None,
        "is_retweet": text.startswith("RT @"),
        "in_reply_to": None if reply_to is None else str(reply_to),
        "urls": [u.get("expanded_url") or u.get("url") for u in entities.get("urls") or [] if isinstance(u, dict)],
        "hashtags": [h.get("text") for h in entities.get("hashtags") or [] if isinstance(h, dict)],
        "mentions": [m.get("screen_name") for m in entities.get("user_mentions") or [] if isinstance(m, dict)],
        "media_count": len(media),
        "kind": "tweet",
    }


def like_row(like: dict[str, Any]) -> dict[str, Any]:
    return {
        **_blank("like"),
        "id": f"like-{like.get('tweetId')}",
        "text": str(like.get("fullText") or ""),
        "urls": [like["expandedUrl"]] if like.get("expandedUrl") else [],
    }


def note_row(note: dict[str, Any]) -> dict[str, Any]:
    core = note.get("core") or {}
    return {
        **_blank("note"),
        "id": f"note-{note.get('noteTweetId')}",
        "text": str(core.get("text") or ""),
        "created_at": parse_time(note.get("createdAt")),
    }


def _blank(kind: str) -> dict[str, Any]:
    return {
        "created_at": None,
        "lang": "und",
        "favorite_count": 0,
        "retweet_count": 0,
        "is_reply": False,
        "is_retweet": False,
        "in_reply_to": None,
        "urls": [],
        "hashtags": [],
        "mentions": [],
        "media_count": 0,
        "kind": kind,
    }


def expand_links(text: str, urls: list[Any], media: list[Any]) -> str:
    """Replace t.co links with where they point; media links (pictures) are dropped from the text."""
    for url in urls:
        if isinstance(url, dict) and url.get("url") and url.get("expanded_url"):
            text = text.replace(url["url"], url["expanded_url"])
    for item in media:
        if isinstance(item, dict) and item.get("url"):
            text = text.replace(item["url"], "")
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").strip()


def parse_time(value: Any) -> pd.Timestamp | None:
    if not value:
        return None
    try:
        return pd.to_datetime(value, format=_TIME_FORMAT, utc=True)
    except (ValueError, TypeError):
        parsed = pd.to_datetime(value, utc=True, errors="coerce")
        return None if pd.isna(parsed) else parsed


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame.drop_duplicates("id", keep="last").reset_index(drop=True)


# ---- filters ---------------------------------------------------------------------------------------------------------


def apply_filters(frame: pd.DataFrame, filters: TweetFilters) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if filters.year is not None:
        keep &= frame["created_at"].dt.year == filters.year
    if filters.lang:
        keep &= frame["lang"] == filters.lang
    keep &= frame["favorite_count"] >= filters.min_favorites
    keep &= frame["text"].str.len() >= filters.min_text_length
    if filters.exclude_replies:
        keep &= ~frame["is_reply"]
    if filters.exclude_retweets:
        keep &= ~frame["is_retweet"]
    chosen = frame[keep]
    if filters.top_n is not None:
        chosen = _sorted(chosen, filters.sort).head(filters.top_n)
    return chosen.sort_values("created_at", kind="stable").reset_index(drop=True)


def _sorted(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    if sort == "engagement":
        score = frame["favorite_count"] + 2 * frame["retweet_count"]
        return frame.assign(_score=score).sort_values("_score", ascending=False, kind="stable").drop(columns="_score")
    column, ascending = {
        "recent": ("created_at", False),
        "oldest": ("created_at", True),
        "favorites": ("favorite_count", False),
        "retweets": ("retweet_count", False),
    }[sort]
    return frame.sort_values(column, ascending=ascending, kind="stable")
