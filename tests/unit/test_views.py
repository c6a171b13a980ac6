"""The current view: described once (``views``), its one SQL text parsed by sqlglot as Trino
and as DuckDB, and run over parts written here both ways — verbatim, as the DuckDB catalog
runs it, and transpiled from the Athena statement by sqlglot — against a reference in Python."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenarios.trino import to_duckdb
from sqlglot import expressions as exp

from target_athena_zuora.catalog.duckdb import DuckDBCatalog
from target_athena_zuora.views import PATH_COLUMN, SOURCE_CTE, CurrentView, describe

MS = pa.timestamp("ms", tz="UTC")
ACCOUNT = pa.schema(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("updated_date", MS),
        ("deleted", pa.bool_()),
    ]
)


def account_view(schema: pa.Schema = ACCOUNT, keys: tuple[str, ...] = ("id",)) -> CurrentView:
    view = describe("zuora", "account", schema, keys, None)
    assert view is not None
    return view


# --- the description ------------------------------------------------------------------------

NESTED = pa.struct([("at", MS)])


@pytest.mark.parametrize(
    ("schema", "keys", "replication_key", "expected"),
    [
        pytest.param(ACCOUNT, (), None, None, id="no-keys-no-view"),
        pytest.param(ACCOUNT, ("nope",), None, None, id="key-not-a-column-no-view"),
        pytest.param(ACCOUNT, ("id",), None, ("updated_date", True), id="tap-zuora-aqua"),
        pytest.param(
            pa.schema([("id", pa.string()), ("seq", pa.int64()), ("updated_date", MS)]),
            ("id",),
            "seq",
            ("seq", False),
            id="replication-key-first",
        ),
        pytest.param(
            pa.schema([("id", pa.string()), ("updated_date", MS)]),
            ("id",),
            "gone",
            ("updated_date", False),
            id="replication-key-not-a-column-falls-back",
        ),
        pytest.param(
            pa.schema([("id", pa.string()), ("at", NESTED)]),
            ("id",),
            "at",
            (None, False),
            id="nested-replication-key-is-not-ordered",
        ),
        pytest.param(
            pa.schema([("id", pa.string()), ("deleted", pa.string())]),
            ("id",),
            None,
            (None, False),
            id="deleted-must-be-boolean",
        ),
    ],
)
def test_describe(
    schema: pa.Schema,
    keys: tuple[str, ...],
    replication_key: str | None,
    expected: tuple[str | None, bool] | None,
) -> None:
    view = describe("zuora", "account", schema, keys, replication_key)
    if expected is None:
        assert view is None
        return
    assert view is not None
    assert (view.version_column, view.deleted) == expected
    assert view.columns == tuple(schema.names)
    assert view.name == "account_current"


def test_the_helper_column_never_shadows_a_table_column() -> None:
    schema = pa.schema([("id", pa.string()), ("_current_rank", pa.int64())])
    view = account_view(schema)
    assert view.rank == "__current_rank"
    assert '"__current_rank" = 1' in view.select()


def test_the_fingerprint_follows_the_columns() -> None:
    before = account_view()
    after = account_view(pa.schema([*ACCOUNT, ("region_c", pa.string())]))
    assert before.sha256() == account_view().sha256()
    assert before.sha256() != after.sha256()


# --- the Trino text ---------------------------------------------------------------------------


def test_the_athena_statement_is_trino() -> None:
    statement = account_view().athena_statement()
    parsed = sqlglot.parse_one(statement, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    assert isinstance(parsed, exp.Create)
    assert parsed.kind == "VIEW" and parsed.args.get("replace") is True
    assert (parsed.this.db, parsed.this.name) == ("zuora", "account_current")
    query = parsed.expression
    assert isinstance(query, exp.Select)
    assert query.named_selects == ["id", "name", "updated_date", "deleted", "dt"]
    tables = {(t.db, t.name) for t in query.find_all(exp.Table)}
    assert tables == {("zuora", "account")}
    # printed back as Trino by sqlglot, it is the same statement
    again = sqlglot.parse_one(parsed.sql(dialect="trino"), read="trino")
    assert again == parsed


def test_the_text_means_the_same_in_trino_and_duckdb() -> None:
    """sqlglot reads the one text into the same tree in both dialects: no function, cast or
    literal that either engine reads differently."""
    text = account_view().select()
    as_trino = sqlglot.parse_one(text, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    as_duckdb = sqlglot.parse_one(text, read="duckdb", error_level=sqlglot.ErrorLevel.RAISE)
    assert as_trino == as_duckdb
    transpiled = sqlglot.parse_one(as_trino.sql(dialect="duckdb"), read="duckdb")
    assert transpiled == as_duckdb


def test_the_duckdb_query_is_the_athena_text_over_the_parts() -> None:
    view = account_view()
    athena = view.athena_statement().split(" AS\n", 1)[1]
    duckdb_query = view.duckdb_select("SELECT 1")
    assert duckdb_query.startswith(f'WITH "{SOURCE_CTE}" AS (\nSELECT 1\n)\n')
    assert duckdb_query.split(")\n", 1)[1] == athena.replace(
        'FROM "zuora"."account"', f'FROM "{SOURCE_CTE}"'
    )


def test_the_statement_uses_only_what_both_engines_read_alike() -> None:
    text = account_view().select()
    assert '"$path"' in text
    assert "\\" not in text  # no backslash escapes in the regular expression
    assert "NULLS" not in text.upper()  # null order spelt out, not left to a setting
    assert "TRY_CAST(" in text and "coalesce(" in text


# --- running it -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One landed row of a key: which run (transfer timestamp) and part it landed in."""

    key: str
    name: str
    updated: int | None  # minutes after a fixed moment; None: unknown
    deleted: bool | None
    run: int  # transfer timestamp = 20240101000000 + run seconds ... (see part_path)
    part: int


