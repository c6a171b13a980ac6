"""Regenerate everything printed from the target's ``--about``; run it after changing a setting.

    scripts/generate            # rewrite the three places below
    scripts/generate --check    # change nothing; exit 1 naming what is out of date

- README.md, between ``<!-- settings:start -->`` and ``<!-- settings:end -->``: the table of
  ``--about --format markdown``.
- meltano.yml, the loader's ``capabilities`` and ``settings`` blocks, found by indentation
  and rewritten only when their content differs from ``--about`` (Meltano rewrites
  meltano.yml in its own style on ``meltano config set``: that alone is no drift); the rest of
  the file (``commands``, ``config``, the extractors, comments) is written by hand.
- The Meltano Hub definition of the loader (``HUB_FILE``), the whole file: the same
  settings, the loader's ``commands`` from meltano.yml, and package facts from pyproject.toml.

Settings come from ``--about --format json`` alone, so a setting added to the target needs
nothing here. JSON Schema -> Meltano 4.4 ``kind``: enum -> ``options`` (each value its own
label), string -> ``string`` (``date_iso8601`` with format date/date-time), integer ->
``integer``, number -> ``decimal``, boolean -> ``boolean``, object -> ``object``, array ->
``array``; several types: ``array`` or ``object`` when one of them, else ``string``.
``secret``/``writeOnly`` -> ``sensitive: true`` (kind stays ``string``: ``password`` is
deprecated). ``default`` -> ``value`` (what ``meltano config list`` shows as the default).
``title`` -> ``label`` (else one made from the name). An object setting with declared
properties becomes one setting per property (``faker_config.seed``), as Meltano Hub's own
generator does, except ``stream_maps`` (free-form).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs installed

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MELTANO_YML = REPO / "meltano.yml"
PYPROJECT = REPO / "pyproject.toml"
LOADER = "target-athena-zuora"
VARIANT = "target-athena-zuora"  # Hub variants are named after the repository's owner
HUB_FILE = REPO / "meltano-hub" / "loaders" / LOADER / f"{VARIANT}.yml"

TABLE_START, TABLE_END = "<!-- settings:start -->", "<!-- settings:end -->"
# Meltano's own order of a setting's keys (meltano.core.setting_definition), so that its
# rewrites of meltano.yml leave the generated settings as they are.
MELTANO_KEY_ORDER = ("name", "kind", "value", "label", "description", "options", "sensitive")

# Hub facts that --about and pyproject.toml do not hold.
HUB_STATIC: dict[str, Any] = {
    "label": "Athena (Zuora Connector layout)",
    "description": "Zuora (or any tap) to Parquet in S3 with Glue tables for Athena, "
    "in the Zuora Connector for AWS Athena layout; locally with a DuckDB catalog",
    "domain_url": "https://aws.amazon.com/athena/",
    "logo_url": "/assets/logos/loaders/athena.png",
    "keywords": ["meltano_sdk", "file", "athena", "zuora"],
    "maintenance_status": "development",
    "quality": "unknown",
    # Nothing is required: with no setting at all the target lands in ./output with a
    # DuckDB catalog. No group says so: Meltano 4.4 reads the groups only to print
    # `meltano config list`, where [[]] prints an empty "Required settings:" line, and the
    # Hub's own generator (hub-utils) writes [] when the --about schema requires nothing.
    # (meltano.yml leaves the key out: Meltano drops an empty list when it rewrites the file.)
    "settings_group_validation": [],
}

_ACRONYMS = {"aws": "AWS", "arn": "ARN", "id": "ID", "mb": "MB", "kms": "KMS", "sse": "SSE"}
_ACRONYMS |= {"url": "URL", "s3": "S3", "iam": "IAM", "sdk": "SDK"}
_ABOUT_CODE = "from target_athena_zuora.target import TargetAthenaZuora as T; T.cli()"


# -- --about ---------------------------------------------------------------------------------


def about(fmt: str) -> str:
    """``target-athena-zuora --about --format <fmt>`` from the package this Python imports."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-c", _ABOUT_CODE, "--about", "--format", fmt],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return completed.stdout


def readme_table(about_markdown: str) -> str:
    """The settings table of ``--about --format markdown``."""
    table = about_markdown[about_markdown.index("| Setting |") :]
    return table.split("\n\n", maxsplit=1)[0].strip()


# -- JSON Schema -> Meltano setting ----------------------------------------------------------


