"""``<model>_current`` views on AWS: ``CREATE OR REPLACE VIEW`` run through Athena (moto's
server records each query's text, workgroup, database and output location; it runs no SQL),
issued again only when the SQL changes, and a failed query (injected with botocore's
Stubber: moto's Athena always succeeds) ending the run with Athena's reason on one line.

The very text sent to Athena is also parsed as Trino, transpiled to DuckDB and run over the
same parts (downloaded from S3), and compared with the DuckDB view of the same runs landed
locally and with the expected rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pytest
from botocore.stub import ANY, Stubber
from scenarios.three_runs import KEYED, RUNS, expected_current
from scenarios.trino import to_duckdb

from target_athena_zuora.aws import Clients
from target_athena_zuora.catalog import TableDefinition
from target_athena_zuora.catalog.athena import Athena
from target_athena_zuora.catalog.duckdb import DuckDBCatalog
from target_athena_zuora.catalog.glue import VIEW_MARKER, GlueCatalog
from target_athena_zuora.checks import PROBE_VIEW
from target_athena_zuora.errors import CatalogError
from target_athena_zuora.glue_types import KEYS_PARAMETER, REPLICATION_KEY_PARAMETER, arrow_schema
from target_athena_zuora.iam import policy_documents, used_actions
from target_athena_zuora.settings import Settings
from target_athena_zuora.target import TargetAthenaZuora
from target_athena_zuora.views import PATH_COLUMN, describe

pytestmark = pytest.mark.aws

Aws = Callable[[str], Any]
RunCli = Callable[..., Any]
REGION = "us-east-1"


@pytest.fixture
def config(aws: Aws, aws_config: dict[str, Any]) -> dict[str, Any]:
    """A fresh bucket and schema, its own Athena workgroup, results under another database."""
    workgroup = f"wg_{uuid.uuid4().hex[:8]}"
    aws("athena").create_work_group(Name=workgroup, Configuration={})
    return {**aws_config, "workgroup": workgroup, "database": "lake_results"}


def queries(aws: Aws, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Athena executions of ``config``'s workgroup, in the order they were started."""
    athena = aws("athena")
    ids = athena.list_query_executions(WorkGroup=config["workgroup"])["QueryExecutionIds"]
    return [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]


def view_queries(aws: Aws, config: dict[str, Any]) -> dict[str, list[str]]:
    """The CREATE VIEW texts sent for each view, in order, by view name."""
    found: dict[str, list[str]] = {}
    for execution in queries(aws, config):
        text = execution["Query"]
        if text.startswith(f'CREATE OR REPLACE VIEW "{config["schema"]}".'):
            name = text.split(".", 1)[1].split('"')[1]
            found.setdefault(name, []).append(text)
    return found


def simulate_athena(aws: Aws, config: dict[str, Any]) -> None:
    """What Athena does on success and moto does not: the view's table in Glue."""
    glue = aws("glue")
    for name in view_queries(aws, config):
        with contextlib.suppress(glue.exceptions.AlreadyExistsException):
            glue.create_table(
                DatabaseName=config["schema"],
                TableInput={
                    "Name": name,
                    "TableType": "VIRTUAL_VIEW",
                    "Parameters": {"presto_view": "true", "comment": "Presto View"},
                    "ViewOriginalText": "/* Presto View: ... */",
                    "StorageDescriptor": {"Columns": []},
                },
            )


