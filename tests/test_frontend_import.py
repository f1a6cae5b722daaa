"""Hosted mode's import page in headless Chromium: privacy mode sends only the minimized tweets (asserted on the
bytes the server received), the page follows the import to a ready scope, and an oversize upload is refused."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ls_pipeline.sources.tweets_json import FIELDS, FORMAT
from tests.browser import chromium, ensure_frontend_built, viewer_server
from tests.hosted_support import run_import, temp_instance
from tests.x_archives import SECRETS, topic_tweets, write_full_archive

MEDIA_BYTES = 1_500_000  # a photo in the archive: the whole zip is over the 1 MB limit, its tweets are not


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    ensure_frontend_built()
    folder = tmp_path_factory.mktemp("hosted-site")
    root = folder / "data"
    root.mkdir()
    archive = write_full_archive(folder / "twitter-2026.zip", topic_tweets(80), media_bytes=MEDIA_BYTES)
    env = {"LATENT_SCOPE_APP_MODE": "hosted", "LATENT_SCOPE_MAX_UPLOAD_MB": "1"}
    with viewer_server(root, env) as url:
        yield url, root, archive


def submit(page, url: str, name: str, archive: Path, privacy: bool) -> list:  # noqa: ANN001
    uploads: list = []
    page.on("request", lambda r: uploads.append(r) if r.method == "POST" else None)
    page.goto(url + "/")
    page.get_by_test_id("import-link").click()
    page.fill("input[name=name]", name)
    page.set_input_files("input[name=archive]", str(archive))
    page.set_checked("input[name=privacy]", privacy)
    page.get_by_role("button", name="Import").click()
    return uploads


def test_privacy_mode_uploads_only_the_minimized_tweets_and_follows_them_to_a_scope(
    site: tuple[str, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, root, archive = site
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(root))
    with chromium() as browser:
        page = browser.new_page()
        uploads = submit(page, url, "my-tweets", archive, privacy=True)
        page.wait_for_selector("[data-testid=import-status][data-state=queued]", timeout=30_000)

        [request] = uploads
        assert request.url.endswith("/api/imports?name=my-tweets")
        assert request.headers["content-type"] == "application/json"
        sent = request.post_data_buffer
        assert len(sent) < 100_000 < MEDIA_BYTES  # the photo stayed home
        assert all(secret.encode() not in sent for secret in SECRETS)
        payload = json.loads(sent)
        assert payload["format"] == FORMAT and len(payload["tweets"]) == 80
        assert all(set(tweet) == set(FIELDS) for tweet in payload["tweets"])
        assert (root / "_inbox" / "my-tweets.tweets.json").read_bytes() == sent  # what the server kept, byte for byte

        with temp_instance(tmp_path) as instance:  # the daemon's part, while the page polls
            worker = threading.Thread(target=run_import, args=(instance, root, "my-tweets"))
            worker.start()
            page.wait_for_selector("[data-testid=import-status][data-state=ready]", timeout=240_000)
            worker.join()
        page.get_by_test_id("explore-import").click()
        page.wait_for_url("**/datasets/my-tweets/explore/scopes-001**")
        page.wait_for_selector("canvas", timeout=30_000)


def test_an_oversize_upload_is_refused_with_a_clear_message(site: tuple[str, Path, Path]) -> None:
    url, root, archive = site
    with chromium() as browser:
        page = browser.new_page()
        uploads = submit(page, url, "whole-archive", archive, privacy=False)
        alert = page.get_by_role("alert")
        alert.wait_for(timeout=30_000)
        assert "over LATENT_SCOPE_MAX_UPLOAD_MB=1 MB" in alert.inner_text()
        assert [r.headers["content-type"] for r in uploads] == ["application/zip"]
    assert not list((root / "_inbox").glob("whole-archive*"))
    assert not [p for p in (root / "_inbox").iterdir() if p.name.startswith(".")]  # no partial upload left behind