def _types(schema: Mapping[str, Any]) -> list[str]:
    """Non-null JSON types of ``schema``, from ``type`` and from ``anyOf``/``oneOf`` branches."""
    found: list[str] = []
    declared = schema.get("type", [])
    for name in [declared] if isinstance(declared, str) else declared:
        if name != "null" and name not in found:
            found.append(name)
    for branch in [*schema.get("anyOf", []), *schema.get("oneOf", [])]:
        if isinstance(branch, Mapping):
            found.extend(t for t in _types(branch) if t not in found)
    return found


def kind(schema: Mapping[str, Any]) -> str:
    """The Meltano 4.4 setting kind for a JSON Schema property (see the module docstring)."""
    if [v for v in schema.get("enum", []) if v is not None]:
        return "options"
    types = _types(schema)
    if len(types) > 1:
        if set(types) == {"integer", "number"}:
            return "decimal"
        return next((t for t in ("array", "object") if t in types), "string")
    single = types[0] if types else "string"
    if single == "string" and schema.get("format") in ("date", "date-time"):
        return "date_iso8601"
    return {"number": "decimal"}.get(single, single)


def label(name: str) -> str:
    """``part_size_mb`` -> ``Part Size MB``, ``faker_config.seed`` -> ``Faker Config Seed``."""
    words = re.split(r"[_.\-]+", name)
    return " ".join(_ACRONYMS.get(w, w.capitalize()) for w in words if w)


