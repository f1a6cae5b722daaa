"""Hosted mode's X import over real HTTP: the strict minimized JSON, the upload route (the only one that writes),
its limits and refusals, and the import's progress from the inbox through the Dagster sensors to a ready scope."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pandas as pd
import pytest

from ls_pipeline.definitions import defs
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.defs.sensors import import_canceled_sensor, import_failed_sensor, inbox_sensor
from ls_pipeline.errors import UserError
from ls_pipeline.sources import tweets_json, twitter
from tests.helpers import tree_digest
from tests.hosted_support import automation_tick, evaluate, recipe_partitions, settle, temp_instance
from tests.viewer_support import serve
from tests.x_archives import TWEETS, topic_tweets, tweet, write_full_archive, write_zip

MAX_MB = 1


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("hosted") / "data"
    root.mkdir()
    log = root.parent / "viewer.log"
    with serve(root, log, LATENT_SCOPE_APP_MODE="hosted", LATENT_SCOPE_MAX_UPLOAD_MB=str(MAX_MB)) as base:
        yield base, root


def minimized(tweets: list[dict], tmp_path: Path) -> bytes:
    return tweets_json.dumps(twitter.read_zip(write_zip(tmp_path / "a.zip", tweets)))


def post(
    base: str, name: str, body: bytes | Iterator[bytes], media: str = "application/json", secret: str | None = None
) -> httpx.Response:
    headers = {"content-type": media, **({"x-import-secret": secret} if secret is not None else {})}
    return httpx.post(f"{base}/api/imports", params={"name": name}, content=body, headers=headers)


# ---- the minimized JSON ----------------------------------------------------------------------------------------------


def test_minimized_json_keeps_every_field_of_an_archive(tmp_path: Path) -> None:
    rows = twitter.read_zip(write_zip(tmp_path / "a.zip", TWEETS))
    again = tweets_json.parse(tweets_json.dumps(rows))
    pd.testing.assert_frame_equal(again, rows, check_dtype=False)


def _one(**change: object) -> bytes:
    good = json.loads(tweets_json.dumps(twitter.to_frame([twitter.tweet_row(TWEETS[0]["tweet"])])))
    good["tweets"][0].update(change)
    return json.dumps(good).encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"format": "latent-scope.tweets/1", "tweets": [', "is not valid JSON"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        (b"[]", "must be an object with exactly 'format' and 'tweets'"),
        (b'{"format": "x", "tweets": [{}]}', "expected 'latent-scope.tweets/1'"),
        (b'{"format": "latent-scope.tweets/1", "tweets": []}', "has no tweets"),
        (b'{"format": "latent-scope.tweets/1", "tweets": [], "dms": []}', "exactly 'format' and 'tweets'"),
        (b'{"format": "latent-scope.tweets/1", "format": "x", "tweets": []}', "repeats the key 'format'"),
        (_one(email="owner@example.org"), "has unexpected fields email"),
        (json.dumps({"format": tweets_json.FORMAT, "tweets": ["hi"]}).encode(), "tweet 1 is str, not an object"),
        (_one(favorite_count=True), "field 'favorite_count' must be a non-negative integer"),
        (_one(retweet_count=-1), "field 'retweet_count' must be a non-negative integer"),
        (_one(id="12; drop table"), "field 'id' must be a string of digits"),
        (_one(created_at="yesterday"), "field 'created_at' is not a time"),
        (_one(urls="https://example.org"), "field 'urls' must be strings"),
        (_one(text="x" * 50_001), "field 'text' must be a string of at most 50000"),
        (_one(favorite_count=float("nan")), "holds NaN, which is not JSON"),
    ],
)
def test_minimized_json_is_checked_strictly(raw: bytes, message: str) -> None:
    with pytest.raises(UserError, match=None) as caught:
        tweets_json.parse(raw, "me.tweets.json")
    assert message in str(caught.value) and len(str(caught.value).splitlines()) == 1


# ---- the upload route ------------------------------------------------------------------------------------------------


def test_privacy_upload_lands_in_the_inbox_whole_and_atomically(hosted: tuple[str, Path], tmp_path: Path) -> None:
    base, root = hosted
    body = minimized(TWEETS, tmp_path)
    answer = post(base, "alice", body)
    assert answer.status_code == 202, answer.text
    secret = answer.json().pop("secret")
    assert answer.json() == {
        "name": "alice", "rows": 5, "bytes": len(body), "status": "/api/imports/alice", "secret": secret
    }  # fmt: skip
    assert len(secret) >= 32
    assert (root / "_inbox" / "alice.tweets.json").read_bytes() == body
    assert [p.name for p in (root / "_inbox").iterdir()] == ["alice.tweets.json"]  # no partial file left behind
    status = httpx.get(f"{base}/api/imports/alice").json()
    assert status["state"] == "queued" and status["name"] == "alice"


def test_a_whole_archive_upload_is_read_on_the_server(hosted: tuple[str, Path], tmp_path: Path) -> None:
    base, root = hosted
    archive = write_full_archive(tmp_path / "x.zip", TWEETS).read_bytes()
    answer = post(base, "bob", archive, "application/zip")
    assert answer.status_code == 202 and answer.json()["rows"] == 5
    assert (root / "_inbox" / "bob.zip").read_bytes() == archive


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 65536 + 1):
        yield b" " * 65536


@pytest.mark.parametrize(
    ("name", "body", "media", "status", "message"),
    [
        ("../etc", b"{}", "application/json", 400, "invalid import name"),
        ("", b"{}", "application/json", 400, "invalid import name"),
        ("carol", b"{}", "text/csv", 415, "unsupported upload type 'text/csv'"),
        ("carol", b"x" * (MAX_MB * 2**20 + 1), "application/json", 413, "over LATENT_SCOPE_MAX_UPLOAD_MB=1 MB"),
        ("carol", "chunked", "application/json", 413, "over LATENT_SCOPE_MAX_UPLOAD_MB=1 MB"),
        ("carol", b"", "application/json", 400, "the upload is empty"),
        ("carol", b'{"format": "latent-scope.tweets/1", "tweets": [', "application/json", 400, "is not valid JSON"),
        ("carol", _one(dm="secret"), "application/json", 400, "tweet 1 has unexpected fields dm"),
        ("carol", b"plain text", "application/zip", 400, "carol.zip is not a zip file"),
        ("carol", "no-tweets-zip", "application/zip", 400, "carol.zip has no data/tweets.js"),
    ],
)
def test_bad_uploads_are_refused_and_write_nothing(
    hosted: tuple[str, Path], tmp_path: Path, name: str, body: object, media: str, status: int, message: str
) -> None:
    base, root = hosted
    if body == "chunked":  # no Content-Length: the limit must hold while the body streams in
        body = _chunks(MAX_MB * 2**20 + 1)
    elif body == "no-tweets-zip":
        body = write_zip(tmp_path / "n.zip", TWEETS).read_bytes().replace(b"data/tweets", b"data/others")
    before = tree_digest(root)
    answer = post(base, name, body, media)  # type: ignore[arg-type]
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert message in error and "\n" not in error and str(root) not in error and "partial" not in error
    assert tree_digest(root) == before


def test_an_upload_never_merges_into_a_dataset_of_another_kind(hosted: tuple[str, Path], tmp_path: Path) -> None:
    base, root = hosted
    (root / "packages").mkdir()
    (root / "packages" / "meta.json").write_text('{"id": "packages"}')  # a dataset ingested from a CSV, say
    before = tree_digest(root)
    answer = post(base, "packages", minimized(TWEETS, tmp_path))
    assert answer.status_code == 409 and "is already a dataset that is not an X import" in answer.json()["error"]
    assert tree_digest(root) == before


def test_a_reimport_must_present_the_first_uploads_secret(hosted: tuple[str, Path], tmp_path: Path) -> None:
    base, root = hosted
    body = minimized(TWEETS, tmp_path)
    first = post(base, "gina", body)
    assert first.status_code == 202
    secret = first.json()["secret"]
    stored = (root / "_import_secrets" / "gina.sha256").read_text().strip()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()  # only the hash is kept
    assert all(secret.encode() not in p.read_bytes() for p in root.rglob("*") if p.is_file())
    newer = minimized(TWEETS[:3], tmp_path)
    before = tree_digest(root)
    for wrong in (None, "", secret[:-1], secret + "x", "x" * 200):
        answer = post(base, "gina", newer, secret=wrong)
        assert answer.status_code == 403, (wrong, answer.text)
        assert answer.json()["ok"] is False and "secret" in answer.json()["error"]
        assert secret not in answer.text
    assert tree_digest(root) == before  # refused: nothing written, the first upload still whole
    again = post(base, "gina", newer, secret=secret)
    assert again.status_code == 202 and "secret" not in again.json()  # shown once, at the first upload only
    assert (root / "_inbox" / "gina.tweets.json").read_bytes() == newer


def test_a_name_imported_before_secrets_is_refused(hosted: tuple[str, Path], tmp_path: Path) -> None:
    base, root = hosted
    (root / "_inbox").mkdir(exist_ok=True)
    (root / "_inbox" / "hal.tweets.json").write_bytes(minimized(TWEETS, tmp_path))  # uploaded by an older viewer
    before = tree_digest(root)
    answer = post(base, "hal", minimized(TWEETS, tmp_path))
    assert answer.status_code == 403 and "before import secrets" in answer.json()["error"]
    assert tree_digest(root) == before


def test_only_hosted_mode_has_import_routes(built_data: dict[str, object], tmp_path: Path) -> None:
    root = Path(str(built_data["root"]))
    before = tree_digest(root)
    for mode, extra in (("studio", {}), ("single_profile", {"LATENT_SCOPE_PUBLIC_DATASET": "sample"})):
        env = {"LATENT_SCOPE_APP_MODE": mode, "LATENT_SCOPE_PUBLIC_SCOPE": "scopes-001", **extra}
        with serve(root, tmp_path / f"{mode}.log", **env) as base:
            assert httpx.get(f"{base}/api/app").json()["imports"] is False
            answer = post(base, "sample", minimized(TWEETS, tmp_path))
            assert answer.status_code in (404, 405) and answer.json()["ok"] is False
            assert httpx.get(f"{base}/api/imports/sample").status_code == 404
    assert tree_digest(root) == before


# ---- from the inbox to a scope, through the Dagster sensors ----------------------------------------------------------


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with temp_instance(tmp_path) as persistent:
        yield persistent


def state(base: str, name: str) -> dict[str, object]:
    return httpx.get(f"{base}/api/imports/{name}").json()


def test_an_upload_becomes_a_scope_and_its_progress_shows_each_step(
    hosted: tuple[str, Path], tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, root = hosted
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(root))
    monkeypatch.setenv("LATENT_SCOPE_JOB_TIMEOUT_SEC", "900")
    first = post(base, "dana", minimized(topic_tweets(80), tmp_path))
    assert first.status_code == 202
    settle(root, "dana")
    assert state(base, "dana")["state"] == "queued"

    before = automation_tick(instance)
    [ingest_request] = [r for r in evaluate(inbox_sensor, instance, root).run_requests if r.partition_key == "dana"]
    assert ingest_request.tags == {"dagster/max_runtime": "900"}
    ingest = defs.resolve_job_def("ingest_job").execute_in_process(
        run_config=ingest_request.run_config, instance=instance, partition_key="dana", tags=ingest_request.tags
    )
    assert ingest.success
    assert state(base, "dana") | {"uploaded_at": None} == {
        "name": "dana", "state": "embedding", "uploaded_at": None, "rows": 80, "added": 80, "changed": 0
    }  # fmt: skip

    [recipe_key] = recipe_partitions(automation_tick(instance, before))
    recipe = defs.resolve_job_def("recipe_job").execute_in_process(
        instance=instance, partition_key=recipe_key, tags=ingest_request.tags
    )
    assert recipe.success
    done = state(base, "dana")
    assert done["state"] == "ready" and done["scope"] == "scopes-001"
    rows = httpx.get(f"{base}/api/datasets/dana/scopes/scopes-001/rows", params={"limit": 3}).json()
    assert rows["total"] == 80

    # A newer archive of the same account: queued again, then ingested as an upsert (existing rows keep ls_index).
    time.sleep(1.1)  # the new upload's second must differ from the previous import's
    newer = topic_tweets(80)[40:] + [tweet(500, "maps and latent spaces: a brand new thought")]
    assert post(base, "dana", minimized(newer, tmp_path), secret=first.json()["secret"]).status_code == 202
    assert state(base, "dana")["state"] == "queued"


def test_a_file_the_sensor_refuses_shows_as_failed_with_its_reason(
    hosted: tuple[str, Path], tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    base, root = hosted
    empty = [tweet(n, "") for n in range(5)]  # well-formed, but nothing to embed: ingest refuses it
    assert post(base, "erin", minimized(empty, tmp_path)).status_code == 202
    settle(root, "erin")
    assert all(r.partition_key != "erin" for r in evaluate(inbox_sensor, instance, root).run_requests)
    failed = state(base, "erin")
    assert failed["state"] == "failed" and "every value of text column 'text' is empty" in str(failed["message"])


def test_a_failed_or_timed_out_run_shows_as_failed(
    hosted: tuple[str, Path], tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, root = hosted
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(root))
    first = post(base, "fred", minimized(TWEETS, tmp_path))
    assert first.status_code == 202
    settle(root, "fred")
    instance.add_dynamic_partitions("datasets", ["fred"])
    # The run fails for real: its config names a file that is not there.
    bad_config = {"ops": {"ingest": {"config": {"path": str(root / "_inbox" / "gone.csv"), "text_column": ""}}}}
    run = defs.resolve_job_def("ingest_job").execute_in_process(
        run_config=bad_config, instance=instance, partition_key="fred", raise_on_error=False
    )
    assert not run.success
    notify(import_failed_sensor, instance, run.dagster_run, dg.DagsterEventType.RUN_FAILURE, root)
    failed = state(base, "fred")
    assert failed["state"] == "failed" and "ingest_job run failed: no such file: <path>" in str(failed["message"])
    assert str(root) not in str(failed["message"])

    # Runs stopped by Dagster's run monitoring at LATENT_SCOPE_JOB_TIMEOUT_SEC: it marks the run CANCELING, then
    # CANCELED, or FAILURE when the run had no time to log its interrupted step; and a run canceled by hand.
    stops = [
        (
            import_canceled_sensor,
            dg.DagsterEventType.RUN_CANCELED,
            9,
            "took longer than LATENT_SCOPE_JOB_TIMEOUT_SEC=5 s",
        ),
        (import_failed_sensor, dg.DagsterEventType.RUN_FAILURE, 9, "took longer than LATENT_SCOPE_JOB_TIMEOUT_SEC=5 s"),
        (import_canceled_sensor, dg.DagsterEventType.RUN_CANCELED, 2, "ingest_job run failed: the run was canceled"),
    ]
    for sensor, kind, ran_s, note in stops:
        time.sleep(1.1)
        assert post(base, "fred", minimized(TWEETS, tmp_path), secret=first.json()["secret"]).status_code == 202
        settle(root, "fred")
        stopped = stopped_run(instance, ran_s, failed=kind == dg.DagsterEventType.RUN_FAILURE)
        notify(sensor, instance, stopped, kind, root)
        assert note in str(state(base, "fred")["message"])


def stopped_run(instance: dg.DagsterInstance, ran_s: float, failed: bool) -> dg.DagsterRun:
    """An ingest run of 'fred' with a 5 s limit, started `ran_s` ago and stopped now as run monitoring stops one."""
    job = defs.resolve_job_def("ingest_job")
    run = instance.create_run_for_job(job, tags={"dagster/partition": "fred", "dagster/max_runtime": "5"})
    start = dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_START.value, job_name=run.job_name)
    instance.report_dagster_event(start, run.run_id, timestamp=time.time() - ran_s)
    instance.report_run_canceling(run)
    if failed:
        instance.report_run_failed(run, "Exceeded maximum runtime of 5 seconds.")
    else:
        instance.report_run_canceled(run)
    stopped = instance.get_run_by_id(run.run_id)
    assert stopped is not None
    return stopped


def notify(sensor, instance: dg.DagsterInstance, run, kind: dg.DagsterEventType, root: Path) -> None:  # noqa: ANN001
    [event] = instance.all_logs(run.run_id, of_type=kind)
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=event.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"data_dir": DataDirResource(path=str(root))},
    )
    sensor(context)
