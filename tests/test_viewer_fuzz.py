"""Schemathesis against the viewer's own /openapi.json on a live server over a pipeline-built scope.

Every operation (the hosted import upload excepted: it writes, and is tested on its own) is fuzzed with schema-valid
and schema-violating requests, once with generated ids (unknown ids, id-rule edge cases) and once with the real
dataset, scope and tag ids so that the query parameters reach the filters, DuckDB and the model. Beyond schemathesis'
own checks (no 5xx, status codes, content types and JSON bodies as documented, invalid input rejected), every body
must decode as its content type says, never carry a traceback or a path of the server's disk, and a schema-valid
request may only be refused (400) for a value that depends on the dataset (a column name, a label level).
The studio's tag and scope edits are fuzzed too, without the page's token: each must be refused and the data
directory stay byte for byte unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.helpers import tree_digest
from tests.viewer_support import REPO, copy_built, serve
from viewer.facets import facet_kinds
from viewer.filters import OPS, column_types

EXCLUDED = {"import_upload"}  # the one writing route (hosted mode); tested with its own fixtures
REAL_IDS = {"dataset": "sample", "scope": "scopes-001", "tag": "favourites", "other": "scopes-001"}
# Requests per operation and generation mode: few with generated ids (most are unknown: 404 or 400), more with
# the real ones, whose query parameters reach the data.
EXAMPLES = {"generated": 16, "real": 56}
MIN_REQUESTS = 1000
MAX_URL = 65535  # httptools (under uvicorn) refuses a longer request target with a plain-text 400
# A schema-valid request may still name something this dataset lacks; such a 400 must say which.
# A regex's validity is not expressible in the schema either: an invalid one must say so.
DATASET_DEPENDENT = (
    *("column", "sort", "where", "color_by", "level", "op ", "labels have no level"),
    "regular expression",
)
LEAKS = ("Traceback", 'File "', "/tmp/", "/home/", "/work/", "site-packages")


@pytest.fixture(scope="module")
def root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("fuzz") / "data")


@pytest.fixture(scope="module")
def base(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("logs") / "viewer.log"
    with serve(root, log) as url:
        yield url
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def decodes_as_declared(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """The body is what its content type says: JSON, an Arrow stream of the map columns, CSV, Parquet, NDJSON, PNG."""
    kind = (response.headers.get("content-type") or [""])[0].split(";")[0]
    body = response.content
    if kind == "application/json":
        json.loads(body)
    elif kind == "application/vnd.apache.arrow.stream":
        table = pa.ipc.open_stream(body).read_all()
        assert table.column_names[:4] == ["ls_index", "x", "y", "cluster"], table.column_names
    elif kind == "text/csv":
        list(csv.reader(io.StringIO(body.decode("utf-8"))))
    elif kind == "application/vnd.apache.parquet":
        assert "ls_index" in pq.read_table(io.BytesIO(body)).column_names
    elif kind == "application/x-ndjson":
        for line in body.decode("utf-8").splitlines():
            assert isinstance(json.loads(line), dict)
    elif kind == "image/png":
        assert body.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        raise AssertionError(f"undocumented content type {kind!r}")


def leaks_nothing(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    text = response.content.decode("utf-8", errors="replace")
    for leak in (*LEAKS, str(REPO)):
        assert leak not in text, f"the body holds {leak!r}"


def refuses_only_for_dataset_reasons(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Stricter than schemathesis' positive_data_acceptance: a 400 to valid input must be about the dataset."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return
    message = json.loads(response.content)["error"]
    assert any(word in message for word in DATASET_DEPENDENT), f"schema-valid request refused: {message}"


class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.too_long = 0  # URLs over the HTTP layer's limit, refused before the viewer sees them
        self.failures: list[str] = []

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def dataset_values(meta: dict[str, Any], tags: list[str]) -> dict[str, st.SearchStrategy[Any]]:
    """Values of this dataset for the parameters whose valid values depend on it (columns, tags, label levels)."""
    types = column_types(meta)
    columns = sorted(types)

    def value(kind: str) -> st.SearchStrategy[Any]:
        if kind == "number":
            return st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False)
        return st.booleans() if kind == "boolean" else st.text(max_size=12)

    def condition(column: str) -> st.SearchStrategy[dict[str, Any]]:
        scalar, op = value(types[column]), st.sampled_from(OPS)
        return op.flatmap(
            lambda o: (
                st.just({"column": column, "op": o})
                if o in ("is_null", "not_null")
                else st.fixed_dictionaries(
                    {
                        "column": st.just(column),
                        "op": st.just(o),
                        "value": st.text(min_size=1, max_size=8)
                        if o == "contains"
                        else st.lists(scalar, min_size=1, max_size=4)
                        if o == "in"
                        else scalar,
                    }
                )
            )
        )

    return {
        "sort": st.sampled_from(columns + ["-" + c for c in columns]),
        "where": st.lists(st.sampled_from(columns).flatmap(condition), max_size=3),
        "color_by": st.sampled_from(list(meta["columns"])),
        "tag": st.sampled_from(tags),
        "level": st.sampled_from([0, 1]),
        "column": st.lists(st.sampled_from(sorted(facet_kinds(meta))), min_size=1, max_size=4),
    }


def fuzz(
    operation: Any,
    mode: GenerationMode,
    ids: dict[str, str] | None,
    base: str,
    tally: Tally,
    realistic: dict[str, st.SearchStrategy[Any]] | None = None,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=ids)
    examples = EXAMPLES["real" if ids else "generated"]
    session = requests.Session()

    # Generate only: a failure is recorded rather than raised, so nothing is shrunk and every request counts.
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        for name in list(case.query or {}) if realistic else []:
            # Half the time a dataset-dependent value is swapped for a real one, so the rest of the request
            # reaches DuckDB, the model and the encoders instead of stopping at "unknown column".
            if name in realistic and data.draw(st.booleans()):
                case.query[name] = data.draw(realistic[name])
        response = case.call(base_url=base, session=session, timeout=60)
        tally.statuses[response.status_code] += 1
        if len(response.request.url or "") > MAX_URL:
            tally.too_long += 1
            assert response.status_code == 400, response.status_code
            return
        try:
            case.validate_response(
                response,
                additional_checks=[decodes_as_declared, leaks_nothing, refuses_only_for_dataset_reasons],
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )
        except (schemathesis.errors.FailureGroup, AssertionError, ValueError) as exc:
            tally.failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")

    run()


def test_schemathesis_finds_no_server_error(base: str, root: Path) -> None:
    before = tree_digest(root)
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    meta = json.loads((root / "sample" / "meta.json").read_text())
    realistic = dataset_values(meta, [p.stem for p in (root / "sample" / "tags").glob("*.indices")])
    tally = Tally()
    operations = [op.ok() for op in schema.get_all_operations()]
    fuzzed = {"rows_get", "rows_post", "indices_post", "search", "points", "export_post", "tag", "tag_add", "tag_undo"}
    fuzzed |= {"scope_edit", "scope_undo", "versions", "compare", "facets_get", "facets_post"}
    assert {op.definition.raw["operationId"] for op in operations} >= fuzzed
    for operation in operations:
        op_id = operation.definition.raw["operationId"]  # the route name (+ "_<method>" for a multi-method route)
        if any(op_id == name or op_id.startswith(name + "_") for name in EXCLUDED):
            continue
        has_path, has_query = "{" in operation.path, bool(operation.query)
        real = {k: v for k, v in REAL_IDS.items() if "{" + k + "}" in operation.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if has_path or has_query or mode.is_positive:
                fuzz(operation, mode, None, base, tally)
            if has_path and has_query:  # the real ids, so that the query parameters reach the scope's data
                fuzz(operation, mode, real, base, tally, realistic if mode.is_positive else None)
    print(
        f"\nschemathesis: {tally.requests} requests over {len(operations)} operations, statuses "
        f"{dict(sorted(tally.statuses.items()))} ({tally.too_long} URLs over {MAX_URL} bytes refused by the HTTP layer)"
    )
    assert not tally.failures, f"{len(tally.failures)} failures; first:\n" + "\n\n".join(tally.failures[:3])
    assert tally.requests >= MIN_REQUESTS
    assert not [s for s in tally.statuses if s >= 500]
    assert tally.statuses[200] >= 150 and tally.statuses[400] >= 150  # both the data paths and refusals were reached
    assert tree_digest(root) == before, "a request changed the data directory"


def test_colour_by_long_texts_keeps_the_categories_out_of_the_headers(base: str) -> None:
    """Found by the fuzzer: colouring by the text column put 300 long names in one header (over 64 KiB), which
    clients refuse; the names now travel in the Arrow schema metadata only."""
    response = requests.get(base + "/api/datasets/sample/scopes/scopes-001/points?color_by=text", timeout=60)
    assert response.status_code == 200 and "x-ls-categories" not in response.headers
    assert sum(len(k) + len(v) for k, v in response.headers.items()) < 8192
    table = pa.ipc.open_stream(response.content).read_all()
    names = json.loads(table.schema.metadata[b"x-ls-categories"])
    assert len(names) == len(set(names)) > 100 and names == sorted(names)
    short = requests.get(base + "/api/datasets/sample/scopes/scopes-001/points?color_by=section", timeout=60)
    assert json.loads(short.headers["x-ls-categories"]) == json.loads(
        pa.ipc.open_stream(short.content).read_all().schema.metadata[b"x-ls-categories"]
    )
