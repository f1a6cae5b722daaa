"""Hosted mode's import page in headless Chromium: privacy mode sends only the minimized tweets (asserted on the
bytes the server received), the page follows the import to a ready scope, an oversize upload is refused, and the
first upload's secret is shown once and needed to re-import into the same name."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ls_pipeline.sources.tweets_json import FIELDS, FORMAT
from tests.browser import chromium, ensure_frontend_built, viewer_server
from tests.helpers import tree_digest
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


def submit(page, url: str, name: str, archive: Path, privacy: bool, secret: str = "") -> list:  # noqa: ANN001
    uploads: list = []
    page.on("request", lambda r: uploads.append(r) if r.method == "POST" else None)
    page.goto(url + "/")
    page.get_by_test_id("import-link").click()
    page.fill("input[name=name]", name)
    page.set_input_files("input[name=archive]", str(archive))
    page.set_checked("input[name=privacy]", privacy)
    page.fill("input[name=secret]", secret)
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


def test_the_secret_is_shown_once_and_a_reimport_needs_it(site: tuple[str, Path, Path]) -> None:
    url, root, archive = site
    with chromium() as browser:
        first = browser.new_page()
        submit(first, url, "secret-map", archive, privacy=True)
        first.wait_for_selector("[data-testid=import-status][data-state=queued]", timeout=30_000)
        secret = first.get_by_test_id("import-secret-value").inner_text()
        stored = (root / "_import_secrets" / "secret-map.sha256").read_text().strip()
        assert stored == hashlib.sha256(secret.encode()).hexdigest()
        before = tree_digest(root)
        for wrong in ("", "not-the-secret"):
            page = browser.new_page()
            submit(page, url, "secret-map", archive, privacy=True, secret=wrong)
            page.wait_for_selector("[data-testid=import-status][data-state=failed]", timeout=30_000)
            assert "secret" in page.get_by_test_id("import-status").inner_text()
            assert tree_digest(root) == before  # refused: nothing written
            page.close()
        again = browser.new_page()
        submit(again, url, "secret-map", archive, privacy=True, secret=secret)
        again.wait_for_selector("[data-testid=import-status][data-state=queued]", timeout=30_000)
        assert again.get_by_test_id("import-secret").count() == 0  # shown at the first upload only
