"""A stage's parameters, declared once: each field of its frozen params dataclass carries its help text, its check
and (where Latent Scope names it otherwise) its Latent Scope name. CLI arguments, API keywords and recipe keys are
read from these fields; nothing else declares a parameter's name, default, type, help or range.

    neighbors: int = param(25, "UMAP's n_neighbors: larger keeps more global structure", integer(2))
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ls_pipeline.errors import UserError

_HELP, _CHECK, _ALIAS = "help", "check", "alias"


@dataclass(frozen=True)
class Check:
    """A value's rule: `ok` decides, `says` completes "NAME must be ..., got VALUE" (or `message`, whole, where
    that sentence reads badly; formatted with {name} and {value})."""

    ok: Callable[[Any], bool]
    says: str = ""
    message: str = ""

    def problem(self, name: str, value: Any) -> str | None:
        if self.ok(value):
            return None
        if self.message:
            return self.message.format(name=name, value=value, shown=f"{type(value).__name__} {value!r}"[:80])
        return f"{name} must be {self.says}, got {value!r}"


def param(default: Any, help: str, check: Check | None = None, alias: str | None = None) -> Any:
    """A params field; `alias` is Latent Scope's name for it (ls-cluster's `samples` is min_cluster_size)."""
    return dataclasses.field(default=default, metadata={_HELP: help, _CHECK: check, _ALIAS: alias})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(low: int | None = None, high: int | None = None, says: str = "") -> Check:
    if not says:
        says = (
            f"an integer from {low} to {high}"
            if high is not None
            else {0: "a non-negative integer", 1: "a positive integer"}.get(low or 0, f"an integer of at least {low}")
        )
    # bool passes as int here, as it always has for the API; typed config (from_mapping) refuses it before
    return Check(lambda v: isinstance(v, int) and (low is None or v >= low) and (high is None or v <= high), says)


def number(low: float, high: float | None = None, says: str = "") -> Check:
    says = says or (f"a number from {low} to {high}" if high is not None else f">= {low}")
    return Check(
        lambda v: isinstance(v, int | float) and low <= v and (high is None or v <= high),
        says,
    )


def choice(*options: str, message: str = "") -> Check:
    return Check(lambda v: v in options, " or ".join(options), message)


def text(nonempty: bool = False, optional: bool = False, message: str = "") -> Check:
    def ok(value: Any) -> bool:
        return (optional and value is None) or (isinstance(value, str) and (bool(value) or not nonempty))

    return Check(ok, "a string", message)


BOOLEAN = Check(lambda v: isinstance(v, bool), "true or false")
# A count that may be left out (null: the library's or the model's own); unlike integer(), refuses a bool
OPTIONAL_POSITIVE = Check(lambda v: v is None or (_is_int(v) and v >= 1), "a positive integer")


# ---- reading the declarations ----------------------------------------------------------------------------------


def validate(params: Any) -> None:
    """Every field's check, in declaration order; the first failure is a UserError. Call from __post_init__."""
    for f in dataclasses.fields(params):
        check: Check | None = f.metadata.get(_CHECK)
        problem = check.problem(display_name(f), getattr(params, f.name)) if check else None
        if problem:
            raise UserError(problem)


def display_name(f: dataclasses.Field[Any]) -> str:
    alias = f.metadata.get(_ALIAS)
    return f"{f.name} ({alias})" if alias else f.name


def help_of(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get(_HELP) or "")


def alias_of(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get(_ALIAS) or f.name)


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def field_named(cls: type, name: str) -> dataclasses.Field[Any]:
    """A field by its name or its Latent Scope alias."""
    for f in dataclasses.fields(cls):
        if name in (f.name, f.metadata.get(_ALIAS)):
            return f
    raise KeyError(name)


def from_mapping(cls: type, values: Any, where: str) -> Any:
    """Params from typed configuration (a recipe section): unknown keys and wrong types are errors, not ignored.
    Such values arrive already typed (YAML), so '5' for an int is a mistake, not a number to parse."""
    if not isinstance(values, Mapping):
        raise UserError(f"{where} must be a mapping, got {type(values).__name__}")
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(fields), key=str)
    if unknown:
        raise UserError(f"{where} has unknown keys: {', '.join(map(str, unknown))}; allowed: {', '.join(fields)}")
    for key, value in values.items():
        if not matches(value, hints(cls)[key]):
            raise UserError(f"{where}: {key} must be {type_name(hints(cls)[key])}, got {value!r}")
    try:
        return cls(**values)
    except UserError as exc:  # a range check in the params class: say where it came from
        raise UserError(f"{where}: {exc}") from exc


def matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return _is_int(value)
    return isinstance(value, hint)


