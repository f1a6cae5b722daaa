"""Costs before a paid step: `ls-run --estimate` and the estimate_job say what would be sent and what it costs,
from tokens counted offline, and send nothing."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ls_pipeline import cli
from ls_pipeline.defs.estimate import estimate_job
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.steps.estimate import count_tokens
from tests.helpers import run_cli

PAID = "description: paid\nembed: {model_id: openai-text-embedding-3-small}\nlabel: {labeler: openai-gpt-4o-mini}\n"


@pytest.fixture
def paid(data_dir: Path, sample_frame: pd.DataFrame) -> Path:
    (data_dir / "_recipes").mkdir()
    (data_dir / "_recipes" / "paid.yaml").write_text(PAID)
    source = data_dir.parent / "posts.csv"
    sample_frame.head(150).to_csv(source, index=False)
    return source


def test_estimate_says_what_each_paid_step_sends_and_costs(
    paid: Path, data_dir: Path, sample_frame: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(cli.ls_run, [str(paid), "--recipe", "paid", "--estimate"], capsys)
    assert code == 0, err
    embedding, labels = out.splitlines()
    tokens = sum(count_tokens(sample_frame.head(150)["text"].fillna("").astype(str).tolist()))
    # Offline counts of English text: about a token per 4 to 6 characters, never zero.
    assert 150 < tokens and len("".join(sample_frame.head(150)["text"])) / 7 < tokens
    cost = tokens * 0.02 / 1e6
    model = "openai-text-embedding-3-small"
    assert embedding == f"embedding: {model}, 1 requests, {tokens:,} input tokens: about ${cost:.4f}"
    assert labels.startswith("labels: openai-gpt-4o-mini, ") and "up to" in labels and "about $" in labels
    # Nothing was ingested, embedded or written: the estimate only reads.
    assert sorted(p.name for p in data_dir.iterdir()) == ["_recipes"]
    # A team's own prices win; a model without one says so rather than guessing.
    (data_dir / "_prices.yaml").write_text("openai-text-embedding-3-small: {input: 1000}\n")
    out = run_cli(cli.ls_run, [str(paid), "--recipe", "paid", "--estimate"], capsys)[1]
    assert f"about ${tokens * 1000 / 1e6:.4f}" in out.splitlines()[0]
    offline = run_cli(cli.ls_run, [str(paid), "--estimate"], capsys)[1]
    assert offline.strip() == "recipe 'default' runs offline: nothing is sent or paid"


def test_the_launchpad_estimate_job_reports_the_same_figures(paid: Path, data_dir: Path) -> None:
    from ls_pipeline import api

    api.ingest("posts", paid)
    resources = {"data_dir": DataDirResource(path=str(data_dir))}
    config = {"ops": {"estimate_cost": {"config": {"dataset": "posts", "recipe": "paid"}}}}
    result = estimate_job.execute_in_process(run_config=config, resources=resources)
    assert result.success
    [event] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    metadata = {k: v.value for k, v in event.step_output_data.metadata.items()}
    assert metadata["rows"] == 150 and metadata["paid_steps"] == 2
    assert metadata["embedding_model"] == "openai-text-embedding-3-small" and metadata["embedding_requests"] == 1
    assert metadata["estimated_cost_usd"] > 0
