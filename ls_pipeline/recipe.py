"""Recipes: named YAML files that choose every stage's parameters (embed, umap, cluster, label, checks)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from ls_pipeline.errors import NotFound, UserError
from ls_pipeline.params import from_mapping
from ls_pipeline.stages.cluster import ClusterChecks, ClusterParams
from ls_pipeline.stages.embed import EmbedParams
from ls_pipeline.stages.label import LabelParams
from ls_pipeline.stages.umap import UmapParams
from ls_pipeline.store import atomic
from ls_pipeline.store.datadir import DataDir, check_name

DEFAULT = "default"


@dataclass(frozen=True)
class Recipe:
    name: str = DEFAULT
    description: str = ""
    embed: EmbedParams = field(default_factory=EmbedParams)
    umap: UmapParams = field(default_factory=UmapParams)
    cluster: ClusterParams = field(default_factory=ClusterParams)
    label: LabelParams = field(default_factory=LabelParams)
    checks: ClusterChecks = field(default_factory=ClusterChecks)


SECTIONS = {
    "embed": EmbedParams,
    "umap": UmapParams,
    "cluster": ClusterParams,
    "label": LabelParams,
    "checks": ClusterChecks,
}


def load_recipe(name_or_path: str = DEFAULT, data: DataDir | None = None) -> Recipe:
    """A recipe by file path, by name in the data directory's _recipes/, or by name among the shipped ones."""
    if not isinstance(name_or_path, str) or not name_or_path:
        raise UserError(f"a recipe is a name or a YAML file path, got {name_or_path!r}")
    path = Path(name_or_path).expanduser()
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise NotFound(f"no such recipe file: {name_or_path}")
        return parse_recipe(path.stem, read_recipe_text(path))
    check_name(name_or_path, "recipe name")
    if data is not None and data.recipe_path(name_or_path).is_file():
        return parse_recipe(name_or_path, read_recipe_text(data.recipe_path(name_or_path)))
    shipped = resources.files("ls_pipeline.recipes").joinpath(f"{name_or_path}.yaml")
    if shipped.is_file():
        return parse_recipe(name_or_path, shipped.read_text(encoding="utf-8"))
    raise NotFound(f"unknown recipe {name_or_path!r}: known are {', '.join(recipe_names(data))}")


def save_recipe(data: DataDir, name: str, file: Path, replace: bool = False) -> Path:
    """Validate a recipe file and store it as _recipes/NAME.yaml; an existing name is kept unless `replace`."""
    check_name(name, "recipe name")
    if not file.is_file():
        raise NotFound(f"no such recipe file: {file}")
    text = read_recipe_text(file)
    parse_recipe(name, text)
    target = data.recipe_path(name)
    if target.exists() and not replace:
        raise UserError(
            f"recipe {name!r} is already registered ({data.recipes.name}/{target.name}); pass --replace to overwrite it"
        )
    atomic.write_bytes(target, text.encode("utf-8"))
    return target


def recipe_values(recipe: Recipe) -> dict[str, dict[str, object]]:
    """Every section's parameters, as a recipe file would hold them."""
    return {key: dataclasses.asdict(getattr(recipe, key)) for key in SECTIONS}


def with_values(base: Recipe, name: str, given: Mapping[str, Mapping[str, object]], description: str = "") -> Recipe:
    """`base` with the `given` parameters (section -> key -> value) put over it, checked as a recipe file is."""
    check_name(name, "recipe name")
    values = recipe_values(base)
    unknown = sorted(set(given) - set(SECTIONS))
    if unknown:
        raise UserError(f"recipe {name!r} has unknown sections: {', '.join(unknown)}; allowed: {', '.join(SECTIONS)}")
    sections = {
        key: from_mapping(cls, {**values[key], **given.get(key, {})}, f"recipe {name!r} section {key!r}")
        for key, cls in SECTIONS.items()
    }
    return Recipe(name=name, description=description or base.description, **sections)


def differences(recipe: Recipe, given: Mapping[str, Mapping[str, object]]) -> list[str]:
    """The given parameters that are not the recipe's, as 'section.key: recipe's value, not given value'."""
    values = recipe_values(recipe)
    return [
        f"{key}.{name}: {values[key].get(name)!r}, not {value!r}"
        for key, section in given.items()
        for name, value in section.items()
        if values.get(key, {}).get(name) != value
    ]


def write_recipe(data: DataDir, recipe: Recipe) -> Path:
    """Store a recipe made from values (not from a file) as _recipes/NAME.yaml; a name is never overwritten."""
    target = data.recipe_path(check_name(recipe.name, "recipe name"))
    if target.exists():
        raise UserError(f"recipe {recipe.name!r} is already registered ({data.recipes.name}/{target.name})")
    text = yaml.safe_dump({"description": recipe.description, **recipe_values(recipe)}, sort_keys=False)
    atomic.write_bytes(target, text.encode("utf-8"))
    return target


def read_recipe_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"recipe file {path.name} is not UTF-8 text (offset {exc.start}); save it as UTF-8") from exc
    except OSError as exc:
        raise UserError(f"cannot read recipe file {path.name}: {exc.strerror or type(exc).__name__}") from exc


def recipe_names(data: DataDir | None = None) -> list[str]:
    names = {p.name[:-5] for p in resources.files("ls_pipeline.recipes").iterdir() if p.name.endswith(".yaml")}
    if data is not None:
        names |= set(data.recipe_names())
    return sorted(names)


def parse_recipe(name: str, text: str) -> Recipe:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"recipe {name!r} is not valid YAML: {_yaml_problem(exc)}") from exc
    if not isinstance(raw, dict):
        raise UserError(f"recipe {name!r} must be a mapping of sections ({', '.join(SECTIONS)})")
    unknown = sorted(set(raw) - set(SECTIONS) - {"description", "name"})
    if unknown:
        raise UserError(f"recipe {name!r} has unknown sections: {', '.join(unknown)}; allowed: {', '.join(SECTIONS)}")
    sections = {
        key: from_mapping(cls, raw.get(key) or {}, f"recipe {name!r} section {key!r}") for key, cls in SECTIONS.items()
    }
    return Recipe(name=name, description=str(raw.get("description", "")), **sections)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem
