"""What an open project carries: licences, a citation, a changelog, one version everywhere."""

import re
import tomllib
from pathlib import Path

import yaml

import catapult
from catapult.book.project import project

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_code_licence_matches_pyproject():
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]["text"] == "Apache-2.0"


def test_the_text_licence_and_the_footer_and_readme_name_both_licences():
    assert "CC BY 4.0" in (ROOT / "LICENSE-BOOK.md").read_text()
    footer = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["extra_footer"]
    readme = (ROOT / "README.md").read_text()
    for text in (footer, readme):
        assert "Apache License 2.0" in text and "CC BY 4.0" in text and "LICENSE-BOOK.md" in text
    assert "CITATION.cff" in footer and "CITATION.cff" in readme and "CHANGELOG.md" in readme


def test_the_citation_cites_the_book_and_both_papers_at_this_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and str(cff["version"]) == VERSION == catapult.__version__
    titles = [r["title"] for r in cff["references"]]
    assert any("catapult mechanism" in t for t in titles) and any("Large Learning Rates" in t for t in titles)
    for page in ("README.md", "book/intro.md"):
        assert "@software{catapult_book" in (ROOT / page).read_text() and f"version = {{{VERSION}}}" in (ROOT / page).read_text()


def test_the_changelog_has_this_version():
    assert f"## {VERSION} " in (ROOT / "CHANGELOG.md").read_text()


def test_the_repository_address_is_pyprojects_everywhere():
    """pyproject.toml's [project.urls] Repository is the one place the address is written: the
    build and the Colab cell read it; every other mention must agree with it."""
    proj = project(ROOT)
    owner, name = proj.owner_and_name.split("/")
    assert proj.site == f"https://{owner}.github.io/{name}"  # GitHub Pages of that repository
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert all(u.startswith((proj.repository, proj.site)) for u in urls.values()), urls
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["repository-code"] == proj.repository and cff["url"] == proj.site
    for page in ("README.md", "book/intro.md"):
        text = (ROOT / page).read_text()
        assert f"url     = {{{proj.repository}}}" in text, page
        mentioned = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text)) | set(
            re.findall(r"https://[\w-]+\.github\.io/[\w.-]+", text))
        assert mentioned <= {proj.repository, proj.site}, f"{page} names another address: {mentioned}"
    readme = (ROOT / "README.md").read_text()
    assert proj.site in readme and f"{proj.repository}/issues" in readme
