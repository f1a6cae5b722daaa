"""Bad-input matrix for recipes and Dagster config: through `ls-recipe add`, `ls-run` (direct and through
Dagster) and the Dagster runner. Each case: one line naming the problem, exit 2 / UserError, no traceback, no
data-directory path in the message, the data directory byte-for-byte unchanged.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ls_pipeline import cli
from ls_pipeline.errors import UserError
from tests.helpers import run_cli, tree_digest

BAD_RECIPES: dict[str, tuple[bytes, str]] = {
    "bad yaml": (b"umap: [\n", "is not valid YAML: expected the node content"),
    "tab indent yaml": (b"umap:\n\tneighbors: 5\n", "is not valid YAML"),
    "not utf-8": ("description: caf\xe9\n".encode("latin-1"), "is not UTF-8 text (offset 16); save it as UTF-8"),
    "a list": (b"- umap\n- cluster\n", "must be a mapping of sections"),
    "a scalar": (b"42\n", "must be a mapping of sections"),
    "unknown section": (b"umpa: {neighbors: 5}\n", "unknown sections: umpa"),
    "unknown key": (b"umap: {neighbours: 5}\n", "section 'umap' has unknown keys: neighbours"),
    "section not a mapping": (b"cluster: 15\n", "section 'cluster' must be a mapping, got int"),
    "int as string": (b"umap: {neighbors: '5'}\n", "neighbors must be int, got '5'"),
    "bool as int": (b"umap: {neighbors: true}\n", "neighbors must be int, got True"),
    "float as int": (b"cluster: {min_cluster_size: 7.5}\n", "min_cluster_size must be int, got 7.5"),
    "unknown method": (b"cluster: {method: kmeans}\n", "method must be one of 'hdbscan', 'fast_hdbscan'"),
    "zero batch size": (b"embed: {batch_size: 0}\n", "section 'embed': batch_size must be a positive integer"),
    "min_dist out of range": (b"umap: {min_dist: 3}\n", "section 'umap': min_dist must be a number from 0 to 1"),
    "checks wrong type": (b"checks: {max_noise_share: lots}\n", "max_noise_share must be float, got 'lots'"),
    "null section key": (b"embed: {null: 1}\n", "section 'embed' has unknown keys: None"),
}
BAD_NAMES = {
    "parent path": "../evil",
    "slash": "a/b",
    "nul": "a\x00b",
    "trailing newline": "ok\n",
    "fullwidth solidus": "a\uff0fb",
    "rtl override": "x\u202elmay",
    "combining dots": "r\u0307\u0307",
    "hidden": ".hidden",
    "dotdot": "..",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> Path:
    from ls_pipeline import steps
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    base = tmp_path_factory.mktemp("recipes")
    steps.ingest(DataDir(base / "data"), "few", sample_frame.head(30), IngestParams(text_column="text"))
    files = base / "files"
    files.mkdir()
    for case, (content, _) in BAD_RECIPES.items():
        (files / f"{case.replace(' ', '_')}.yaml").write_bytes(content)
    (files / "good.yaml").write_text("umap: {neighbors: 5}\n")
    return base


@pytest.fixture
def files(template: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh copy of the data directory, with DAGSTER_HOME outside it (so the instance is not in the digest)."""
    shutil.copytree(template / "data", data_dir, dirs_exist_ok=True)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    yield template / "files"


def _check(code: int, out: str, err: str, expected: str, root: Path) -> None:
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in err and str(root) not in err


def _file(case: str) -> str:
    return f"{case.replace(' ', '_')}.yaml"


@pytest.mark.parametrize("case", list(BAD_RECIPES))
def test_recipe_add_refuses(files: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    before = tree_digest(data_dir)
    code, out, err = run_cli(cli.ls_recipe, ["add", "mine", str(files / _file(case))], capsys)
    _check(code, out, err, BAD_RECIPES[case][1], data_dir)
    assert tree_digest(data_dir) == before and not (data_dir / "_recipes").exists()


@pytest.mark.parametrize("how", ["--no-dagster", "dagster"])
@pytest.mark.parametrize("case", ["bad yaml", "not utf-8", "unknown key", "bool as int", "zero batch size"])
def test_run_refuses_a_bad_recipe_file(
    files: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], case: str, how: str
) -> None:
    before = tree_digest(data_dir)
    args = ["few", "--recipe", str(files / _file(case)), *(["--no-dagster"] if how == "--no-dagster" else [])]
    _check(*run_cli(cli.ls_run, args, capsys), BAD_RECIPES[case][1], data_dir)
    assert tree_digest(data_dir) == before


