"""meltano.yml declares the loader's settings as the target's --about does, for Meltano 4.4.

Two checks: the file is what scripts/generate writes now (drift), and, independently of the
generator's code, every setting has the kind, default, options, sensitivity and description
that --about gives it.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed
from file_modules import import_file

REPO = Path(__file__).parents[2]
MELTANO_YML = REPO / "meltano.yml"
# JSON type -> Meltano 4.4 kind (meltano.core.setting_definition.SettingKind).
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "object": "object",
    "array": "array",
}
# SettingKind in Meltano 4.4, less the deprecated password/oauth/hidden.
MELTANO_KINDS = {
    "string",
    "integer",
    "boolean",
    "decimal",
    "date_iso8601",
    "email",
    "options",
    "file",
    "array",
    "object",
}


@functools.cache
def generator() -> ModuleType:
    """scripts/generate.py, imported from its path."""
    return import_file("generate", REPO / "scripts" / "generate.py")


@functools.cache
def expected_files() -> dict[Path, str]:
    files: dict[Path, str] = generator().expected()
    return files


@functools.cache
def project() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MELTANO_YML.read_text(encoding="utf-8"))
    return loaded


def plugin(kind: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in project()["plugins"][kind] if p["name"] == name)
    return found


@functools.cache
def about() -> dict[str, Any]:
    code = "from target_athena_zuora.target import TargetAthenaZuora as T; T.cli()"
    completed = subprocess.run(
        [sys.executable, "-c", code, "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded: dict[str, Any] = json.loads(completed.stdout)
    return loaded


def about_settings() -> dict[str, dict[str, Any]]:
    """--about's settings with objects of declared properties split per property (the Hub's
    convention: ``faker_config.seed``), ``stream_maps`` kept whole."""
    found: dict[str, dict[str, Any]] = {}
    for name, schema in about()["settings"]["properties"].items():
        nested = schema.get("properties")
        if nested and name != "stream_maps" and "object" in json_types(schema):
            found.update({f"{name}.{child}": s for child, s in nested.items()})
        else:
            found[name] = schema
    return found


def declared() -> dict[str, dict[str, Any]]:
    settings = plugin("loaders", "target-athena-zuora")["settings"]
    return {s["name"]: s for s in settings}


def json_types(schema: dict[str, Any]) -> list[str]:
    types = schema.get("type", [])
    found = [types] if isinstance(types, str) else list(types)
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(branch, dict):
            found += json_types(branch)
    return [t for t in dict.fromkeys(found) if t != "null"]


def test_meltano_yml_is_what_scripts_generate_writes() -> None:
    assert MELTANO_YML.read_text(encoding="utf-8") == expected_files()[MELTANO_YML], (
        "meltano.yml's generated block disagrees with --about: run scripts/generate"
    )


def test_every_setting_of_the_target_is_declared_in_its_order() -> None:
    assert list(declared()) == list(about_settings())


@pytest.mark.parametrize("name", sorted(declared()))
def test_setting_matches_about(name: str) -> None:
    setting, schema = declared()[name], about_settings()[name]
    assert setting["kind"] in MELTANO_KINDS, setting["kind"]
    assert setting.get("sensitive", False) is bool(schema.get("secret", False)), name
    assert setting.get("value") == schema.get("default"), "Meltano shows value as the default"
    assert setting.get("description") == schema.get("description")
    assert setting.get("label"), "a label for UIs and the Hub"
    if [v for v in schema.get("enum", []) if v is not None]:
        assert setting["kind"] == "options"
        assert [o["value"] for o in setting["options"]] == [v for v in schema["enum"] if v]
    elif len(json_types(schema)) == 1:
        assert setting["kind"] == KINDS[json_types(schema)[0]], name


def test_real_defaults_are_declared() -> None:
    """The defaults `meltano config list` printed as None before (issue #10)."""
    values = {name: s.get("value") for name, s in declared().items()}
    assert values["compression"] == "snappy"
    assert values["part_size_mb"] == 128
    assert values["workgroup"] == "primary"
    assert values["load_method"] == "append-only"


def test_loader_capabilities_and_commands() -> None:
    loader = plugin("loaders", "target-athena-zuora")
    assert loader["capabilities"] == about()["capabilities"]
    assert loader.get("settings_group_validation", []) == [], "nothing is required"
    commands = loader["commands"]
    assert set(commands) == {"test", "iam-policy", "rebuild-catalog", "about"}
    assert commands["rebuild-catalog"]["args"] == "--config ENV --rebuild-catalog"
    for command in commands.values():
        assert command["description"]


def test_generator_rewrites_only_the_loaders_generated_keys() -> None:
    """A stale setting is rewritten in place; the hand-written rest stays byte for byte."""
    text = MELTANO_YML.read_text(encoding="utf-8")
    stale = text.replace("      label: Part Size MB\n", "      label: Old Label\n", 1)
    stale = stale.replace("    - validate-records\n", "", 1)
    assert stale != text
    about_json = about()
    assert generator().with_generated_keys(stale, about_json) == text
    assert generator().with_generated_keys(text, about_json) is text


def test_a_meltano_rewrite_of_the_file_is_no_drift() -> None:
    """`meltano config set` rewrites meltano.yml in its own style (quotes, wrapping): the
    generator compares content, not text."""
    text = MELTANO_YML.read_text(encoding="utf-8")
    reflowed = text.replace(
        "      kind: options\n      value: snappy\n",
        "      kind: 'options'\n      value: 'snappy'\n",
    )
    assert reflowed != text
    assert generator().with_generated_keys(reflowed, about()) is reflowed


def test_demo_tap_keeps_state_and_needs_no_discovery() -> None:
    demo = plugin("extractors", "tap-zuora-sample")
    capabilities = set(demo.get("capabilities", []))
    assert "state" in capabilities, "Meltano passes --state only to taps declaring it"
    assert not {"catalog", "discover", "properties"} & capabilities
    assert demo["pip_url"] == "-e ./demo/tap-zuora-sample"


def test_no_meltano_3_config_syntax_left() -> None:
    """`meltano config <plugin> list|set` is Meltano 3; 4.4 says `meltano config list <plugin>`."""
    for path in [MELTANO_YML, REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for plugin_name in ("target-athena-zuora", "tap-zuora", "tap-zuora-sample"):
            for verb in ("list", "set", "unset", "print"):
                assert f"meltano config {plugin_name} {verb}" not in text, path


def test_loader_basics() -> None:
    loader = plugin("loaders", "target-athena-zuora")
    assert loader["namespace"] == "target_athena_zuora"
    assert loader["pip_url"] == "-e ."
    assert loader["config"] == {"local_path": "output", "schema": "zuora"}
    assert project()["default_environment"] == "dev"
    assert plugin("extractors", "tap-zuora")["pip_url"] == "tap-zuora==1.6.1"


def test_new_settings_need_only_a_rerun() -> None:
    """Settings the target gains later (flush timers, current_views, ...) land in meltano.yml
    and the Hub file from --about alone, with their kinds and defaults."""
    about_json = json.loads(json.dumps(about()))
    properties = about_json["settings"]["properties"]
    properties["flush_idle_seconds"] = {
        "type": ["number", "null"],
        "default": 30,
        "description": "Land and checkpoint after this long without input.",
    }
    properties["current_views"] = {"type": ["boolean", "null"], "default": True}
    text = MELTANO_YML.read_text(encoding="utf-8")
    updated = generator().with_generated_keys(text, about_json)
    loader = generator().loader(updated)
    added = {s["name"]: s for s in loader["settings"]}
    assert added["flush_idle_seconds"]["kind"] == "decimal"
    assert added["flush_idle_seconds"]["value"] == 30
    assert added["current_views"] == {
        "name": "current_views",
        "kind": "boolean",
        "value": True,
        "label": "Current Views",
    }
    assert generator().with_generated_keys(updated, about_json) is updated
    assert loader["commands"] == generator().loader(text)["commands"]
    hub = yaml.safe_load(generator().hub_definition(about_json, loader["commands"]))
    assert {s["name"] for s in hub["settings"]} >= {"flush_idle_seconds", "current_views"}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": ["string", "null"]}, "string"),
        ({"type": ["integer", "null"]}, "integer"),
        ({"type": ["number", "null"]}, "decimal"),
        ({"type": ["integer", "number", "null"]}, "decimal"),
        ({"type": "boolean"}, "boolean"),
        ({"type": ["object", "null"], "properties": {}}, "object"),
        ({"type": ["array", "null"], "items": {"type": "string"}}, "array"),
        ({"type": ["string", "null"], "format": "date-time"}, "date_iso8601"),
        ({"type": ["string", "null"], "enum": ["a", "b", None]}, "options"),
        ({"oneOf": [{"type": ["string"]}, {"type": "array"}, {"type": "null"}]}, "array"),
        ({"oneOf": [{"type": ["number"]}, {"type": ["string"]}, {"type": "null"}]}, "string"),
        ({}, "string"),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else v,
)
def test_json_schema_to_meltano_kind(schema: dict[str, Any], expected: str) -> None:
    assert generator().kind(schema) == expected
    assert expected in MELTANO_KINDS
