"""The data directory's location: local paths stay paths, s3:// URLs reach the store, anything else is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import s3fs

from ls_pipeline import cli
from ls_pipeline.errors import UserError
from ls_pipeline.store.datadir import resolve_data_dir
from ls_pipeline.store.location import is_remote, parse_root
from tests.helpers import run_cli
from tests.s3_support import S3Server


def test_local_paths_stay_paths(tmp_path: Path) -> None:
    assert parse_root(tmp_path) == tmp_path
    assert parse_root(f"file://{tmp_path}") == tmp_path
    assert isinstance(parse_root("relative/dir"), Path)


@pytest.mark.parametrize("value", ["gs://bucket/data", "ftp://host/data", "az://c/d", "memory://x"])
def test_unsupported_schemes_are_refused_not_made_into_folders(value: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unsupported data directory scheme"):
        parse_root(value)
    assert list(tmp_path.iterdir()) == []


def test_a_url_without_bucket_is_refused() -> None:
    with pytest.raises(UserError, match="names no bucket"):
        parse_root("s3://")


def test_an_s3_url_reaches_the_store(s3_root: str) -> None:
    root = resolve_data_dir(s3_root)
    assert is_remote(root)
    assert str(root) == s3_root


BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "case", ["missing bucket", "wrong secret", "wrong key id", "no endpoint", "unsupported scheme"]
)
def test_store_problems_are_one_line_with_no_secret(
    case: str,
    s3_server: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each store problem is one line naming the fix, exit 2, no secret, and no local folder made."""
    env = {**s3_server.env(), "LATENT_SCOPE_DATA": f"s3://{s3_server.new_bucket()}/data"}
    expected = {
        "missing bucket": "the bucket does not exist; create it or fix the URL",
        "wrong secret": "the store refused the credentials; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        "wrong key id": "the store refused the credentials; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        "no endpoint": "cannot reach http://127.0.0.1:9; check AWS_ENDPOINT_URL and that the store is running",
        "unsupported scheme": "unsupported data directory scheme 'gs://': use a local path or s3://bucket/prefix",
    }[case]
    if case == "missing bucket":
        env["LATENT_SCOPE_DATA"] = "s3://no-such-bucket-here/data"
    elif case == "wrong secret":
        env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-0123456789"
    elif case == "wrong key id":
        env["AWS_ACCESS_KEY_ID"] = "AKIANOTAREALKEY00000"
    elif case == "no endpoint":
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    else:
        env["LATENT_SCOPE_DATA"] = "gs://bucket/data"
    source, work = tmp_path / "news.csv", tmp_path / "work"
    source.write_text("text\nfirst row\nsecond row\n")
    work.mkdir()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(work)
    s3fs.S3FileSystem.clear_instance_cache()
    code, out, err = run_cli(cli.ls_ingest, ["news", str(source)], capsys)
    assert code == 2, err
    assert err.strip().splitlines() == [f"ls-ingest: error: data directory {env['LATENT_SCOPE_DATA']}: {expected}"] or (
        case == "unsupported scheme" and err.strip() == f"ls-ingest: error: {expected}"
    ), err
    assert s3_server.secret not in err + out
    assert list(work.iterdir()) == []  # no "s3:" or "gs:" folder, nothing else


def test_the_console_script_prints_one_line_for_a_store_problem(s3_server: S3Server, tmp_path: Path) -> None:
    env = {**os.environ, **s3_server.env(), "LATENT_SCOPE_DATA": "s3://no-such-bucket-here/data"}
    done = subprocess.run(
        [str(BIN / "ls-umap"), "news", "embedding-001"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    expected = "data directory s3://no-such-bucket-here/data: the bucket does not exist; create it or fix the URL"
    assert done.stderr.strip() == f"ls-umap: error: {expected}"
    assert list(tmp_path.iterdir()) == []


def test_ls_init_remembers_an_s3_data_directory_and_keeps_keys_off_it(
    s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LATENT_SCOPE_DATA", raising=False)
    code, out, err = run_cli(cli.ls_init, [s3_root], capsys)
    assert code == 0 and out.strip() == s3_root, err
    assert f"LATENT_SCOPE_DATA={s3_root}" in (tmp_path / ".env").read_text()
    assert str(resolve_data_dir()) == s3_root  # later commands find it through ./.env
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]
    code, _, err = run_cli(cli.ls_init, [s3_root, "--openai_key", "sk-not-for-the-bucket"], capsys)
    assert code == 2 and "API keys are not stored on object storage" in err
    assert "sk-not-for-the-bucket" not in err
