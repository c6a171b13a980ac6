"""The README's settings table is the one ``--about --format markdown`` prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _about_table() -> str:
    about = subprocess.run(
        [
            sys.executable,
            "-c",
            "from target_athena_zuora.target import TargetAthenaZuora as T;"
            " T.cli(['--about', '--format', 'markdown'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return about[about.index("| Setting |") :].split("\n\n")[0].strip()


def test_readme_settings_match_about() -> None:
    match = re.search(
        r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", README.read_text(), re.S
    )
    assert match, "README.md lost its settings markers"
    assert match.group(1).strip() == _about_table(), "run scripts/update-readme"


def test_about_lists_every_setting_and_marks_secrets() -> None:
    table = _about_table()
    for name in (
        "local_path",
        "schema",
        "compression",
        "timestamp_precision",
        "number_type",
        "bucket",
        "region",
        "database",
        "workgroup",
        "auth_method",
        "role_arn",
        "external_id",
        "role_session_name",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "endpoint_url",
        "sse",
        "partition_projection",
        "batch_size_rows",
        "validate_records",
    ):
        assert f"| {name} |" in table, name
    about_json = subprocess.run(
        [
            sys.executable,
            "-c",
            "from target_athena_zuora.target import TargetAthenaZuora as T;"
            " T.cli(['--about', '--format', 'json'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    properties = json.loads(about_json)["settings"]["properties"]
    for secret in (
        "external_id",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    ):
        assert properties[secret].get("secret") is True, secret
