"""The facets route against pandas counts of the same rows: every chart type with its nulls, under filters of every
kind (a cluster, a tag, a column condition, a keyword, a selection, a semantic query), each chart free of the filters
on its own column; the scope-wide baseline and lift; POST like GET; bad columns and parameters as one-line 400s."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.typed_columns import add_typed_columns
from tests.viewer_support import TAGS, copy_built, in_process, joined_rows

SCOPE = "/api/datasets/sample/scopes/scopes-001"


@pytest.fixture(scope="module")
def root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("facets") / "data")
    add_typed_columns(root)
    return root


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[httpx.Client]:
    with in_process(root, LATENT_SCOPE_MAX_FACET_COLUMNS="8") as http:
        yield http


@pytest.fixture(scope="module")
def rows(root: Path) -> pd.DataFrame:
    return joined_rows(root / "sample")


def facets(client: httpx.Client, columns: list[str], **params: Any) -> dict[str, Any]:
    query = [("column", c) for c in columns] + [
        (k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])
    ]
    response = client.get(SCOPE + "/facets", params=query)
    assert response.status_code == 200, response.text
    return response.json()


def chart(answer: dict[str, Any], column: str) -> dict[str, Any]:
    return next(f for f in answer["facets"] if f["column"] == column)


def category_counts(values: pd.Series) -> dict[Any, int]:
    return {k: int(v) for k, v in values.dropna().value_counts().items()}


def check_category(found: dict[str, Any], values: pd.Series, limit: int = 20) -> None:
    counts = category_counts(values)
    listed = {b["value"]: b["count"] for b in found["buckets"]}
    assert all(listed[v] == counts[v] for v in listed)
    assert len(listed) == min(limit, len(counts))
    order = [b["count"] for b in found["buckets"]]
    assert order == sorted(order, reverse=True)
    assert min(order, default=0) >= max((n for v, n in counts.items() if v not in listed), default=0)
    assert found["nulls"] == int(values.isna().sum()) and found["total"] == len(values)
    assert found["other"] == len(values) - found["nulls"] - sum(listed.values())


def check_histogram(found: dict[str, Any], values: pd.Series) -> None:
    def edge(x: Any) -> Any:
        return pd.Timestamp(x) if isinstance(x, str) else x

    counts = [int(((values >= edge(b["start"])) & (values < edge(b["end"]))).sum()) for b in found["buckets"]]
    assert [b["count"] for b in found["buckets"]] == counts
    assert found["nulls"] == int(values.isna().sum()) and found["total"] == len(values)
    assert found["other"] == 0 and sum(counts) + found["nulls"] == len(values)
    starts = [edge(b["start"]) for b in found["buckets"]]
    assert starts == sorted(starts) and all(
        a["end"] == b["start"] for a, b in zip(found["buckets"], found["buckets"][1:], strict=False)
    )


def test_every_chart_type_unfiltered(client: httpx.Client, rows: pd.DataFrame) -> None:
    columns = ["section", "words", "ratio", "released", "free", "cluster", "ls_tags"]
    answer = facets(client, columns)
    assert answer["total"] == len(rows)
    assert [(f["column"], f["type"]) for f in answer["facets"]] == [
        ("section", "category"),
        ("words", "number"),
        ("ratio", "number"),
        ("released", "date"),
        ("free", "boolean"),
        ("cluster", "category"),
        ("ls_tags", "category"),
    ]
    check_category(chart(answer, "section"), rows["section"])
    check_category(chart(answer, "cluster"), rows["cluster"])
    for column in ("words", "ratio", "released"):
        check_histogram(chart(answer, column), rows[column])
    assert all(float(b["start"]).is_integer() for b in chart(answer, "words")["buckets"])  # integer bins
    assert chart(answer, "released")["interval"] in ("month", "quarter")  # about three years in at most 30 bins
    free = chart(answer, "free")
    assert free["buckets"] == [
        {"value": True, "count": int((rows["free"] == True).sum())},  # noqa: E712 (pandas' nullable booleans)
        {"value": False, "count": int((rows["free"] == False).sum())},  # noqa: E712
    ]
    assert free["nulls"] == int(rows["free"].isna().sum()) > 0
    tags = chart(answer, "ls_tags")
    nonempty = {name: len(members) for name, members in TAGS.items() if members}
    assert {b["value"]: b["count"] for b in tags["buckets"]} == nonempty
    tagged = set().union(*map(set, TAGS.values()))
    assert tags["nulls"] == len(rows) - len(tagged)


def test_each_chart_counts_under_every_filter_but_its_own(client: httpx.Client, rows: pd.DataFrame) -> None:
    cluster = int(rows.loc[rows["cluster"] >= 0, "cluster"].value_counts().index[0])
    sections = rows["section"].value_counts().index[:3].tolist()
    where = [
        {"column": "section", "op": "in", "value": sections},
        {"column": "words", "op": ">=", "value": 20},
        {"column": "released", "op": "<", "value": "2023-01-01T00:00:00Z"},
        {"column": "free", "op": "=", "value": True},
    ]
    params = {"cluster": str(cluster), "where": json.dumps(where)}
    answer = facets(client, ["section", "words", "released", "free", "cluster", "ratio"], **params)
    in_cluster = rows["cluster"] == cluster
    in_sections = rows["section"].isin(sections)
    wordy = rows["words"].fillna(-1) >= 20
    early = rows["released"] < pd.Timestamp("2023-01-01", tz="UTC")
    free = rows["free"].fillna(False).astype(bool)
    everything = in_cluster & in_sections & wordy & early & free
    assert answer["total"] == int(everything.sum()) > 0
    check_category(chart(answer, "section"), rows.loc[in_cluster & wordy & early & free, "section"])
    check_category(chart(answer, "cluster"), rows.loc[in_sections & wordy & early & free, "cluster"])
    check_histogram(chart(answer, "words"), rows.loc[in_cluster & in_sections & early & free, "words"])
    check_histogram(chart(answer, "released"), rows.loc[in_cluster & in_sections & wordy & free, "released"])
    check_histogram(chart(answer, "ratio"), rows.loc[everything, "ratio"])
    bools = rows.loc[in_cluster & in_sections & wordy & early, "free"]
    found = chart(answer, "free")
    assert [b["count"] for b in found["buckets"]] == [int((bools == True).sum()), int((bools == False).sum())]  # noqa: E712
    # Bins stay put as filters change: the same edges as without any filter.
    unfiltered = facets(client, ["words", "released"])
    for column in ("words", "released"):
        assert [(b["start"], b["end"]) for b in chart(answer, column)["buckets"]] == [
            (b["start"], b["end"]) for b in chart(unfiltered, column)["buckets"]
        ]


def test_a_tag_a_selection_a_keyword_and_a_semantic_query(client: httpx.Client, rows: pd.DataFrame) -> None:
    tag = facets(client, ["section", "ls_tags"], tag="firsts", tags_mode="any")
    firsts = rows.index.isin(TAGS["firsts"])
    check_category(chart(tag, "section"), rows.loc[firsts, "section"])
    # The tags chart ignores the tag filter: every tag's count over all rows.
    assert {b["value"]: b["count"] for b in chart(tag, "ls_tags")["buckets"]} == {
        name: len(m) for name, m in TAGS.items() if m
    }
    picked = [3, 8, 40, 77, 150, 151, 299]
    selection = facets(client, ["section", "words"], selection=",".join(map(str, picked)))
    assert selection["total"] == len(picked)
    check_category(chart(selection, "section"), rows.loc[picked, "section"])
    check_histogram(chart(selection, "words"), rows.loc[picked, "words"])
    keyword = facets(client, ["section"], text=r"\bpython3?\b", text_mode="regex")
    matched = rows["text"].str.contains(r"\bpython3?\b", regex=True)
    check_category(chart(keyword, "section"), rows.loc[matched, "section"])
    cluster = int(rows.loc[matched, "cluster"].value_counts().index[0])
    both = facets(client, ["section", "cluster"], text=r"\bpython3?\b", text_mode="regex", cluster=str(cluster))
    check_category(chart(both, "section"), rows.loc[matched & (rows["cluster"] == cluster), "section"])
    check_category(chart(both, "cluster"), rows.loc[matched, "cluster"])  # the keyword's rows, found once, still apply
    hits = client.get(SCOPE + "/search", params={"q": "video games", "k": 40}).json()["results"]
    semantic = facets(client, ["section", "cluster"], q="video games", k="40")
    found = rows.loc[[h["ls_index"] for h in hits]]
    assert semantic["total"] == len(found) == 40
    check_category(chart(semantic, "section"), found["section"])
    check_category(chart(semantic, "cluster"), found["cluster"])


def test_baseline_carries_the_scope_counts_and_lift_ranks_the_distinct(
    client: httpx.Client, rows: pd.DataFrame
) -> None:
    cluster = int(rows.loc[rows["cluster"] >= 0, "cluster"].value_counts().index[0])
    inside = rows[rows["cluster"] == cluster]
    answer = facets(client, ["section", "words", "free"], cluster=str(cluster), baseline="scope")
    scope_sections = category_counts(rows["section"])
    section = chart(answer, "section")
    for bucket in section["buckets"]:
        assert bucket["scope_count"] == scope_sections[bucket["value"]]
        share, scope_share = bucket["count"] / len(inside), bucket["scope_count"] / len(rows)
        assert bucket["lift"] == pytest.approx(share / scope_share, rel=1e-5)
    assert section["scope"] == {
        "total": len(rows),
        "nulls": 0,
        "other": len(rows) - sum(b["scope_count"] for b in section["buckets"]),
    }
    words = chart(answer, "words")
    unfiltered = chart(facets(client, ["words"]), "words")
    assert [b["scope_count"] for b in words["buckets"]] == [b["count"] for b in unfiltered["buckets"]]
    assert chart(answer, "free")["scope"]["nulls"] == int(rows["free"].isna().sum())

    lift = chart(facets(client, ["section"], cluster=str(cluster), rank="lift", min_count="2"), "section")
    counts = category_counts(inside["section"])
    want = sorted(
        (v for v, n in counts.items() if n >= 2),
        key=lambda v: (-(counts[v] / scope_sections[v]), -counts[v], v),
    )
    assert [b["value"] for b in lift["buckets"]] == want[:20]
    lifts = [b["lift"] for b in lift["buckets"]]
    assert lifts == sorted(lifts, reverse=True) and all(b["count"] >= 2 for b in lift["buckets"])
    assert "scope_count" in lift["buckets"][0]  # lift implies the baseline


def test_post_answers_what_get_does(client: httpx.Client) -> None:
    where = [{"column": "priority", "op": "=", "value": "optional"}]
    body = {"column": ["section", "released"], "where": where, "ls_index": list(range(0, 200, 3)), "limit": 5}
    posted = client.post(SCOPE + "/facets", json=body)
    assert posted.status_code == 200, posted.text
    query = [("column", "section"), ("column", "released"), ("where", json.dumps(where)), ("limit", "5")]
    query += [("ls_index", str(i)) for i in range(0, 200, 3)]
    assert posted.json() == client.get(SCOPE + "/facets", params=query).json()
    assert len(chart(posted.json(), "section")["buckets"]) == 5


def test_default_columns_follow_the_types(client: httpx.Client) -> None:
    answer = client.get(SCOPE + "/facets").json()
    columns = [f["column"] for f in answer["facets"]]
    assert columns[:3] == ["cluster", "ls_tags", "released"] and "text" not in columns and len(columns) <= 6


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ([("column", "nope")], ["nope", "not a column"]),
        ([("column", "parts")], ["parts", "lists"]),
        (
            [("column", c) for c in ["section", "words", "ratio", "released", "free", "cluster", "x", "y", "label"]],
            ["max_facet_columns=8"],
        ),
        ([("column", "section"), ("limit", "0")], ["limit", "between 1 and 200"]),
        ([("column", "words"), ("bins", "1")], ["bins", "between 2 and 200"]),
        ([("column", "section"), ("rank", "odds")], ["rank", "count, lift"]),
        ([("column", "section"), ("baseline", "dataset")], ["baseline", "none, scope"]),
        ([("column", "section"), ("min_count", "0")], ["min_count"]),
        ([("column", "section"), ("text", "a(b"), ("text_mode", "regex")], ["regular expression"]),
        ([("column", "section"), ("where", "[{]")], ["where must be a JSON list"]),
    ],
)
def test_bad_columns_and_parameters_are_400s(
    client: httpx.Client, query: list[tuple[str, str]], words: list[str]
) -> None:
    response = client.get(SCOPE + "/facets", params=query)
    body = response.json()
    assert response.status_code == 400 and all(w in body["error"] for w in words), body
    assert "\n" not in body["error"]


def test_unknown_scope_and_bad_body_are_4xx(client: httpx.Client) -> None:
    assert client.get("/api/datasets/sample/scopes/scopes-999/facets").status_code == 404
    assert client.post(SCOPE + "/facets", json={"columns": ["section"]}).status_code == 400  # the key is "column"
    assert client.post(SCOPE + "/facets", content=b"x", headers={"content-type": "text/plain"}).status_code == 415


def test_dates_bin_in_utc_calendar_months(client: httpx.Client, rows: pd.DataFrame) -> None:
    found = chart(facets(client, ["released"], bins="60"), "released")
    assert found["interval"] == "month"
    starts = [dt.datetime.fromisoformat(b["start"].replace("Z", "+00:00")) for b in found["buckets"]]
    assert all(s.day == 1 and s.hour == 0 and s.tzinfo is not None for s in starts)
    end = dt.datetime.fromisoformat(found["buckets"][-1]["end"].replace("Z", "+00:00"))
    assert starts[0] <= rows["released"].min() and end > rows["released"].max()
    assert sum(b["count"] for b in found["buckets"]) == rows["released"].notna().sum()


def test_points_colour_by_a_date_or_number_with_nulls(client: httpx.Client, rows: pd.DataFrame) -> None:
    """The timeline's playback and colour by time read each point's time from the points route."""
    import pyarrow as pa

    for column in ("released", "words"):
        response = client.get(SCOPE + "/points", params={"color_by": column})
        assert response.status_code == 200, response.text
        table = pa.ipc.open_stream(response.content).read_all()
        color = table.column("color").to_numpy()
        values = rows.loc[table.column("ls_index").to_pylist(), column]
        missing = values.isna().to_numpy()
        assert missing.any() and np.isnan(color[missing]).all() and table.column("color").null_count == 0
        want = (
            values[~missing].map(lambda t: t.timestamp()).to_numpy(float)
            if column == "released"
            else values[~missing].to_numpy(float)
        )
        np.testing.assert_allclose(color[~missing], want, rtol=1e-6)
    assert (
        str(
            pa.ipc.open_stream(client.get(SCOPE + "/points", params={"color_by": "released"}).content)
            .schema.field("color")
            .type
        )
        == "double"
    )
