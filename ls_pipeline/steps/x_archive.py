"""Import an X archive into a dataset: read (zip or Community Archive), filter, and upsert by tweet id."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlparse

from ls_pipeline import settings
from ls_pipeline.errors import UserError
from ls_pipeline.sources import tweets_json, twitter
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.steps.ingest import ingest
from ls_pipeline.store.datadir import DataDir

COMMUNITY_URL_ENV = "LATENT_SCOPE_COMMUNITY_ARCHIVE_URL"


# What a hosted-mode upload in privacy mode is saved as: the minimized tweets the browser extracted.
TWEETS_JSON_SUFFIX = tweets_json.SUFFIX


@dataclass(frozen=True)
class ArchiveSource:
    kind: Literal["zip", "community"]
    zip_path: str | None = None
    username: str | None = None
    archive_path: str | None = None
    base_url: str | None = None
    include_likes: bool = False
    include_notes: bool = False


def load_archive(source: ArchiveSource) -> twitter.pd.DataFrame:
    if source.kind == "zip":
        if not source.zip_path:
            raise UserError("--source zip needs --zip_path FILE (the archive zip you downloaded from X)")
        return twitter.read_zip(source.zip_path, source.include_likes, source.include_notes)
    if source.archive_path:
        return twitter.read_community(source.archive_path)
    if not source.username:
        raise UserError("--source community needs --username NAME or --archive_path FILE")
    return twitter.community_frame(fetch_community(source.username, source.base_url), f"{source.username}'s archive")


def fetch_community(username: str, base_url: str | None = None, timeout: float = 60) -> Any:
    base = (base_url or settings.get(COMMUNITY_URL_ENV)).rstrip("/")
    url = f"{base}/{quote(username.lower())}/archive.json"
    host = urlparse(base).netloc or base
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http(s) URL we built)
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise UserError(f"the Community Archive has no archive for {username!r}") from exc
        raise UserError(f"the Community Archive at {host} answered HTTP {exc.code}; try again later") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(
            f"cannot reach the Community Archive at {host} ({reason}); offline? download the JSON "
            "and pass --archive_path FILE"
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"the Community Archive's answer for {username!r} is not valid JSON") from exc


def import_archive(data: DataDir, dataset: str, source: ArchiveSource, filters: twitter.TweetFilters) -> dict[str, Any]:
    """Rows filtered and upserted by tweet id: a newer archive of the same account keeps every stored ls_index."""
    rows = twitter.apply_filters(load_archive(source), filters)
    if rows.empty:
        raise UserError("no tweets left after the filters; loosen --year, --lang, --min_* or --exclude_*")
    label = source.zip_path or source.archive_path or f"community:{source.username}"
    return ingest(
        data, dataset, rows, IngestParams(text_column="text"), source=os.path.basename(label), upsert_key="id"
    )


def read_upload(path: Path, suffix: str, shown_as: str) -> twitter.pd.DataFrame:
    """The tweets of an uploaded archive zip, or of minimized tweets JSON when `suffix` is TWEETS_JSON_SUFFIX;
    `shown_as` names the upload in a UserError."""
    if suffix == TWEETS_JSON_SUFFIX:
        return tweets_json.parse(path.read_bytes(), shown_as)
    return twitter.read_zip(path)
