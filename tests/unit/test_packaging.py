"""What PyPI shows: license, metadata, and a long description whose links all resolve.

The build itself (sdist + wheel) and `twine check --strict` run in scripts/check-package,
which scripts/test runs in full mode (CI).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).parents[2]
# sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt (also Debian's
# /usr/share/common-licenses/Apache-2.0): the canonical text, appendix included.
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")


@functools.cache
def pyproject() -> dict[str, Any]:
    loaded: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    return loaded


def project() -> dict[str, Any]:
    found: dict[str, Any] = pyproject()["project"]
    return found


def repository() -> str:
    url: str = project()["urls"]["Repository"]
    return url


def long_description() -> str:
    """README.md through the fancy-pypi-readme substitutions, as the build applies them."""
    hook = pyproject()["tool"]["hatch"]["metadata"]["hooks"]["fancy-pypi-readme"]
    assert [f["path"] for f in hook["fragments"]] == ["README.md"]
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for substitution in hook["substitutions"]:
        text = re.sub(substitution["pattern"], substitution["replacement"], text)
    return text


def test_license_file_is_the_canonical_apache_2_text() -> None:
    license_file = REPO / "LICENSE"
    assert hashlib.sha256(license_file.read_bytes()).hexdigest() == APACHE_2_SHA256
    assert project()["license"] == "Apache-2.0"
    assert project()["license-files"] == ["LICENSE"]


def test_metadata_pypi_needs() -> None:
    assert project()["authors"]
    assert len(project()["keywords"]) >= 5
    assert "readme" in project()["dynamic"], "the long description comes from the hook"
    assert set(project()["urls"]) >= {"Homepage", "Repository", "Documentation", "Issues"}
    classifiers = project()["classifiers"]
    assert not [c for c in classifiers if c.startswith("License ::")], "PEP 639: use license"
    assert "Typing :: Typed" in classifiers
    assert (REPO / "target_athena_zuora" / "py.typed").exists()


def test_python_classifiers_match_what_about_reports() -> None:
    code = "from target_athena_zuora.target import TargetAthenaZuora as T; T.cli()"
    about = json.loads(
        subprocess.run(
            [sys.executable, "-c", code, "--about", "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    )
    prefix = "Programming Language :: Python :: 3."
    versions = [f"3.{c[len(prefix) :]}" for c in project()["classifiers"] if c.startswith(prefix)]
    assert versions == about["supported_python_versions"]


def test_one_project_url_everywhere() -> None:
    for url in project()["urls"].values():
        assert url.startswith(repository()), url
    hook = pyproject()["tool"]["hatch"]["metadata"]["hooks"]["fancy-pypi-readme"]
    for substitution in hook["substitutions"]:
        assert substitution["replacement"].split("](", 1)[1].startswith(repository())


def test_long_description_links_are_absolute_and_resolve_in_the_repo() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    relative = [t for _, t in MARKDOWN_LINK.findall(readme) if not t.startswith("http")]
    assert relative, "the README links docs/ and its own sections"
    for target in relative:
        path = target.split("#", 1)[0]
        assert not path or (REPO / path).exists(), f"README links {target}, which is missing"
    for _, target in MARKDOWN_LINK.findall(long_description()):
        assert target.startswith(("https://", "http://")), f"relative link on PyPI: {target}"
    assert f"]({repository()}/blob/main/docs/aws.md)" in long_description()
    assert f"]({repository()}#aws-destination)" in long_description()
