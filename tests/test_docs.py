"""The documentation: the generated CLI and configuration references match the declarations, and the README stays a
front page.
(scripts/test.sh builds the site itself with `mkdocs build --strict`, which fails on a broken link.)"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Literal

import pytest

from ls_pipeline import docs_gen, settings
from ls_pipeline.cli import PARSERS
from ls_pipeline.params import integer, param

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_the_committed_cli_reference_is_up_to_date() -> None:
    committed = docs_gen.CLI_PAGE.read_text(encoding="utf-8")
    assert committed == docs_gen.render_cli_reference(), "stale: run python -m ls_pipeline.docs_gen"


def test_the_committed_configuration_reference_is_up_to_date() -> None:
    committed = docs_gen.CONFIG_PAGE.read_text(encoding="utf-8")
    assert committed == docs_gen.render_config_reference(), "stale: run python -m ls_pipeline.docs_gen"


def test_a_setting_row_is_read_from_its_declaration() -> None:
    declared = [
        settings.Setting("LS_DEMO_X", "seconds", 2.5, "how long | at most", "Demo", low=0, high=60),
        settings.Setting("LS_DEMO_OLD", "path", None, "the old folder", "Demo", replaced_by="LS_DEMO_X"),
    ]
    rows = docs_gen.render_config_reference(declared).split("## Demo\n", 1)[1].splitlines()
    assert rows[3] == "| `LS_DEMO_X` | seconds | `2.5` | from 0 to 60 | how long \\| at most |"
    assert rows[4] == "| `LS_DEMO_OLD` | path | unset |  | the old folder (deprecated: set `LS_DEMO_X` instead) |"


def test_every_installed_command_has_a_section() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert set(PARSERS) == set(scripts)
    page = docs_gen.render_cli_reference()
    assert all(f"\n## {name}\n" in page for name in scripts)


@dataclasses.dataclass(frozen=True)
class _DemoParams:
    size: int = param(7, "how many | at once", integer(1, 9), alias="n")
    mode: Literal["fast", "slow"] = param("fast", "which way")


def test_a_recipe_section_is_read_from_the_params_declaration() -> None:
    rows = docs_gen.recipe_section("demo", _DemoParams).splitlines()
    assert rows[0] == "### demo"
    size = next(row for row in rows if row.startswith("| `size`"))
    # the alias, the type, the default as YAML writes it, the range and the help (its | escaped for the table)
    assert size == "| `size` (n) | `int` | `7` | an integer from 1 to 9 | how many \\| at once |"
    mode = next(row for row in rows if row.startswith("| `mode`"))
    assert "`fast` \\| `slow`" in mode and '`"fast"`' in mode and "which way" in mode


def test_check_mode_says_when_a_page_is_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli, config = tmp_path / "cli.md", tmp_path / "configuration.md"
    monkeypatch.setattr(docs_gen, "CLI_PAGE", cli)
    monkeypatch.setattr(docs_gen, "CONFIG_PAGE", config)
    assert docs_gen.main([]) == 0 and docs_gen.main(["--check"]) == 0
    cli.write_text(docs_gen.render_cli_reference().replace("ls-umap", "ls-umapp"), encoding="utf-8")
    assert docs_gen.main(["--check"]) == 1
    assert docs_gen.main([]) == 0
    config.write_text(docs_gen.render_config_reference().replace("LS_CACHE", "LS_CASH"), encoding="utf-8")
    assert docs_gen.main(["--check"]) == 1
    assert docs_gen.main([]) == 0 and docs_gen.main(["--check"]) == 0


def test_the_readme_is_a_front_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 10 * 1024
    assert "bash scripts/demo.sh" in text and "bash scripts/test.sh" in text  # .ci/run runs the README's test command
    # nothing outside the repository, nothing dated, no issue numbers
    assert "../" not in text and not re.search(r"(?<![\w.~])/(?:work|home|root|tmp)/", text)  # no absolute path
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b|\b(issue|#)\s?\d+", text, re.IGNORECASE)
    targets = [t for t in re.findall(r"\]\(([^)#\s]+)", text) if "://" not in t]
    assert targets, "the README links into docs/"
    assert [t for t in targets if not (ROOT / t).exists()] == []
