"""A real S3-compatible server for the object-storage tests: moto in server mode on 127.0.0.1, with checked credentials.

The server runs in its own process (as a team's store would) with authentication on: the first requests make an IAM
user and its access key, and from then on every request must be signed with that key, so a wrong secret is refused
the way S3 refuses it. Tests reach it only through the standard AWS variables.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The IAM calls that make the user and key are the only unsigned requests the server accepts.
_UNSIGNED_SETUP_CALLS = 3


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    key_id: str
    secret: str
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_REGION": self.region,
        }

    def client(self):  # noqa: ANN201 - a boto3 S3 client
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
            region_name=self.region,
        )

    def new_bucket(self) -> str:
        name = f"ls-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_s3_server() -> tuple[subprocess.Popen[bytes], S3Server]:
    import boto3

    port = free_port()
    # moto's request recorder (tests that count store requests) writes its log here, not into the checkout.
    recording = Path(tempfile.mkdtemp(prefix="moto-")) / "recording"
    env = {
        **os.environ,
        "INITIAL_NO_AUTH_ACTION_COUNT": str(_UNSIGNED_SETUP_CALLS),
        "MOTO_RECORDER_FILEPATH": str(recording),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the moto S3 server did not start") from None
            time.sleep(0.1)
    endpoint = f"http://127.0.0.1:{port}"
    iam = boto3.client(
        "iam", endpoint_url=endpoint, aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1"
    )
    iam.create_user(UserName="latent-scope")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="latent-scope", PolicyName="all", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="latent-scope")["AccessKey"]
    return process, S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    process, server = start_s3_server()
    yield server
    process.kill()
    process.wait()


@contextlib.contextmanager
def aws_settings(server: S3Server, scratch: Path) -> Iterator[S3Server]:
    """The AWS variables of the test server and a scratch folder set meanwhile, with fresh fsspec clients."""
    import s3fs

    with pytest.MonkeyPatch.context() as patch:
        for name, value in server.env().items():
            patch.setenv(name, value)
        patch.setenv("LATENT_SCOPE_SCRATCH", str(scratch))
        s3fs.S3FileSystem.clear_instance_cache()
        yield server
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def s3_env(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """The AWS settings of the test server for one test."""
    with aws_settings(s3_server, tmp_path_factory.mktemp("scratch")) as server:
        yield server


@pytest.fixture
def s3_root(s3_env: S3Server) -> str:
    """A data directory URL in a fresh bucket of the test server."""
    return f"s3://{s3_env.new_bucket()}/data"