def _flattened(properties: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, schema in properties.items():
        nested = schema.get("properties")
        if "object" in _types(schema) and nested and name != "stream_maps":
            yield from _flattened(nested, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", schema


def setting(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """One Meltano setting definition, keys in Meltano's order (``MELTANO_KEY_ORDER``)."""
    found: dict[str, Any] = {"name": name, "kind": kind(schema)}
    if schema.get("default") is not None:
        found["value"] = schema["default"]
    found["label"] = schema.get("title") or label(name)
    if schema.get("description"):
        found["description"] = schema["description"]
    if found["kind"] == "options":
        values = [v for v in schema["enum"] if v is not None]
        found["options"] = [{"label": str(v), "value": v} for v in values]
    if schema.get("secret") or schema.get("writeOnly"):
        found["sensitive"] = True
    return found


def settings(about_json: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every setting of ``--about --format json``, in its order."""
    return [setting(n, s) for n, s in _flattened(about_json["settings"]["properties"])]


# -- meltano.yml -----------------------------------------------------------------------------


_SINGLE_QUOTED = re.compile(r"^(\s*(?:- )?[\w.-]+: )'(.*)'$")


def _yaml(data: Any, *, sort_keys: bool, width: int = 92) -> str:
    text: str = yaml.safe_dump(
        data, sort_keys=sort_keys, allow_unicode=True, width=width, default_flow_style=False
    )
    return "".join(_double_quoted(line) for line in text.splitlines(keepends=True))


def _double_quoted(line: str) -> str:
    """``'It''s'`` as ``"It's"``, the quoting Meltano's YAML writer picks for such a value."""
    match = _SINGLE_QUOTED.match(line.rstrip("\n"))
    if not match or "''" not in match.group(2) or '"' in line or "\\" in line:
        return line
    value = match.group(2).replace("''", "'")
    return f'{match.group(1)}"{value}"\n'


def loader(meltano_text: str) -> dict[str, Any]:
    """The loader's entry in meltano.yml, parsed."""
    project = yaml.safe_load(meltano_text)
    found: dict[str, Any] = next(p for p in project["plugins"]["loaders"] if p["name"] == LOADER)
    return found


def generated_keys(about_json: Mapping[str, Any]) -> dict[str, Any]:
    """The loader's keys in meltano.yml that come from ``--about``."""
    return {"capabilities": about_json["capabilities"], "settings": settings(about_json)}


def _loader_span(lines: list[str]) -> tuple[int, int]:
    """Line range of the loader's item in meltano.yml: ``  - name: <LOADER>`` to the next item."""
    start = next(
        (i for i, line in enumerate(lines) if line.rstrip() == f"  - name: {LOADER}"), None
    )
    if start is None:
        raise SystemExit(f"meltano.yml: no '  - name: {LOADER}' item under plugins.loaders")
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) >= 4):  # noqa: PLR2004
        end += 1
    return start, end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _key_span(lines: list[str], key: str, start: int, end: int) -> tuple[int, int]:
    """Lines of ``    <key>:`` and its value (an indentless list at 4 spaces, or deeper)."""
    first = next((i for i in range(start, end) if lines[i].rstrip() == f"    {key}:"), None)
    if first is None:
        raise SystemExit(f"meltano.yml: the {LOADER} loader has no '{key}:' block to regenerate")
    last = first + 1
    while last < end:
        line = lines[last]
        inside = _indent(line) > 4 or line.startswith("    - ")  # noqa: PLR2004
        if line.strip() and not inside:
            break
        last += 1
    while last > first + 1 and not lines[last - 1].strip():
        last -= 1  # blank lines after the block stay where they are
    return first, last


def with_generated_keys(meltano_text: str, about_json: Mapping[str, Any]) -> str:
    """``meltano_text`` with the loader's generated keys rewritten, or as it is when their
    content already agrees with ``--about`` (whatever its layout)."""
    wanted = generated_keys(about_json)
    current = loader(meltano_text)
    if all(current.get(key) == value for key, value in wanted.items()):
        return meltano_text
    lines = meltano_text.splitlines(keepends=True)
    start, end = _loader_span(lines)
    for key, value in wanted.items():
        first, last = _key_span(lines, key, start, end)
        dumped = _yaml({key: value}, sort_keys=False, width=1_000_000)
        block = [f"    {line}\n" for line in dumped.splitlines()]
        lines[first:last] = block
        end += len(block) - (last - first)
    return "".join(lines)


def loader_commands(meltano_text: str) -> dict[str, Any]:
    """The hand-written ``commands`` of the loader in meltano.yml."""
    commands: dict[str, Any] = loader(meltano_text).get("commands", {})
    return commands


# -- the Hub definition ----------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """What pyproject.toml says about the package."""

    name: str
    executable: str
    repository: str


def package() -> Package:
    """Name, console script and repository URL from pyproject.toml."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    (executable,) = project["scripts"]
    return Package(project["name"], executable, project["urls"]["Repository"])


def hub_definition(about_json: Mapping[str, Any], commands: Mapping[str, Any]) -> str:
    """The Hub's ``_data/meltano/loaders/<name>/<variant>.yml``, keys sorted as the Hub's."""
    facts = package()
    definition: dict[str, Any] = {
        **HUB_STATIC,
        "name": LOADER,
        "namespace": LOADER.replace("-", "_"),
        "variant": VARIANT,
        "pip_url": facts.name,
        "executable": facts.executable,
        "repo": facts.repository,
        "capabilities": about_json["capabilities"],
        "supported_python_versions": about_json["supported_python_versions"],
        "log_parser": "singer-sdk",
        "commands": dict(commands),
        "settings": [dict(sorted(s.items())) for s in settings(about_json)],
    }
    header = (
        "# Meltano Hub definition of the loader, generated by scripts/generate from\n"
        "# `target-athena-zuora --about`, meltano.yml's commands and pyproject.toml.\n"
        "# Add it to a project: meltano add target-athena-zuora --from-ref <this file or its URL>\n"
    )
    return header + _yaml(definition, sort_keys=True)


# -- all three -------------------------------------------------------------------------------


def expected() -> dict[Path, str]:
    """What README.md, meltano.yml and the Hub file should hold, from ``--about`` now."""
    about_json = json.loads(about("json"))
    table = readme_table(about("markdown"))
    readme = README.read_text(encoding="utf-8")
    pattern = re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END)
    if not re.search(pattern, readme, flags=re.S):
        raise SystemExit(f"README.md lost its {TABLE_START} / {TABLE_END} markers")
    new_readme = re.sub(
        pattern, lambda _: f"{TABLE_START}\n{table}\n{TABLE_END}", readme, flags=re.S
    )
    meltano = MELTANO_YML.read_text(encoding="utf-8")
    new_meltano = with_generated_keys(meltano, about_json)
    hub = hub_definition(about_json, loader_commands(new_meltano))
    return {README: new_readme, MELTANO_YML: new_meltano, HUB_FILE: hub}


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the generated files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what is outdated")
    args = parser.parse_args(argv)
    stale = []
    for path, text in expected().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(REPO).as_posix())
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        sys.stderr.write(f"out of date (run scripts/generate): {', '.join(stale)}\n")
        return 1
    verb = "rewrote" if stale else "up to date:"
    sys.stdout.write(f"{verb} {', '.join(stale) or 'README.md, meltano.yml, Hub definition'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
