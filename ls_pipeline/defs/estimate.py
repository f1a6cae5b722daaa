"""The launchpad's `ls-run --estimate`: what a recipe's paid steps would send and cost on a dataset, run as a job
that sends nothing (its output's metadata holds the figures)."""

# No `from __future__ import annotations`: Dagster reads config and resource types from live annotations.

import dagster as dg
from pydantic import Field

from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.errors import UserError
from ls_pipeline.recipe import load_recipe
from ls_pipeline.steps.estimate import estimate
from ls_pipeline.steps.ingest import read_texts


class EstimateConfig(dg.Config):
    dataset: str = Field(description="an ingested dataset")
    recipe: str = Field("default", description="the recipe whose paid steps to estimate")


@dg.op
def estimate_cost(context: dg.OpExecutionContext, config: EstimateConfig, data_dir: DataDirResource) -> dg.Output:
    """Count the tokens offline and price them; nothing is sent to a provider."""
    data = data_dir.data()
    try:
        texts = read_texts(data.dataset(config.dataset))
        recipe = load_recipe(config.recipe, data)
        paid = estimate(data, texts, recipe.embed, recipe.cluster, recipe.label)
    except UserError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    for step in paid:
        context.log.info(step.line())
    metadata: dict[str, object] = {"rows": len(texts), "paid_steps": len(paid)}
    for step in paid:
        metadata |= {
            f"{step.stage}_model": step.model,
            f"{step.stage}_requests": step.requests,
            f"{step.stage}_input_tokens": step.input_tokens,
            f"{step.stage}_output_tokens": step.output_tokens,
            f"{step.stage}_estimated_cost_usd": step.cost_usd if step.cost_usd is not None else "no price",
        }
    total = sum(step.cost_usd or 0.0 for step in paid)
    return dg.Output([step.line() for step in paid], metadata={**metadata, "estimated_cost_usd": round(total, 6)})


@dg.job(description="What a recipe's paid steps would send and cost on a dataset (tokens counted offline)")
def estimate_job() -> None:
    estimate_cost()
