"""A current view's Athena text, run in DuckDB the independent way: parsed as Trino by sqlglot,
its table replaced by a DuckDB relation over the same parts, printed as DuckDB."""

from __future__ import annotations

import sqlglot
from sqlglot import expressions as exp

from target_athena_zuora.views import SOURCE_CTE


def to_duckdb(trino_sql: str, database: str, table: str, source: str) -> str:
    """The DuckDB query of ``trino_sql`` (``CREATE OR REPLACE VIEW ...`` or a bare query)
    with ``"<database>"."<table>"`` read from ``source`` (the table's columns, ``dt`` and
    ``"$path"``); raises when the table is not read exactly once."""
    parsed = sqlglot.parse_one(trino_sql, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    if isinstance(parsed, exp.Create):
        parsed = parsed.expression
    if not isinstance(parsed, exp.Query):
        raise TypeError(f"expected a query, got {type(parsed).__name__}")
    found = 0

    def substitute(node: exp.Expr) -> exp.Expr:
        nonlocal found
        if isinstance(node, exp.Table) and (node.db, node.name) == (database, table):
            found += 1
            return exp.Table(
                this=exp.to_identifier(SOURCE_CTE, quoted=True), alias=node.args.get("alias")
            )
        return node

    query = parsed.transform(substitute)
    if found != 1:
        raise ValueError(f"{database}.{table} appears {found} times in the view's query")
    return f'WITH "{SOURCE_CTE}" AS (\n{source}\n)\n{query.sql(dialect="duckdb", pretty=True)}'