def glue_view(aws: Aws, database: str, model: str) -> tuple[str, str | None]:
    """The Athena statement the Glue table's columns and keys call for, and its marker."""
    table = aws("glue").get_table(DatabaseName=database, Name=model)["Table"]
    parameters = table["Parameters"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    view = describe(
        database,
        model,
        arrow_schema(columns, "ms"),
        tuple(json.loads(parameters[KEYS_PARAMETER])),
        parameters.get(REPLICATION_KEY_PARAMETER),
    )
    assert view is not None
    return view.athena_statement(), parameters.get(VIEW_MARKER)


# --- reaching Athena ----------------------------------------------------------------------------


def test_create_view_reaches_athena_in_the_workgroup_with_the_output_location(
    run_cli: RunCli, aws: Aws, config: dict[str, Any]
) -> None:
    result = run_cli(RUNS[0], config=config)
    assert result.returncode == 0, result.stderr
    executions = queries(aws, config)
    assert len(executions) == len(KEYED)  # one per keyed model: none for export_log
    output = f"s3://{config['bucket']}/lake_results/athena_output/"
    for execution in executions:
        assert execution["WorkGroup"] == config["workgroup"]
        assert execution["ResultConfiguration"]["OutputLocation"].startswith(output)
        assert execution["QueryExecutionContext"] == {"Database": config["schema"]}
        assert execution["Status"]["State"] == "SUCCEEDED"
    sent = view_queries(aws, config)
    assert sorted(sent) == sorted(f"{m}_current" for m in KEYED.values())
    for model in KEYED.values():
        statement, marker = glue_view(aws, config["schema"], model)
        assert sent[f"{model}_current"] == [statement]
        assert marker == describe_sha(statement)


def describe_sha(statement: str) -> str:
    return hashlib.sha256(statement.encode()).hexdigest()


def test_a_view_is_not_reissued_while_its_sql_is_unchanged(
    run_cli: RunCli, aws: Aws, config: dict[str, Any]
) -> None:
    assert run_cli(RUNS[0], config=config).returncode == 0
    again = run_cli(RUNS[0], config=config)
    assert again.returncode == 0, again.stderr
    assert {k: len(v) for k, v in view_queries(aws, config).items()} == {
        "account_current": 1,
        "invoice_current": 1,
    }
    evolved = run_cli(RUNS[1], config=config)  # Account gains region_c: its SQL changes
    assert evolved.returncode == 0, evolved.stderr
    sent = view_queries(aws, config)
    assert len(sent["invoice_current"]) == 1
    assert len(sent["account_current"]) == 2
    assert '"region_c"' in sent["account_current"][-1]
    assert '"region_c"' not in sent["account_current"][0]
    statement, marker = glue_view(aws, config["schema"], "account")
    assert sent["account_current"][-1] == statement and marker == describe_sha(statement)


def test_the_marker_alone_decides(run_cli: RunCli, aws: Aws, config: dict[str, Any]) -> None:
    """Whether Athena holds the view is not asked (moto runs no SQL; a view dropped by hand
    comes back when its SQL next changes, or once the marker parameter is removed)."""
    assert run_cli(RUNS[0], config=config).returncode == 0
    glue = aws("glue")
    table = glue.get_table(DatabaseName=config["schema"], Name="invoice")["Table"]
    parameters = {k: v for k, v in table["Parameters"].items() if k != VIEW_MARKER}
    glue.update_table(
        DatabaseName=config["schema"],
        TableInput={
            "Name": "invoice",
            "TableType": table["TableType"],
            "Parameters": parameters,
            "PartitionKeys": table["PartitionKeys"],
            "StorageDescriptor": table["StorageDescriptor"],
        },
    )
    assert run_cli(RUNS[0], config=config).returncode == 0
    assert {k: len(v) for k, v in view_queries(aws, config).items()} == {
        "account_current": 1,
        "invoice_current": 2,
    }


def test_current_views_off_sends_nothing_to_athena(
    run_cli: RunCli, aws: Aws, config: dict[str, Any]
) -> None:
    result = run_cli(RUNS[0], config={**config, "current_views": False})
    assert result.returncode == 0, result.stderr
    assert queries(aws, config) == []


def test_a_stream_that_loses_its_keys_loses_the_view_the_target_made(
    run_cli: RunCli, aws: Aws, config: dict[str, Any]
) -> None:
    assert run_cli(RUNS[0], config=config).returncode == 0
    simulate_athena(aws, config)
    keyless = [
        {**m, "key_properties": []} if m["type"] == "SCHEMA" and m["stream"] == "Invoice" else m
        for m in RUNS[1]
    ]
    result = run_cli(keyless, config=config)
    assert result.returncode == 0, result.stderr
    glue = aws("glue")
    names = {t["Name"] for t in glue.get_tables(DatabaseName=config["schema"])["TableList"]}
    assert "invoice_current" not in names
    assert "account_current" in names
    invoice = glue.get_table(DatabaseName=config["schema"], Name="invoice")["Table"]
    assert VIEW_MARKER not in invoice["Parameters"]


def test_a_table_named_like_the_view_is_left_alone(
    run_cli: RunCli, aws: Aws, config: dict[str, Any]
) -> None:
    glue = aws("glue")
    glue.create_database(DatabaseInput={"Name": config["schema"]})
    glue.create_table(
        DatabaseName=config["schema"],
        TableInput={"Name": "account_current", "TableType": "EXTERNAL_TABLE"},
    )
    result = run_cli(RUNS[0], config=config)
    assert result.returncode == 0, result.stderr
    assert sorted(view_queries(aws, config)) == ["invoice_current"]
    assert "a table of that name exists" in result.stderr


# --- one SQL text, proven -------------------------------------------------------------------


@pytest.fixture(scope="module")
def lakes(
    run_cli_module: RunCli, moto_s3: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The three runs into S3 (moto) and into a local lake; the S3 parts downloaded."""
    config = {
        "bucket": moto_s3.new_bucket(),
        "region": REGION,
        "endpoint_url": moto_s3.endpoint,
        "schema": f"zuora_{uuid.uuid4().hex[:8]}",
    }
    local = tmp_path_factory.mktemp("local")
    for lines in RUNS:
        landed = run_cli_module(lines, config=config)
        assert landed.returncode == 0, landed.stderr
        here = run_cli_module(lines, root=local)
        assert here.returncode == 0, here.stderr
    downloaded = tmp_path_factory.mktemp("downloaded")
    s3 = moto_s3.client()
    for listed in s3.list_objects_v2(Bucket=config["bucket"])["Contents"]:
        path = downloaded / listed["Key"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=config["bucket"], Key=listed["Key"])["Body"].read())
    return {"config": config, "local": local, "downloaded": downloaded}


def athena_text(endpoint: str, schema: str, model: str) -> str:
    """The last CREATE VIEW text moto recorded for ``<schema>.<model>_current``."""
    athena = boto3.client("athena", endpoint_url=endpoint, region_name=REGION)
    ids = athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
    prefix = f'CREATE OR REPLACE VIEW "{schema}"."{model}_current"'
    texts = [
        text
        for text in (
            athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids
        )
        if text.startswith(prefix)
    ]
    assert texts, f"no view query for {schema}.{model}"
    return texts[-1]


@pytest.mark.parametrize(("stream", "model"), sorted(KEYED.items()))
def test_the_text_sent_to_athena_returns_the_duckdb_views_rows(
    lakes: dict[str, Any], moto_endpoint: str, aws: Aws, stream: str, model: str
) -> None:
    schema = lakes["config"]["schema"]
    text = athena_text(moto_endpoint, schema, model)
    table = aws("glue").get_table(DatabaseName=schema, Name=model)["Table"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    source = DuckDBCatalog(lakes["downloaded"]).select(
        schema, model, arrow_schema(columns, "ms"), path_column=PATH_COLUMN
    )
    with duckdb.connect() as connection:
        athena_rows = connection.sql(to_duckdb(text, schema, model, source)).to_arrow_table()
    with duckdb.connect(str(lakes["local"] / "catalog.duckdb"), read_only=True) as connection:
        local_rows = connection.sql(f'SELECT * FROM zuora."{model}_current"').to_arrow_table()  # noqa: S608
    assert athena_rows.schema.names == local_rows.schema.names
    assert sort(athena_rows) == sort(local_rows)
    assert [{k: v for k, v in r.items() if k != "dt"} for r in sort(athena_rows)] == (
        expected_current(stream)
    )


def sort(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return sorted(rows, key=lambda r: str(r["id"]))


# --- a failed query (Stubber) ------------------------------------------------------------------

REASON = "line 3:5: Column 'region_c' cannot be resolved\n\tat io.trino.sql.analyzer (x)"


def failing_athena(client: Any, config: dict[str, Any], state: str = "FAILED") -> Stubber:
    """A Stubber on an Athena client: the query starts, then ends in ``state``."""
    stub = Stubber(client)
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q-0001"},
        {
            "QueryString": ANY,  # the view's text
            "WorkGroup": config["workgroup"],
            "QueryExecutionContext": {"Database": config["schema"]},
            "ResultConfiguration": {
                "OutputLocation": f"s3://{config['bucket']}/lake_results/athena_output/"
            },
        },
    )
    stub.add_response(
        "get_query_execution",
        {"QueryExecution": {"QueryExecutionId": "q-0001", "Status": {"State": "RUNNING"}}},
        {"QueryExecutionId": "q-0001"},
    )
    stub.add_response(
        "get_query_execution",
        {
            "QueryExecution": {
                "QueryExecutionId": "q-0001",
                "Status": {"State": state, "StateChangeReason": REASON},
            }
        },
        {"QueryExecutionId": "q-0001"},
    )
    return stub


def test_a_failed_query_is_one_line_with_athenas_reason(aws: Aws, config: dict[str, Any]) -> None:
    client = boto3.client("athena", region_name=REGION)
    output = f"s3://{config['bucket']}/lake_results/athena_output/"
    athena = Athena(client, config["workgroup"], output, sleep=lambda _: None)
    glue = aws("glue")
    glue.create_database(DatabaseInput={"Name": config["schema"]})
    catalog = GlueCatalog(glue, athena=athena)
    definition = TableDefinition(
        config["schema"],
        "account",
        f"s3://{config['bucket']}/{config['schema']}/account/",
        pa.schema([("id", pa.string()), ("updated_date", pa.timestamp("ms", tz="UTC"))]),
        key_properties=("id",),
    )
    catalog.apply_table(definition)
    with failing_athena(client, config) as stub, pytest.raises(CatalogError) as raised:
        catalog.publish()
    stub.assert_no_pending_responses()
    message = str(raised.value)
    assert "\n" not in message
    assert "Column 'region_c' cannot be resolved at io.trino.sql.analyzer (x)" in message
    assert f"CREATE OR REPLACE VIEW {config['schema']}.account_current failed" in message
    assert config["workgroup"] in message and "q-0001" in message
    table = glue.get_table(DatabaseName=config["schema"], Name="account")["Table"]
    assert VIEW_MARKER not in table["Parameters"]  # not made: tried again at the next run


def test_a_query_still_running_after_the_wait_fails_the_run() -> None:
    client = boto3.client("athena", region_name=REGION)
    athena = Athena(client, "primary", "s3://b/zuora/athena_output/", wait_seconds=0.0)
    with Stubber(client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-2"})
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"QueryExecutionId": "q-2", "Status": {"State": "QUEUED"}}},
        )
        with pytest.raises(CatalogError, match=r"still queued after 0 s in workgroup primary"):
            athena.run("CREATE OR REPLACE VIEW x AS SELECT 1", "CREATE OR REPLACE VIEW x")


def test_a_failed_view_ends_the_run_before_its_state(
    aws: Aws,
    config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = Clients.client
    stubs: list[Stubber] = []

    def client(self: Clients, service: str) -> Any:
        created = made(self, service)
        if service == "athena":
            stubs.append(failing_athena(created, config))
            stubs[-1].activate()
        return created

    monkeypatch.setattr(Clients, "client", client)
    target = TargetAthenaZuora(config=config)
    text = "".join(json.dumps(m) + "\n" for m in RUNS[0])
    with pytest.raises(CatalogError) as raised:
        target.run(io.StringIO(text))
    message = str(raised.value)
    assert "\n" not in message and "Column 'region_c' cannot be resolved" in message
    assert capsys.readouterr().out == ""  # no STATE: the catalog was not all applied
    assert len(stubs) == 1
    stubs[0].assert_no_pending_responses()


# --- --test and --print-iam-policy --------------------------------------------------------------


@pytest.mark.parametrize("current_views", [True, False], ids=["views", "no-views"])
def test_connection_test_runs_what_the_views_need(
    run_cli: RunCli, aws: Aws, config: dict[str, Any], current_views: bool
) -> None:
    result = run_cli([], config={**config, "current_views": current_views}, extra_args=["--test"])
    assert result.returncode == 0, result.stdout
    (athena_line,) = [line for line in result.stdout if "athena query" in line]
    (execution,) = queries(aws, config)
    probe = f"{config['schema']}.{PROBE_VIEW}"
    if current_views:
        assert execution["Query"].startswith(
            f'CREATE OR REPLACE VIEW "{config["schema"]}"."{PROBE_VIEW}" AS'
        )
        assert f"view {probe} created and dropped" in athena_line
    else:
        assert execution["Query"] == "SELECT 1"
        assert probe not in athena_line
    assert execution["WorkGroup"] == config["workgroup"]
    assert "lake_results/athena_output/" in athena_line


@pytest.mark.parametrize("current_views", [True, False], ids=["views", "no-views"])
def test_the_policy_lets_the_target_drop_only_current_views(current_views: bool) -> None:
    settings = Settings.from_config(
        {
            "bucket": "b",
            "schema": "zuora",
            "role_arn": "arn:aws:iam::123456789012:role/r",
            "region": REGION,
            "current_views": current_views,
        }
    )
    statements = {s["Sid"]: s for s in policy_documents(settings)["access_policy"]["Statement"]}
    listed = {a for s in statements.values() for a in s["Action"]}
    assert listed == used_actions(current_views=current_views)
    assert "glue:DeleteTable" not in statements["GlueCatalog"]["Action"]
    if not current_views:
        assert "CurrentViews" not in statements and "glue:DeleteTable" not in listed
        return
    views = statements["CurrentViews"]
    assert views["Action"] == ["glue:DeleteTable"]
    assert views["Resource"] == [
        f"arn:aws:glue:{REGION}:123456789012:catalog",
        f"arn:aws:glue:{REGION}:123456789012:database/zuora",
        f"arn:aws:glue:{REGION}:123456789012:table/zuora/*_current",
    ]
