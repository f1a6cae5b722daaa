"""What a paid model call costs: the shipped price table (prices.json, US dollars per million tokens by model id),
overridden per model by the data directory's _prices.yaml. A model with no price gives no cost, never a guess."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ls_pipeline.errors import UserError
from ls_pipeline.store.datadir import DataDir
from ls_pipeline.yaml_file import read_mapping

SHIPPED = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class Price:
    input: float  # per million input (prompt) tokens
    output: float = 0.0  # per million output (completion) tokens

    def cost(self, input_tokens: int, output_tokens: int = 0) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


def price_table(data: DataDir | None = None) -> dict[str, Price]:
    raw = {k: v for k, v in json.loads(SHIPPED.read_text()).items() if not k.startswith("_")}
    if data is not None and data.prices_file.is_file():
        raw |= read_mapping(data.prices_file, "model ids to {input: USD per million tokens, output: ...}")
    return {model: _price(model, entry, SHIPPED) for model, entry in raw.items()}


def _price(model: str, entry: object, file: Path) -> Price:
    fields = entry if isinstance(entry, dict) else {}
    try:
        if not fields or set(fields) - {"input", "output"}:
            raise ValueError
        price = Price(float(fields.get("input", 0)), float(fields.get("output", 0)))
    except (TypeError, ValueError):
        raise UserError(f"price of {model!r}: give {{input: N, output: N}} in US dollars per million tokens") from None
    if price.input < 0 or price.output < 0:
        raise UserError(f"price of {model!r} is negative; give US dollars per million tokens")
    return price


def estimated_cost(table: dict[str, Price], model: str, input_tokens: int, output_tokens: int = 0) -> float | None:
    price = table.get(model)
    return None if price is None else round(price.cost(input_tokens, output_tokens), 6)