def part_path(root: Path, run: int, part: int) -> Path:
    moment = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=run * 7)
    stamp = moment.strftime("%Y%m%d%H%M%S")
    return root / "zuora" / "account" / f"dt={moment:%Y-%m-%d}" / f"{part}_{stamp}.parquet"


def when(minutes: int | None) -> dt.datetime | None:
    if minutes is None:
        return None
    return dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)


def land(root: Path, versions: list[Version], schema: pa.Schema = ACCOUNT) -> None:
    by_part = itertools.groupby(
        sorted(versions, key=lambda v: (v.run, v.part)), key=lambda v: (v.run, v.part)
    )
    for (run, part), group in by_part:
        rows = [
            {"id": v.key, "name": v.name, "updated_date": when(v.updated), "deleted": v.deleted}
            for v in group
        ]
        path = part_path(root, run, part)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def current_rows(root: Path, view: CurrentView, *, setup: str = "") -> list[tuple[Any, ...]]:
    """The view over the parts under ``root``, sorted by key, run both ways: verbatim as the
    DuckDB catalog runs it, and the Athena statement transpiled by sqlglot (which must agree)."""
    schema = pa.schema(
        [ACCOUNT.field(c) if c in ACCOUNT.names else pa.field(c, pa.string()) for c in view.columns]
    )
    source = DuckDBCatalog(root).select("zuora", "account", schema, path_column=PATH_COLUMN)
    queries = [
        view.duckdb_select(source),
        to_duckdb(view.athena_statement(), "zuora", "account", source),
    ]
    found = []
    with duckdb.connect() as connection:
        if setup:
            connection.execute(setup)
        for query in queries:
            rows = connection.sql(f'SELECT "id", "name" FROM ({query}) ORDER BY 1, 2').fetchall()  # noqa: S608
            found.append([tuple(r) for r in rows])
    assert found[0] == found[1], "the verbatim text and its transpiled form disagree"
    return found[0]


def reference(versions: list[Version], *, deleted_column: bool = True) -> list[tuple[str, str]]:
    """The latest version of each key by the documented order, soft deletes left out."""
    latest: dict[str, Version] = {}
    for version in versions:
        best = latest.get(version.key)
        if best is None or _order(version) > _order(best):
            latest[version.key] = version
    return sorted((v.key, v.name) for v in latest.values() if not (deleted_column and v.deleted))


def _order(v: Version) -> tuple[int, int, int, int]:
    known = v.updated is not None
    moment = int(part_path(Path(), v.run, v.part).name.split("_")[1].split(".")[0])
    return (int(known), v.updated or 0, moment, v.part)


CASES = [
    # a: updated in a later run; the older version is history
    Version("a", "a-old", 10, False, 0, 0),
    Version("a", "a-new", 20, False, 1, 0),
    # b: re-sent unchanged at the boundary (same UpdatedDate), then nothing newer
    Version("b", "b", 30, False, 0, 0),
    Version("b", "b", 30, False, 1, 0),
    # c: soft-deleted in the latest version: left out
    Version("c", "c", 10, False, 0, 0),
    Version("c", "c-deleted", 40, True, 1, 0),
    # d: deleted once, then a newer version that is not: back
    Version("d", "d-deleted", 10, True, 0, 0),
    Version("d", "d-back", 50, False, 2, 0),
    # e: an older version landing later does not win (replication key first)
    Version("e", "e-newer", 60, False, 0, 0),
    Version("e", "e-older", 5, False, 2, 0),
    # f: same replication key: landing order decides, part 10 after part 9 (as numbers)
    Version("f", "f-part-9", 70, False, 1, 9),
    Version("f", "f-part-10", 70, False, 1, 10),
    # g: a version with a known date beats a later one whose date is unknown
    Version("g", "g-known", 1, False, 0, 0),
    Version("g", "g-unknown", None, False, 2, 0),
    # h: only unknown dates: landing order decides; NULL deleted counts as not deleted
    Version("h", "h-first", None, None, 0, 0),
    Version("h", "h-second", None, None, 1, 0),
]


