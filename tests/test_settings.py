"""The one settings declaration (ls_pipeline/settings.py): values read and checked as declared, deprecated names
still honoured with a notice, every variable our code and scripts read declared there, and os.environ read only
there and written nowhere outside the tests."""

from __future__ import annotations

import ast
import logging
import os
import re
from pathlib import Path

import pytest

from ls_pipeline import settings
from ls_pipeline.errors import UserError
from ls_pipeline.jit_cache import numba_cache_dir
from ls_pipeline.store.machine_cache import model_cache_dir

ROOT = Path(__file__).resolve().parents[1]
CODE = [p for folder in ("ls_pipeline", "viewer") for p in (ROOT / folder).rglob("*.py") if "frontend" not in p.parts]
OUR_NAME = re.compile(r"\b(?:LS|LATENT_SCOPE)_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


def test_unset_or_blank_gives_the_default_and_a_value_is_read_as_declared() -> None:
    assert settings.get("LS_CELERY_NODE_TIMEOUT_SEC", {}) == 30.0
    assert settings.get("LS_CELERY_NODE_TIMEOUT_SEC", {"LS_CELERY_NODE_TIMEOUT_SEC": "  "}) == 30.0
    assert settings.get("LS_CELERY_NODE_TIMEOUT_SEC", {"LS_CELERY_NODE_TIMEOUT_SEC": "2.5"}) == 2.5
    assert settings.get("LS_DASK_CHUNK_ROWS", {"LS_DASK_CHUNK_ROWS": "64"}) == 64
    assert settings.get("HF_HUB_OFFLINE", {"HF_HUB_OFFLINE": "True"}) is True
    assert settings.get("LS_EXECUTOR", {"LS_EXECUTOR": " Celery "}) == "celery"
    assert settings.get("LS_CACHE", {"LS_CACHE": "~/x"}) == Path.home() / "x"
    assert settings.get("LATENT_SCOPE_JOB_TIMEOUT_SEC", {}) is None


@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("LS_CELERY_NODE_TIMEOUT_SEC", "1.9", r"^LS_CELERY_NODE_TIMEOUT_SEC='1.9' is not a number of seconds from 2 "),
        ("LS_CELERY_NODE_TIMEOUT_SEC", "nan", "is not a number of seconds from 2 to 3600$"),
        ("LATENT_SCOPE_LEASE_SEC", "soon", r"^LATENT_SCOPE_LEASE_SEC='soon' is not a number of seconds from 1 to"),
        ("LS_DASK_CHUNK_ROWS", "0", r"^LS_DASK_CHUNK_ROWS='0' is not an integer of at least 1$"),
        ("LATENT_SCOPE_MAX_K", "2.5", "is not an integer of at least 1"),
        ("LS_EXECUTOR", "dask", r"^LS_EXECUTOR must be one of in_process, celery, got 'dask'$"),
        ("HF_HUB_OFFLINE", "maybe", r"^HF_HUB_OFFLINE='maybe' is not 1 or 0"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_what_it_takes(name: str, raw: str, says: str) -> None:
    with pytest.raises(UserError, match=says):
        settings.get(name, {name: raw})


def test_a_deprecated_name_still_works_with_one_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(settings, "_noticed", set())
    monkeypatch.setenv("LS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LS_MODEL_CACHE", raising=False)
    monkeypatch.delenv("LS_NUMBA_CACHE", raising=False)
    assert model_cache_dir() == tmp_path / "cache" / "models" and numba_cache_dir() == tmp_path / "cache" / "numba"
    monkeypatch.setenv("LS_MODEL_CACHE", str(tmp_path / "old"))
    with caplog.at_level(logging.WARNING, logger="ls_pipeline.settings"):
        assert model_cache_dir() == tmp_path / "old" and model_cache_dir() == tmp_path / "old"
    notices = [r.getMessage() for r in caplog.records]
    assert len(notices) == 1 and notices[0].startswith("LS_MODEL_CACHE is deprecated: set LS_CACHE instead")


def test_a_child_environment_leaves_this_one_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LS_PORT", "5001")
    child = settings.child_environment(LS_PORT="6001")
    assert child["LS_PORT"] == "6001" and os.environ["LS_PORT"] == "5001"


def _strings(path: Path) -> list[str]:
    """The string constants of a module (f-strings' literal parts included): where a variable's name is written."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_every_variable_our_code_and_scripts_read_is_declared() -> None:
    named = {name for path in CODE for text in _strings(path) for name in OUR_NAME.findall(text)}
    scripts = [*(ROOT / "scripts").glob("*.sh"), *(ROOT / "ls_pipeline" / "runs").glob("*.yaml")]
    named |= {name for path in scripts for name in OUR_NAME.findall(path.read_text(encoding="utf-8"))}
    named -= {"LATENT_SCOPE_PUBLIC"}  # a prefix in a message, not a variable
    assert sorted(named - set(settings.DECLARED)) == []
    assert len(settings.DECLARED) == len(settings.SETTINGS), "a variable is declared twice"
    for setting in settings.SETTINGS:
        assert setting.help and setting.group, setting.name
        assert not setting.replaced_by or setting.replaced_by in settings.DECLARED


def _environ_uses(tree: ast.AST) -> tuple[list[int], list[int]]:
    """(lines that read os.environ or os.getenv, lines that write the environment) of one module."""
    reads, writes = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            reads.append(node.lineno)
        if isinstance(node, ast.Attribute) and node.attr in ("putenv", "unsetenv"):
            writes.append(node.lineno)
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            if isinstance(target, ast.Subscript) and "environ" in ast.unparse(target.value):
                writes.append(node.lineno)
        if isinstance(node, ast.Delete) and any("environ" in ast.unparse(t) for t in node.targets):
            writes.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("update", "setdefault", "pop", "clear", "popitem"):
                if "environ" in ast.unparse(node.func.value):
                    writes.append(node.lineno)
    return reads, writes


# Where a process-start assignment of the environment must remain, and why (empty: none does).
ALLOWED_WRITES: dict[str, str] = {}


def test_nothing_outside_the_tests_writes_the_environment_and_only_settings_reads_it() -> None:
    writes, reads = {}, {}
    for path in CODE:
        found_reads, found_writes = _environ_uses(ast.parse(path.read_text(encoding="utf-8")))
        name = str(path.relative_to(ROOT))
        if found_writes and name not in ALLOWED_WRITES:
            writes[name] = found_writes
        if found_reads and name != "ls_pipeline/settings.py":
            reads[name] = found_reads
    assert writes == {} and reads == {}


def test_the_scan_sees_a_write_and_a_read() -> None:
    reads, writes = _environ_uses(ast.parse("import os\nos.environ['A'] = '1'\nos.environ.setdefault('B', '2')\n"))
    assert writes == [2, 3] and reads
    assert _environ_uses(ast.parse("import os\nx = os.getenv('A')\n")) == ([2], [])
