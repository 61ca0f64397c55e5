"""Every relative link in README.md, docs/ and notebooks/README.md points at a file or folder that
exists, and every #anchor at a heading of its Markdown page (GitHub's anchors). Web links are left
alone: tests never use the network. The front page stays a front page: at most 200 lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "notebooks" / "README.md"]
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, Markdown marks and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    for line in FENCE.sub("", page.read_text()).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
    return found


def links(page: Path) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", page.read_text()))
    return LINK.findall(text)


def broken(page: Path) -> list[str]:
    """The links of ``page`` that do not resolve, each with why."""
    problems = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, …
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert page.exists()
    assert broken(page) == []


def test_the_checker_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Title\n\n## Backends, threads and `devices`\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#backends-threads-and-devices) [web](https://example.org/x) "
                    "[gone](missing.md) [bad](other.md#nowhere) [self](#top)\n\n# Top\n\n"
                    "```\n[in code](nothing.md)\n```\n")
    assert broken(page) == ["missing.md: no such file", "other.md#nowhere: no heading #nowhere in other.md"]


def test_slugs_follow_github():
    assert slug("Quick budget (`dltp run tp1 --quick`, part of `make run`)") == \
        "quick-budget-dltp-run-tp1---quick-part-of-make-run"
    assert slug("TP4 — segmentation (U-Net) and 3D data") == "tp4--segmentation-u-net-and-3d-data"


def test_the_readme_is_a_front_page():
    """At most 200 lines, not counting the generated benchmark tables (bench:start … bench:end), which
    belong to the benchmark page."""
    text = (ROOT / "README.md").read_text()
    text = re.sub(r"<!-- bench:start -->.*?<!-- bench:end -->", "", text, flags=re.S)
    assert len(text.splitlines()) <= 200