@pytest.mark.parametrize("name", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_recipe_names_with_path_tricks(
    files: Path, data_dir: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    before = tree_digest(data_dir)
    _check(*run_cli(cli.ls_recipe, ["add", name, str(files / "good.yaml")], capsys), "invalid recipe name", data_dir)
    for extra in (["--no-dagster"], []):
        _check(*run_cli(cli.ls_run, ["few", "--recipe", name, *extra], capsys), "invalid recipe name", data_dir)
    assert tree_digest(data_dir) == before


def test_a_registered_recipe_is_not_overwritten_and_the_message_hides_the_path(
    files: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(cli.ls_recipe, ["add", "mine", str(files / "good.yaml")], capsys)[0] == 0
    before = tree_digest(data_dir)
    result = run_cli(cli.ls_recipe, ["add", "mine", str(files / _file("unknown key"))], capsys)
    _check(*result, "unknown keys: neighbours", data_dir)
    result = run_cli(cli.ls_recipe, ["add", "mine", str(files / "good.yaml")], capsys)
    _check(*result, "recipe 'mine' is already registered (_recipes/mine.yaml); pass --replace", data_dir)
    assert tree_digest(data_dir) == before


def test_a_registered_recipe_broken_later_fails_the_dagster_run_in_one_line(
    files: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(cli.ls_recipe, ["add", "mine", str(files / "good.yaml")], capsys)[0] == 0
    (data_dir / "_recipes" / "mine.yaml").write_text("umap: {neighbors: many}\n")
    before = tree_digest(data_dir)
    for extra in (["--no-dagster"], []):
        _check(*run_cli(cli.ls_run, ["few", "--recipe", "mine", *extra], capsys), "neighbors must be int", data_dir)
    assert tree_digest(data_dir) == before


BAD_CONFIG = {
    "path not a string": ({"path": 5}, "Invalid scalar at path root:ops:ingest:config:path"),
    "unknown config key": ({"path": "x.csv", "colour": 1}, 'unexpected config entry "colour"'),
    "path to a folder": ({"path": "/etc"}, "no such file: /etc"),
    "path escaping": ({"path": "../../../no/such.csv"}, "no such file: ../../../no/such.csv"),
    "unknown text column": ({"path": "{files}/good.yaml", "text_column": "x"}, "unsupported file type '.yaml'"),
}


@pytest.mark.parametrize("case", list(BAD_CONFIG))
def test_dagster_runner_refuses_bad_run_config(files: Path, data_dir: Path, case: str) -> None:
    from ls_pipeline.definitions import defs
    from ls_pipeline.defs.partitions import add_missing, datasets
    from ls_pipeline.runs.runner import execute, open_instance
    from ls_pipeline.store import DataDir

    config, expected = BAD_CONFIG[case]
    config = {k: v.format(files=files) if isinstance(v, str) else v for k, v in config.items()}
    before = tree_digest(data_dir)
    with open_instance(DataDir(data_dir)) as instance:
        add_missing(instance, datasets, ["few"])
        with pytest.raises(UserError) as caught:
            execute(defs.resolve_job_def("ingest_job"), instance, "few", {"ops": {"ingest": {"config": config}}})
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and expected in message, message
    assert str(data_dir) not in message
    assert tree_digest(data_dir) == before


# The recipe job's launchpad config (resources.recipe.config): refused before the run computes or saves anything.
BAD_LAUNCHPAD = {
    "unknown section": ({"umpa": {"neighbors": 5}}, 'unexpected config entry "umpa" at path root:resources:recipe'),
    "unknown key": ({"umap": {"neighbours": 5}}, 'unexpected config entry "neighbours" at path root:resources:recipe'),
    "int as string": ({"umap": {"neighbors": "5"}}, "Invalid scalar at path root:resources:recipe:config:umap"),
    "float as int": ({"cluster": {"min_cluster_size": 7.5}}, "config:cluster:min_cluster_size"),
    "unknown choice": ({"cluster": {"method": "kmeans"}}, "method not in enum type ClusterParams_method got kmeans"),
    "out of range": ({"umap": {"min_dist": 3.0}}, "section 'umap': min_dist must be a number from 0 to 1, got 3.0"),
    "reused name, other parameters": (
        {"umap": {"neighbors": 9}},
        "recipe 'default' already exists with other parameters (umap.neighbors: 25, not 9); a recipe name is never",
    ),
}


@pytest.mark.parametrize("case", list(BAD_LAUNCHPAD))
def test_recipe_job_refuses_bad_launchpad_config(files: Path, data_dir: Path, case: str) -> None:
    from ls_pipeline.definitions import defs
    from ls_pipeline.defs.partitions import add_missing, dataset_recipe_key, datasets, recipes
    from ls_pipeline.defs.recipe_config import run_config
    from ls_pipeline.runs.runner import execute, open_instance
    from ls_pipeline.store import DataDir

    values, expected = BAD_LAUNCHPAD[case]
    name = "default" if case.startswith("reused") else "fresh"
    before = tree_digest(data_dir)
    with open_instance(DataDir(data_dir)) as instance:
        add_missing(instance, datasets, ["few"])
        add_missing(instance, recipes, [name])
        with pytest.raises(UserError) as caught:
            execute(defs.resolve_job_def("recipe_job"), instance, dataset_recipe_key("few", name), run_config(values))
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and expected in message, message
    assert str(data_dir) not in message
    assert tree_digest(data_dir) == before and not (data_dir / "_recipes").exists()