def type_name(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(hint)))
    return str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")


def scalar_type(hint: Any) -> type:
    """The type a command-line string converts to: int, float, bool or str (Optional and Literal unwrapped)."""
    if typing.get_origin(hint) is typing.Literal:
        return type(typing.get_args(hint)[0])
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return scalar_type(args[0]) if args else hint if hint in (int, float, bool) else str


def choices(hint: Any) -> tuple[Any, ...] | None:
    return typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else None


# ---- the Python API's keywords -----------------------------------------------------------------------------------


def build(cls: type, given: Mapping[str, Any]) -> Any:
    """Params from values named like the fields or their Latent Scope aliases. None, for a field that does not take
    None, means "the default" (Latent Scope's positional forms pass it for an argument left out)."""
    values = {}
    for key, value in given.items():
        f = field_named(cls, key)
        if value is None and not matches(None, hints(cls)[f.name]):
            continue
        values[f.name] = value
    return cls(**values)


def api_signature(func: Callable[..., Any], cls: type, order: tuple[str, ...]) -> inspect.Signature:
    """`func(own..., params)` seen as `func(own and param names in `order`, *, the other fields)`: every field
    becomes a keyword with its default and type; a field before a required own argument is required too."""
    own = {p.name: p for p in list(inspect.signature(func).parameters.values())[:-1]}
    fields = {alias_of(f): f for f in dataclasses.fields(cls)}
    last_required = max((i for i, n in enumerate(order) if n in own and own[n].default is own[n].empty), default=-1)
    listed = []
    for i, name in enumerate(order):
        if name in own:
            listed.append(own[name].replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD))
            continue
        default = inspect.Parameter.empty if i < last_required else fields[name].default
        listed.append(_parameter(name, fields[name], cls, inspect.Parameter.POSITIONAL_OR_KEYWORD, default))
    rest = [
        _parameter(n, f, cls, inspect.Parameter.KEYWORD_ONLY, f.default) for n, f in fields.items() if n not in order
    ]
    return inspect.Signature([*listed, *rest], return_annotation=inspect.signature(func).return_annotation)


def _parameter(name: str, f: dataclasses.Field[Any], cls: type, kind: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, kind, default=default, annotation=hints(cls)[f.name])


def takes(cls: type, *order: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate `func(own..., params: cls)` so callers pass the params as keywords (or by position, in `order`,
    Latent Scope's argument order) instead of building `cls` themselves."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        signature = api_signature(func, cls, order)
        own = list(inspect.signature(func).parameters)[:-1]

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = bound.arguments
            given = {k: v for k, v in arguments.items() if k not in own}
            return func(*(arguments.get(name) for name in own), build(cls, given))

        call.__signature__ = signature  # type: ignore[attr-defined]
        return call

    return wrap


# ---- command-line arguments ---------------------------------------------------------------------------------------


# The ids a stage's command takes before its parameters (Latent Scope's order), as its --help describes them
ID_HELP = {
    "dataset_id": "the dataset's name (a folder of the data directory)",
    "embedding_id": "the embedding to use, e.g. embedding-001",
    "umap_id": "the layout to cluster, e.g. umap-001",
    "cluster_id": "the clustering to label, e.g. cluster-001",
}


def add_arguments(
    parser: argparse.ArgumentParser, cls: type, order: tuple[str, ...], required: tuple[str, ...]
) -> None:
    """`order` is Latent Scope's positional order: ids (plain arguments) and fields by their Latent Scope names,
    optional unless `required`; every other field becomes a --flag. An argument left out is None here and the
    field's default in the dataclass, so no default is repeated."""
    parser.set_defaults(params_class=cls)
    names = [alias_of(f) for f in dataclasses.fields(cls)]
    for name in order:
        if name not in names:
            parser.add_argument(name, help=ID_HELP.get(name))
        else:
            parser.add_argument(name, nargs=None if name in required else "?", **_argument_options(cls, name))
    for name in names:
        if name not in order:
            parser.add_argument(f"--{name}", **_argument_options(cls, name))


def _argument_options(cls: type, name: str) -> dict[str, Any]:
    f = field_named(cls, name)
    hint, text = hints(cls)[f.name], help_of(f)
    options: dict[str, Any] = {"default": None, "help": text if "default" in text else f"{text} (default: {f.default})"}
    if scalar_type(hint) is bool:  # --name and --no-name, so a default of true can be turned off too
        return {**options, "action": argparse.BooleanOptionalAction}
    return {**options, "type": scalar_type(hint), "choices": choices(hint)}


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The parameters given on a command line made by add_arguments, by the names the Python API takes."""
    names = [alias_of(f) for f in dataclasses.fields(args.params_class)]
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}
