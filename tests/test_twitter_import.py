"""X archive import from archives built in the real formats: mapping, links, filters, re-import, bad archives."""

from __future__ import annotations

import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ls_pipeline import cli
from tests.helpers import run_cli, tree_digest
from tests.x_archives import TWEETS, tweet, write_zip


def test_zip_with_parts_maps_every_field_and_expands_links(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = write_zip(tmp_path / "archive.zip", TWEETS)
    code, out, err = run_cli(cli.ls_twitter_import, ["me", "--source", "zip", "--zip_path", str(archive)], capsys)
    assert code == 0, err
    rows = pd.read_parquet(data_dir / "me/input.parquet")
    assert len(rows) == 5 and rows["created_at"].is_monotonic_increasing
    first = rows.set_index("id").loc["1001"]
    assert first["text"] == "Latent spaces are maps of meaning https://example.org/post"
    assert list(first["urls"]) == ["https://example.org/post"] and list(first["hashtags"]) == ["maps"]
    assert list(first["mentions"]) == ["enjalot"] and first["favorite_count"] == 10
    assert str(first["created_at"]) == "2023-10-11 20:19:24+00:00"
    by_id = rows.set_index("id")
    assert by_id.loc["1002", "is_retweet"] and by_id.loc["1003", "is_reply"]
    assert by_id.loc["1003", "in_reply_to"] == "999"
    assert json.loads((data_dir / "me/meta.json").read_text())["text_column"] == "text"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--year", "2021"], {"1005"}),
        (["--lang", "es"], {"1004"}),
        (["--min_favorites", "5"], {"1001", "1005"}),
        (["--min_text_length", "30"], {"1001", "1002", "1003"}),
        (["--exclude_replies"], {"1001", "1002", "1004", "1005"}),
        (["--exclude_retweets"], {"1001", "1003", "1004", "1005"}),
        (["--top_n", "2", "--sort", "favorites"], {"1005", "1001"}),
        (["--top_n", "1", "--sort", "retweets"], {"1002"}),
        (["--top_n", "1", "--sort", "oldest"], {"1005"}),
    ],
)
def test_filters(
    flags: list[str], expected: set[str], data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = write_zip(tmp_path / "archive.zip", TWEETS)
    assert run_cli(cli.ls_twitter_import, ["f", "--source", "zip", "--zip_path", str(archive), *flags], capsys)[0] == 0
    assert set(pd.read_parquet(data_dir / "f/input.parquet")["id"]) == expected


def test_reimport_adds_and_updates_without_moving_existing_rows(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_zip(tmp_path / "old.zip", TWEETS[:3])
    run_cli(cli.ls_twitter_import, ["acct", "--source", "zip", "--zip_path", str(first)], capsys)
    before = pd.read_parquet(data_dir / "acct/input.parquet")
    newer = [tweet(2, "RT @someone: embeddings everywhere", rts=30), *TWEETS[3:], tweet(6, "brand new tweet")]
    second = write_zip(tmp_path / "new.zip", [*TWEETS[:1], *newer], parts=3)
    assert run_cli(cli.ls_twitter_import, ["acct", "--source", "zip", "--zip_path", str(second)], capsys)[0] == 0
    after = pd.read_parquet(data_dir / "acct/input.parquet")
    assert after["id"].tolist()[:3] == before["id"].tolist()  # ls_index of every stored row unchanged
    assert set(after["id"].tolist()[3:]) == {"1004", "1005", "1006"}
    assert after.set_index("id").loc["1002", "retweet_count"] == 30
    manifest = json.loads((data_dir / "acct/imports.json").read_text())
    assert [(b["added"], b.get("changed")) for b in manifest] == [(3, None), (3, 1)]
    assert [b["total"] for b in manifest] == [3, 6]


def test_run_pipeline_takes_the_archive_to_a_scope_through_dagster(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topics = ["maps and latent spaces", "cooking pasta at home", "rust compiler errors", "birds in the garden"]
    tweets = [tweet(n, f"{topics[n % 4]}: thought number {n} about {topics[n % 4].split()[0]}") for n in range(48)]
    archive = write_zip(tmp_path / "archive.zip", tweets)
    (data_dir / "_recipes").mkdir()
    (data_dir / "_recipes" / "tiny.yaml").write_text(
        "umap: {neighbors: 8}\ncluster: {min_cluster_size: 5, min_samples: 2}\nchecks: {max_noise_share: 0.95}\n"
    )
    args = ["birds", "--source", "zip", "--zip_path", str(archive), "--run_pipeline", "--recipe", "tiny"]
    code, out, err = run_cli(cli.ls_twitter_import, args, capsys)
    assert code == 0, err
    assert "scope: scopes-001" in out and (data_dir / "birds/scopes/scopes-001.parquet").is_file()
    from ls_pipeline.runs.runner import open_instance
    from ls_pipeline.store import DataDir

    with open_instance(DataDir(data_dir)) as instance:  # the run is in Dagster's history, as in the UI
        assert [run.job_name for run in instance.get_runs()] == ["recipe_job"]


def test_community_archive_from_a_file_and_from_a_server(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = {"account": [{"account": {"username": "visakanv"}}], "tweets": TWEETS}
    path = tmp_path / "archive.json"
    path.write_text(json.dumps(payload))
    assert run_cli(cli.ls_twitter_import, ["c1", "--source", "community", "--archive_path", str(path)], capsys)[0] == 0
    assert len(pd.read_parquet(data_dir / "c1/input.parquet")) == 5
    with _serve({"/visakanv/archive.json": json.dumps(payload).encode()}) as base:
        args = ["c2", "--source", "community", "--username", "VisakanV", "--base_url", base]
        assert run_cli(cli.ls_twitter_import, args, capsys)[0] == 0
    assert len(pd.read_parquet(data_dir / "c2/input.parquet")) == 5


@pytest.fixture
def bad_archives(tmp_path: Path) -> Path:
    (tmp_path / "not.zip").write_text("plain text")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as archive:
        archive.writestr("data/account.js", "window.YTD.account.part0 = []")
    with zipfile.ZipFile(tmp_path / "truncated.zip", "w") as archive:
        archive.writestr("data/tweets.js", "window.YTD.tweets.part0 = " + json.dumps(TWEETS)[:-40])
    write_zip(tmp_path / "wrapper.zip", TWEETS, wrapper="var tweets{n} = ")
    (tmp_path / "community.json").write_text('{"profile": []}')
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "zip", "--zip_path", "{d}/not.zip"], "not.zip is not a zip file"),
        (["--source", "zip", "--zip_path", "{d}/empty.zip"], "has no data/tweets.js"),
        (["--source", "zip", "--zip_path", "{d}/truncated.zip"], "data/tweets.js is truncated or not valid JSON"),
        (["--source", "zip", "--zip_path", "{d}/wrapper.zip"], "does not start with 'window.YTD"),
        (["--source", "zip", "--zip_path", "{d}/missing.zip"], "no such file"),
        (["--source", "zip"], "--source zip needs --zip_path"),
        (["--source", "community", "--archive_path", "{d}/community.json"], "no 'tweets' list"),
        (
            ["--source", "community", "--username", "x", "--base_url", "http://127.0.0.1:9"],
            "cannot reach the Community Archive at 127.0.0.1:9",
        ),
        (["--source", "zip", "--zip_path", "{d}/../archive.zip", "--year", "1990"], "no such file"),
    ],
)
def test_bad_archives_are_one_line_errors_and_write_nothing(
    args: list[str], message: str, bad_archives: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_digest(data_dir)
    code, out, err = run_cli(cli.ls_twitter_import, ["bad", *[a.format(d=bad_archives) for a in args]], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert tree_digest(data_dir) == before


class _Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = self.files.get(self.path)
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


class _serve:  # noqa: N801 (used as a context manager, reads like a function)
    def __init__(self, files: dict[str, bytes]) -> None:
        handler = type("Handler", (_Files,), {"files": files})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    yield


def test_an_archive_dropped_in_the_inbox_is_ingested_by_the_sensor_as_an_upsert(data_dir: Path, tmp_path: Path) -> None:
    import os
    import time

    import dagster as dg

    from ls_pipeline.definitions import defs
    from ls_pipeline.defs.resources import DataDirResource
    from ls_pipeline.defs.sensors import inbox_sensor

    def drop_and_ingest(tweets: list[dict], instance: dg.DagsterInstance, cursor: str | None) -> str | None:
        archive = write_zip(data_dir / "_inbox" / "my archive.zip", tweets)
        os.utime(archive, (time.time() - 60, time.time() - 60))
        resources = {"data_dir": DataDirResource(path=str(data_dir))}
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs) as ctx:
            result = inbox_sensor(ctx)
        [request] = result.run_requests
        assert request.partition_key == "my-archive"
        instance.add_dynamic_partitions("datasets", ["my-archive"])
        job = defs.resolve_job_def("ingest_job")
        assert job.execute_in_process(run_config=request.run_config, instance=instance, partition_key="my-archive")
        return result.cursor

    (data_dir / "_inbox").mkdir()
    with dg.DagsterInstance.ephemeral() as instance:
        cursor = drop_and_ingest(TWEETS[:3], instance, None)
        first = pd.read_parquet(data_dir / "my-archive/input.parquet")
        drop_and_ingest([tweet(9, "a newer tweet"), *TWEETS], instance, cursor)
    after = pd.read_parquet(data_dir / "my-archive/input.parquet")
    assert after["id"].tolist()[:3] == first["id"].tolist() and len(after) == 6
    manifest = json.loads((data_dir / "my-archive/imports.json").read_text())
    assert [b["added"] for b in manifest] == [3, 3] and manifest[0]["source"] == "my archive.zip"