def test_the_latest_version_of_each_key(tmp_path: Path) -> None:
    land(tmp_path, CASES)
    assert current_rows(tmp_path, account_view()) == [
        ("a", "a-new"),
        ("b", "b"),
        ("d", "d-back"),
        ("e", "e-newer"),
        ("f", "f-part-10"),
        ("g", "g-known"),
        ("h", "h-second"),
    ]
    assert current_rows(tmp_path, account_view()) == reference(CASES)


def test_a_session_null_order_does_not_change_the_answer(tmp_path: Path) -> None:
    land(tmp_path, CASES)
    flipped = current_rows(tmp_path, account_view(), setup="SET default_null_order = 'nulls_first'")
    assert flipped == reference(CASES)


def test_a_file_whose_name_does_not_parse_ranks_lowest(tmp_path: Path) -> None:
    land(tmp_path, [Version("a", "a-landed", 10, False, 0, 0)])
    stray = tmp_path / "zuora" / "account" / "dt=2024-01-01" / "copied-by-hand.parquet"
    rows = [{"id": "a", "name": "a-stray", "updated_date": when(10), "deleted": False}]
    pq.write_table(pa.Table.from_pylist(rows, schema=ACCOUNT), stray)
    assert current_rows(tmp_path, account_view()) == [("a", "a-landed")]


def test_without_version_or_deleted_columns_landing_order_decides(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.string()), ("name", pa.string())])
    versions = [Version("a", "first", None, None, 0, 1), Version("a", "second", None, None, 0, 2)]
    for run, part, name in ((0, 1, "first"), (0, 2, "second")):
        path = part_path(tmp_path, run, part)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"id": ["a"], "name": [name]}), path)
    view = describe("zuora", "account", schema, ("id",), None)
    assert view is not None and view.version_column is None and not view.deleted
    assert current_rows(tmp_path, view) == reference(versions, deleted_column=False)


def test_composite_keys(tmp_path: Path) -> None:
    """Keys (id, name): one row per pair, its latest version."""
    view = account_view(keys=("id", "name"))
    land(
        tmp_path,
        [
            Version("a", "x", 1, False, 0, 0),
            Version("a", "x", 3, False, 1, 0),
            Version("a", "y", 2, False, 0, 0),
        ],
    )
    schema = ACCOUNT
    source = DuckDBCatalog(tmp_path).select("zuora", "account", schema, path_column=PATH_COLUMN)
    query = to_duckdb(view.athena_statement(), "zuora", "account", source)
    with duckdb.connect() as connection:
        rows = connection.sql(f"SELECT id, name, updated_date FROM ({query}) ORDER BY 1, 2")  # noqa: S608
        found = [tuple(r) for r in rows.fetchall()]
    assert found == [("a", "x", when(3)), ("a", "y", when(2))]


def test_columns_are_the_tables_and_dt(tmp_path: Path) -> None:
    land(tmp_path, CASES)
    view = account_view()
    source = DuckDBCatalog(tmp_path).select("zuora", "account", ACCOUNT, path_column=PATH_COLUMN)
    with duckdb.connect() as connection:
        described = connection.sql(
            f"DESCRIBE {to_duckdb(view.athena_statement(), 'zuora', 'account', source)}"
        ).fetchall()
    assert [(r[0], r[1]) for r in described] == [
        ("id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("updated_date", "TIMESTAMP WITH TIME ZONE"),
        ("deleted", "BOOLEAN"),
        ("dt", "DATE"),
    ]


def test_the_source_must_appear_once() -> None:
    with pytest.raises(ValueError, match=r"zuora\.invoice appears 0 times"):
        to_duckdb(account_view().athena_statement(), "zuora", "invoice", "SELECT 1")


versions_strategy = st.lists(
    st.builds(
        Version,
        key=st.sampled_from("abcd"),
        name=st.text("xyz", min_size=1, max_size=3),
        updated=st.one_of(st.none(), st.integers(0, 3)),
        deleted=st.one_of(st.none(), st.booleans()),
        run=st.integers(0, 2),
        part=st.sampled_from([0, 1, 2, 9, 10, 11]),
    ),
    max_size=14,
    # a key at most once per part: two versions equal in every ordering column are tied,
    # and which one the view returns is not defined (README)
    unique_by=lambda v: (v.key, v.run, v.part),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(versions=versions_strategy)
def test_matches_the_reference_for_any_history(
    tmp_path_factory: pytest.TempPathFactory, versions: list[Version]
) -> None:
    root = tmp_path_factory.mktemp("lake")
    land(root, versions)
    assert current_rows(root, account_view()) == reference(versions)
