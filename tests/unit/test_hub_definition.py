"""The Meltano Hub definition of the loader: generated from --about, valid for the Hub.

The Hub validates definitions against its JSON schemas (meltano/hub, schemas/
plugin_definitions/loaders.schema.json and schemas/common/*); the keys, kinds,
capabilities and enums they allow are restated here (as of the Hub's schemas of 2026-08).
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs installed
from file_modules import import_file

REPO = Path(__file__).parents[2]
HUB = REPO / "meltano-hub" / "loaders" / "target-athena-zuora" / "target-athena-zuora.yml"

HUB_KEYS = {
    "capabilities", "name", "pip_url", "variant", "description", "executable", "repo",
    "namespace", "logo_url", "label", "settings", "docs", "python",
    "settings_group_validation", "commands", "dialect", "target_schema", "hidden", "requires",
    "maintenance_status", "quality", "domain_url", "keywords", "definition", "next_steps",
    "settings_preamble", "usage", "prereq", "supported_python_versions", "log_parser",
}  # fmt: skip
HUB_REQUIRED = {"name", "namespace", "variant", "quality"}
SETTING_KEYS = {
    "name", "aliases", "label", "value", "placeholder", "kind", "description", "tooltip",
    "documentation", "env", "value_processor", "value_post_processor", "oauth", "options",
    "docs", "hidden", "sensitive",
}  # fmt: skip
HUB_KINDS = {
    "oauth", "hidden", "password", "date_iso8601", "file", "email", "integer", "options",
    "object", "array", "boolean", "string", "decimal",
}  # fmt: skip
LOADER_CAPABILITIES = {
    "about", "stream-maps", "activate-version", "batch", "soft-delete", "hard-delete",
    "datatype-failsafe", "schema-flattening", "target-schema", "validate-records",
    "structured-logging",
}  # fmt: skip
MAINTENANCE = {"active", "beta", "development", "inactive", "unknown"}
QUALITY = {"gold", "silver", "bronze", "unknown"}


@functools.cache
def generator() -> ModuleType:
    """scripts/generate.py, imported from its path."""
    return import_file("generate", REPO / "scripts" / "generate.py")


@functools.cache
def hub() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(HUB.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def pyproject() -> dict[str, Any]:
    loaded: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    project: dict[str, Any] = loaded["project"]
    return project


def loader_in_meltano_yml() -> dict[str, Any]:
    project = yaml.safe_load((REPO / "meltano.yml").read_text(encoding="utf-8"))
    found: dict[str, Any] = next(
        p for p in project["plugins"]["loaders"] if p["name"] == "target-athena-zuora"
    )
    return found


def test_hub_file_is_what_scripts_generate_writes() -> None:
    assert HUB.read_text(encoding="utf-8") == generator().expected()[HUB], (
        "the Hub definition disagrees with --about: run scripts/generate"
    )


def test_hub_layout_is_name_folder_and_variant_file() -> None:
    assert HUB.parent.name == hub()["name"]
    assert HUB.stem == hub()["variant"]


def test_keys_are_the_hubs() -> None:
    assert set(hub()) <= HUB_KEYS, set(hub()) - HUB_KEYS
    assert set(hub()) >= HUB_REQUIRED
    wanted = {"pip_url", "executable", "capabilities", "settings", "settings_group_validation"}
    wanted |= {"keywords", "description", "repo", "domain_url", "label"}
    assert set(hub()) >= wanted
    assert hub()["maintenance_status"] in MAINTENANCE
    assert hub()["quality"] in QUALITY
    assert set(hub()["capabilities"]) <= LOADER_CAPABILITIES
    assert "meltano_sdk" in hub()["keywords"]
    assert list(hub()) == sorted(hub()), "keys sorted, as the Hub's files"


def test_settings_are_the_hubs_shape() -> None:
    for setting in hub()["settings"]:
        assert set(setting) <= SETTING_KEYS, setting
        assert setting["kind"] in HUB_KINDS - {"password", "oauth", "hidden"}, setting
        for option in setting.get("options", []):
            assert set(option) == {"label", "value"}
            assert isinstance(option["value"], str)
    names = {s["name"] for s in hub()["settings"]}
    for group in hub()["settings_group_validation"]:
        assert set(group) <= names


def test_settings_equal_meltano_yml_loader() -> None:
    assert hub()["settings"] == [
        dict(sorted(s.items())) for s in loader_in_meltano_yml()["settings"]
    ]
    assert hub()["capabilities"] == loader_in_meltano_yml()["capabilities"]
    assert hub()["commands"] == loader_in_meltano_yml()["commands"]
    assert hub()["settings_group_validation"] == []
    assert loader_in_meltano_yml().get("settings_group_validation", []) == []


def test_package_facts_come_from_pyproject() -> None:
    assert hub()["pip_url"] == pyproject()["name"]
    assert hub()["executable"] in pyproject()["scripts"]
    assert hub()["repo"] == pyproject()["urls"]["Repository"]
    assert hub()["namespace"] == hub()["name"].replace("-", "_")
    assert hub()["log_parser"] == "singer-sdk"
    assert hub()["supported_python_versions"]
    assert hub()["domain_url"].startswith("https://")
