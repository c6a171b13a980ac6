"""The Athena partition rule helper (``athena_rule``) itself: it passes what Athena reads and
fails what Athena refuses or misreads — otherwise the evolution tests prove nothing."""

from __future__ import annotations

import pytest

from .athena_rule import parse, violations


def columns(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"Name": n, "Type": t} for n, t in pairs]


@pytest.mark.parametrize(
    ("partition", "table"),
    [
        ("string", "string"),
        ("int", "bigint"),
        ("tinyint", "int"),
        ("integer", "bigint"),
        ("float", "double"),
        ("int", "double"),
        ("varchar(10)", "varchar(20)"),
        ("varchar(10)", "string"),
        ("decimal(10,2)", "decimal(12,4)"),
        ("struct<a:string>", "struct<a:string,b:bigint>"),
        ("struct<a:int>", "struct<a:bigint,b:bigint>"),
        ("struct<a:struct<x:string>>", "struct<a:struct<x:string,y:date>,b:bigint>"),
        ("array<struct<sku:string>>", "array<struct<sku:string,qty:bigint>>"),
        ("map<string,struct<a:int>>", "map<string,struct<a:bigint,b:string>>"),
        ("STRUCT<A:STRING>", "struct<a:string>"),
    ],
    ids=str,
)
def test_readable(partition: str, table: str) -> None:
    assert violations(columns(("c", table)), columns(("c", partition))) == []


@pytest.mark.parametrize(
    ("partition", "table", "says"),
    [
        ("bigint", "string", "not coercible"),
        ("bigint", "int", "not coercible"),
        ("double", "float", "not coercible"),
        ("string", "bigint", "not coercible"),
        ("timestamp", "date", "not coercible"),
        ("varchar(20)", "varchar(10)", "not coercible"),
        ("decimal(12,4)", "decimal(10,2)", "not coercible"),
        ("struct<a:string>", "string", "not coercible"),
        ("struct<a:string,c:bigint>", "struct<a:string,b:string,c:bigint>", "field 1 is c"),
        ("struct<b:string,a:string>", "struct<a:string,b:string>", "field 0 is b"),
        ("struct<a:string,b:string>", "struct<a:string>", "beyond the table's"),
        ("struct<a:string>", "struct<a:bigint>", "c.a: partition type string"),
        ("struct<s:struct<x:string,z:date>>", "struct<s:struct<x:string,y:date,z:date>>", "c.s"),
        ("array<struct<qty:bigint>>", "array<struct<sku:string,qty:bigint>>", "c[]"),
        ("array<string>", "array<bigint>", "c[]"),
        ("map<string,bigint>", "map<bigint,bigint>", "map key"),
    ],
    ids=str,
)
def test_refused(partition: str, table: str, says: str) -> None:
    found = violations(columns(("c", table)), columns(("c", partition)))
    assert found, f"{partition} read as {table} must be a violation"
    assert any(says in line for line in found), found


def test_columns_are_matched_by_name_not_position() -> None:
    table = columns(("id", "string"), ("deleted", "boolean"), ("name", "string"))
    assert violations(table, columns(("name", "string"), ("id", "string"))) == []
    assert violations(table, columns(("name", "string"), ("gone", "string"))) == [
        "gone: in the partition, not in the table"
    ]


def test_a_type_changed_among_several_columns_is_named() -> None:
    table = columns(("id", "string"), ("amount", "double"))
    (line,) = violations(table, columns(("id", "string"), ("amount", "string")))
    assert line.startswith("amount:")


@pytest.mark.parametrize(
    "text",
    ["struct<", "array<string", "struct<a>", "map<string>", "bigint bigint", "array<a,b>"],
)
def test_parse_refuses_what_is_not_a_type(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse(text)


def test_parse_prints_back() -> None:
    text = "struct<a:bigint,b:array<struct<c:decimal(18,2)>>,m:map<string,varchar(3)>>"
    assert str(parse(text)) == text
