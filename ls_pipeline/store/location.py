"""Where the data directory lives: a local folder (the default) or an object-store URL such as s3://bucket/prefix.

A local directory stays a pathlib.Path, so everything that worked on one disk works unchanged. A remote one is a
universal_pathlib UPath over fsspec: it answers the same calls (`/`, `open`, `is_file`, `glob`, `iterdir`), and the
places that need more than a Path (publishing, locks, DuckDB, HDF5) ask `is_remote` and take the object-store road.
Endpoint and credentials come from the standard AWS variables (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION), which botocore reads itself, so any S3-compatible store works.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ls_pipeline import settings
from ls_pipeline.errors import UserError

# Schemes we serve. Others (gs://, az://, ftp:// ...) are refused in one line instead of becoming a local folder
# named "gs:"; adding one means adding its fsspec package and running the object-storage tests against it.
REMOTE_SCHEMES = ("s3", "s3a")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$")
# Other machines write the same bucket: a cached listing would hide their artifacts (and our own newest files from
# a second filesystem instance), so listings are always fresh.
STORAGE_OPTIONS: dict[str, Any] = {"use_listings_cache": False}

Root = Any  # a pathlib.Path for a local data directory, a upath.UPath for a remote one


def parse_root(value: str | os.PathLike[str]) -> Root:
    """A local path (made absolute) or a remote URL, refusing schemes we cannot serve and bucket-less URLs."""
    text = str(value)
    if isinstance(value, Path) or not (match := _URL.match(text)):
        return Path(text).expanduser().resolve()
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme == "file":
        return Path(rest or "/").expanduser().resolve()
    if scheme not in REMOTE_SCHEMES:
        raise UserError(f"unsupported data directory scheme {scheme + '://'!r}: use a local path or s3://bucket/prefix")
    bucket = rest.split("/", 1)[0]
    if not bucket:
        raise UserError(f"data directory {text!r} names no bucket: use s3://bucket/prefix")
    from upath import UPath

    # The endpoint joins the options so that fsspec's instance cache never hands a path on one store another's client.
    endpoint_url = settings.get("AWS_ENDPOINT_URL")
    endpoint = {"endpoint_url": endpoint_url} if endpoint_url else {}
    return UPath(f"s3://{rest.rstrip('/')}", **STORAGE_OPTIONS, **endpoint)


def scratch_folder(remote_folder: Any) -> Path:
    """A machine-local folder standing in for a remote one while files are built: HDF5 cannot write to an object,
    and a file is uploaded whole once finished: in LATENT_SCOPE_SCRATCH."""
    base = settings.get("LATENT_SCOPE_SCRATCH")
    return base / remote_folder.protocol / remote_folder.path.strip("/")


def as_path(text: str) -> Any:
    """A file named by the user: a URL becomes a remote path, anything else a Path kept as written (so messages
    show what the user gave, not a resolved path)."""
    return parse_root(text) if _URL.match(text) else Path(text)


def is_remote(path: Any) -> bool:
    return not isinstance(path, Path)


def url(path: Any) -> str:
    """The path as a string every library takes: /abs/path locally, s3://bucket/key remotely."""
    return str(path)


def filesystem(path: Any) -> Any:
    """The fsspec filesystem that holds `path` (for pandas, pyarrow and DuckDB's register_filesystem)."""
    if not is_remote(path):
        import fsspec

        return fsspec.filesystem("file")
    return path.fs


# Few retries, a short connect timeout: a store that refuses a connection now will not take it a minute later, and a
# person is waiting (botocore's default retries make each call to a stopped store take seconds).
FAIL_FAST: dict[str, Any] = {"config_kwargs": {"retries": {"max_attempts": 2}, "connect_timeout": 3}}


def for_serving(root: Any, metadata_ttl_s: float = 0.0) -> Any:
    """The same data directory, failing fast when it is remote: a server answering people should say the store is
    down within a couple of seconds. With `metadata_ttl_s`, its files' info and folders' listings are answered from
    memory for that long (store/metadata_cache.py), through a client of its own."""
    if not is_remote(root):
        return root
    from upath import UPath

    served = UPath(str(root), **{**root.storage_options, **FAIL_FAST})
    if metadata_ttl_s > 0:
        from ls_pipeline.store.metadata_cache import caching_filesystem

        # UPath hands its filesystem on to every path made from it (`/`, parent, iterdir), so the whole tree
        # below this root asks the caching client.
        served._fs_cached = caching_filesystem(dict(served.storage_options), metadata_ttl_s)
    return served


def check_reachable(root: Any) -> None:
    """Fail in one line, before any work, if a remote data directory's bucket cannot be reached or read."""
    if not is_remote(root):
        return
    bucket = root.path.split("/", 1)[0]
    with storage_errors(root):
        # A fresh client: a cached one may hold credentials or an endpoint from before the environment changed.
        fresh = type(root.fs)(skip_instance_cache=True, **{**root.storage_options, **FAIL_FAST})
        fresh.ls(bucket, refresh=True)


@contextlib.contextmanager
def storage_errors(root: Any) -> Iterator[None]:
    """Turn an object store's failures (no bucket, refused credentials, no endpoint) into one-line UserErrors."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        if (message := describe(exc, root)) is None:
            raise
        raise UserError(message) from None


def describe(exc: BaseException, root: Any) -> str | None:
    """One line for an object-store failure, naming the fix; None for anything that is not one."""
    where = f"data directory {url(root)}"
    text = f"{type(exc).__name__} {exc}"
    endpoint = settings.get("AWS_ENDPOINT_URL") or "the default AWS endpoint"
    if "NoSuchBucket" in text or (isinstance(exc, FileNotFoundError) and "bucket" in text.lower()):
        return f"{where}: the bucket does not exist; create it or fix the URL"
    if any(word in text for word in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden")):
        return f"{where}: the store refused the credentials; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, PermissionError):
        return f"{where}: the store refused the credentials; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if any(word in text for word in ("NoCredentials", "Unable to locate credentials", "PartialCredentials")):
        return f"{where}: no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if any(word in text for word in ("EndpointConnectionError", "Could not connect", "ConnectTimeout", "Connect")):
        return f"{where}: cannot reach {endpoint}; check AWS_ENDPOINT_URL and that the store is running"
    if "NoRegion" in text:
        return f"{where}: no region; set AWS_REGION"
    return None
