"""Shared fixtures: a real data directory made by the real pipeline on a few hundred real rows."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

# Hermetic: no outcome depends on the user's settings. Their data directory, Dagster instance, app mode, API keys and
# endpoints, and Hugging Face cache are dropped before any of our code reads them; tests set what they need.
_USER_SETTINGS = ("LATENT_SCOPE_", "LS_", "DAGSTER_", "OPENAI_", "MISTRAL_", "HF_", "HUGGING", "TRANSFORMERS_", "AWS_")
for _name in [name for name in os.environ if name.startswith(_USER_SETTINGS)]:
    del os.environ[_name]
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="ls-tests-hf-")  # an empty cache: the default model ships in a package
atexit.register(shutil.rmtree, os.environ["HF_HOME"], True)
os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may reach for the network

# A suite started in the background (CI, `cmd &` in a script) inherits SIGINT ignored. Dagster's in-process runs then
# set SIGTERM to SIGINT's handler, so SIGTERM ends up ignored too, and so does every process started after that:
# Dagster's `tail -F` log mirrors outlive their terminate() (30 s waits per step, leaked tails) and `dg dev` sits out
# SIGINT until its SIGKILL. Python's own handler for SIGINT keeps both signals working in the children.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

# `--perturb`: the run stands in for another CPU (models/perturb.py, docs/testing.md). Vectors move by seeded noise
# ten times what a CPU change was measured to give, and every numeric library gets another thread count: set in the
# environment for the processes tests start, and through threadpoolctl for the BLAS this process has already loaded.
PERTURBED = {
    "LS_PERTURB": "1e-5",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--perturb",
        action="store_true",
        help="stand in for another CPU: noise of 1e-5 on every embedding vector, other thread counts (a test that "
        "asserts a number from the model, UMAP or HDBSCAN must still pass)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--perturb"):
        os.environ.update(PERTURBED)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("--perturb"):
        return "perturbed: " + " ".join(f"{name}={value}" for name, value in PERTURBED.items())
    return None


pytest_plugins = ["tests.s3_support"]  # the S3 server fixtures, for every test module that asks for them

DEMO = Path(__file__).resolve().parents[1] / "ls_pipeline" / "demo" / "debian-packages-3k.parquet"
SMALL_RECIPE = """
description: small recipe for tests
umap: {neighbors: 10, min_dist: 0.1, seed: 7}
cluster: {min_cluster_size: 8, min_samples: 3}
checks: {max_noise_share: 0.9, min_clusters: 2, max_clusters: 200}
"""
# For runs of under 100 rows: there SMALL_RECIPE's clusters of 8 leave room for so few that some UMAP seeds found
# just min_clusters; clusters of 5 keep the checks passing with a margin on any CPU (bench/test_margins.py).
TINY_RECIPE = SMALL_RECIPE.replace("small recipe", "tiny recipe").replace(
    "min_cluster_size: 8, min_samples: 3", "min_cluster_size: 5, min_samples: 2"
)


@pytest.fixture(autouse=True)
def data_directory_choice_stays_with_its_test() -> Iterator[None]:
    """`ls.init` (and `ls-init` run in this process) chooses the data directory for the rest of the process; forget
    that choice after each test, so a later test reads the data directory it selects itself."""
    from ls_pipeline import api

    yield
    api._chosen.clear()


@pytest.fixture(scope="session", autouse=True)
def clean_working_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests run from an empty folder: a .env (or anything else) in the folder pytest was started from is not read."""
    before, work = Path.cwd(), tmp_path_factory.mktemp("cwd")
    os.chdir(work)
    yield work
    os.chdir(before)


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    """300 real Debian package descriptions (text column 'text', label column 'section')."""
    return pd.read_parquet(DEMO).head(300).reset_index(drop=True)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data directory, selected through LATENT_SCOPE_DATA as a user would."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(root))
    yield root


@pytest.fixture(scope="session")
def built_data(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> dict[str, object]:
    """A data directory with dataset 'sample' run through every stage with the small recipe (built once)."""
    from ls_pipeline import steps
    from ls_pipeline.recipe import parse_recipe
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    root = tmp_path_factory.mktemp("built") / "data"
    data = DataDir(root)
    steps.ingest(data, "sample", sample_frame, IngestParams(text_column="text"))
    recipe = parse_recipe("small", SMALL_RECIPE)
    artifacts = steps.run_recipe(data.dataset("sample"), recipe)
    return {"root": root, "data": data, "recipe": recipe, "ids": {k: a.id for k, a in artifacts.items()}}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, one per test module, the frontend built."""
    from tests.browser import chromium, ensure_frontend_built

    ensure_frontend_built()
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh page of the module's browser (light colour scheme, 1400 x 900); a JavaScript error fails the test."""
    from tests.browser import watched_context

    with watched_context(browser, color_scheme="light") as pg:
        yield pg
