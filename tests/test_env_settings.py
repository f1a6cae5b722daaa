"""Seconds read from the environment: the default when unset, the value when in range, one clear error otherwise."""

from __future__ import annotations

import pytest

from ls_pipeline.env_settings import seconds_setting
from ls_pipeline.errors import UserError


def test_unset_or_blank_gives_the_default() -> None:
    assert seconds_setting("LS_T", 30.0, 2, 3600, {}) == 30.0
    assert seconds_setting("LS_T", 30.0, 2, 3600, {"LS_T": "  "}) == 30.0


def test_a_value_in_range_is_taken() -> None:
    assert seconds_setting("LS_T", 30.0, 2, 3600, {"LS_T": "2.5"}) == 2.5
    assert seconds_setting("LS_T", 30.0, 2, 3600, {"LS_T": "3600"}) == 3600.0


@pytest.mark.parametrize("raw", ["1.9", "3601", "soon", "-5", "nan"])
def test_a_bad_value_names_the_variable_and_the_range(raw: str) -> None:
    with pytest.raises(UserError, match=rf"^LS_T='{raw}' is not a number of seconds from 2 to 3600$"):
        seconds_setting("LS_T", 30.0, 2, 3600, {"LS_T": raw})
