"""Docs whose figures come from records (bench/render_results.py runs all of this).

**Record blocks.** A figure in README.md or docs/**/*.md is written inside a block that names the
records it quotes and holds its own template (Jinja2, in the HTML comment, so a reader sees only the
rendered text):

    <!-- record tp1_fashion_mnist
    test accuracy **{{ test_accuracy|f('.4f') }}** after {{ epochs }} epochs ({{ link() }})
    -->
    test accuracy **0.8741** after 5 epochs ([`tp1_fashion_mnist`](../../bench/results/labs/tp1_fashion_mnist.json))
    <!-- end record -->

The names are records of bench/results/labs/ or bench/results/runs/ (a benchmark's record: its
``payload``). In the template, the first record's result keys are names of their own, every record's
result is its name, ``record``/``records[name]`` are the records themselves (commit, date, load
average, seconds); ``x|f(spec)`` formats with a format spec, ``ref(experiment, key)`` is the original
author's figure (dltp.references), ``link(name)`` a link to a record, ``figure(artifact, alt)`` a PNG
that the record copied to docs/figures/ (``bench/record.py --figures``), ``experiment(id)`` one
experiment's result in a record of several (``dltp run all --json``). A block named ``references``
quotes only the original author's figures (``ref``), no record. A block whose record is missing,
or lacks a key or a figure, renders as a visible "not recorded yet" line, and is reported as a problem;
one whose record is dirty or stale (bench/_provenance.py) as "not measured at this commit", no figure.

**Figures typed by hand.** Outside code, every number that looks measured — a decimal number, or a
number with %, ×, a time, a size or a rate — must come from a block's template field. Numbers that are
not measured (a learning rate, a target, a split, a count that follows from an architecture) are
declared once per file:

    <!-- settings (numbers that are set or follow from a definition, not measured)
    lr 0.001
    ≥ 0.90
    -->

each line after the first a phrase of the file that holds such numbers. A figure neither rendered nor declared fails
the check, as does an original-author figure typed instead of taken from ``ref``, and a declared
phrase that no longer occurs.

**Links.** Relative links and anchors of the docs must resolve (GitHub's heading anchors); images must
exist and be listed by a record's ``figures``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DIRS = (RESULTS / "labs", RESULTS / "runs")

BLOCK = re.compile(r"<!-- record (?P<names>[\w\- ]+?)\n(?P<template>.*?)-->\n(?P<rendered>.*?)<!-- end record -->",
                   re.S)
SETTINGS = re.compile(r"<!-- settings[^\n]*\n(.*?)-->", re.S)
GENERATED = re.compile(r"<!-- (results|bench):start -->.*?<!-- \1:end -->", re.S)
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
COMMENT = re.compile(r"<!--.*?-->", re.S)
CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
UNIT = r"(?:ms|s|min|h|MB|GB|KB|kB|MiB|GiB|ppm|samples/s|images/s|volumes/s|req/s|GFLOP/s|MFLOP)"
NUMBER = r"[−+-]?(?:\d{1,3}(?:,\d{3})+|\d+)"
FIGURE = re.compile(rf"(?<![\w.,/])(?:{NUMBER}(?:\.\d+)?(?:[  ]?(?:%|×(?![  ]?\d))|[  ]{UNIT}(?![\w/]))"
                    rf"|{NUMBER}\.\d+(?![\d.])|×[  ]?\d+(?:\.\d+)?)")
LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)


# what a block, a row or a benchmark shows instead of a record it refuses; stable, so the docs do not
# change with every commit that leaves the record stale (`--check` lists the reasons)
NOT_AT_THIS_COMMIT = "not measured at this commit (its record is stale: `make records-check`)"
NOT_AT_THIS_COMMIT_LEAD = NOT_AT_THIS_COMMIT[0].upper() + NOT_AT_THIS_COMMIT[1:]  # at a sentence's start


class RecordError(Exception):
    """A record, a key or a template that a renderer needs is missing or wrong."""


@dataclass
class Records:
    """The records of bench/results/{labs,runs}/, read once; ``problems`` gathers why a block could not
    be rendered from them."""

    dirs: tuple[Path, ...] = DIRS
    root: Path = ROOT  # where a record's figure paths start
    cache: dict = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (record, why)
    used: set = field(default_factory=set)
    # refuse a record that is dirty or stale (bench/_provenance.py): its blocks say so, with no figure
    strict: bool = True
    refused: dict = field(default_factory=dict)  # record -> why

    def path(self, name: str) -> Path | None:
        return next((d / f"{name}.json" for d in self.dirs if (d / f"{name}.json").exists()), None)

    def get(self, name: str) -> dict | None:
        self.used.add(name)
        if name not in self.cache:
            path = self.path(name)
            record = json.loads(path.read_text()) if path else None
            if record is not None and self.strict:
                why = stale(record, self.root)
                if why:
                    self.refused[name], record = why, None
            self.cache[name] = record
        return self.cache[name]

    def all(self) -> dict[str, dict]:
        return {p.stem: self.get(p.stem) for d in self.dirs if d.is_dir() for p in sorted(d.glob("*.json"))}


def stale(record: dict, root: Path = ROOT) -> list[str]:
    """Why ``record`` cannot be quoted at this commit (empty when it can): bench/_provenance.py."""
    import _provenance

    return _provenance.problems(record, root)


def result(record: dict):
    """A lab record's ``result``, a benchmark record's ``payload``."""
    return record.get("result", record.get("payload"))


def _format(value, spec: str = "") -> str:
    if value is None:
        raise RecordError("a figure is missing (None)")
    return format(value, spec)


def _env():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True, autoescape=False)
    env.filters["f"] = _format
    return env


def reference(experiment: str, key: str) -> float:
    """The original author's figure (dltp.references)."""
    sys.path.insert(0, str(ROOT / "src"))
    from dltp.references import QUOTED_ONLY, REFERENCES

    for ref in [*REFERENCES.get(experiment, []), *QUOTED_ONLY.get(experiment, [])]:
        if ref.key == key:
            return ref.value
    raise RecordError(f"dltp.references has no {experiment} {key}")


def pending(names: list[str], why: str | None) -> str:
    """The line of a block its records cannot give: ``why`` it is not recorded, or None when its record
    is refused as stale."""
    lead = NOT_AT_THIS_COMMIT_LEAD if why is None else f"Not recorded yet ({why})"
    return f"*{lead}: `make records ONLY=\"{' '.join(names)}\"` (bench/records.toml).*\n"


def render_block(names: list[str], template: str, doc: Path, records: Records) -> str:
    """The text of one block, from its records (a visible "not recorded yet" line when they cannot give it)."""
    from jinja2 import TemplateSyntaxError, UndefinedError

    where = f"{doc.relative_to(ROOT) if doc.is_relative_to(ROOT) else doc}: block {' '.join(names)}"
    if names == ["references"]:  # the original author's figures only: no record
        try:
            return _env().from_string(template).render({"ref": reference})
        except TemplateSyntaxError as error:
            raise RecordError(f"{where}: template error line {error.lineno}: {error.message}") from None
    found = {name: records.get(name) for name in names}
    missing = [name for name, r in found.items() if r is None]
    if missing:
        records.problems += [(name, f"{where}: no record {name}") for name in missing if name not in records.refused]
        refused = [name for name in missing if name in records.refused]
        if refused:
            return pending(missing, None)
        return pending(missing, "no record")
    wanting: list[tuple[str, str]] = []

    def relative(path: Path) -> str:
        return os.path.relpath(path, doc.parent).replace(os.sep, "/")

    def link(name: str | None = None) -> str:
        name = name or names[0]
        return f"[`{name}`]({relative(records.path(name))})"

    def figure(artifact: str, alt: str = "", name: str | None = None) -> str:
        name = name or names[0]
        for entry in found.get(name, records.get(name) or {}).get("figures", []):
            if artifact in (entry["artifact"], Path(entry["file"]).name):
                return f"![{alt or artifact}]({relative(records.root / entry['file'])})"
        wanting.append((name, f"the figure {artifact} is not in the record {name} (bench/record.py --figures)"))
        return f"*(Figure not recorded yet: `{artifact}` of `{name}`.)*"

    results = {name: result(r) for name, r in found.items()}

    def experiment(unit: str, name: str | None = None) -> dict:
        """One experiment's result in a record of several (``dltp run all --json``: its ``results``)."""
        for item in (results[name or names[0]] or {}).get("results", []):
            if item.get("experiment") == unit:
                return item
        raise RecordError(f"no experiment {unit} in the record {name or names[0]}")

    first = results[names[0]]
    namespace = {**(first if isinstance(first, dict) else {}), **results, "record": found[names[0]],
                 "records": found, "ref": reference, "link": link, "figure": figure, "experiment": experiment}
    try:
        text = _env().from_string(template).render(namespace)
    except TemplateSyntaxError as error:
        raise RecordError(f"{where}: template error line {error.lineno}: {error.message}") from None
    except (UndefinedError, RecordError, KeyError, IndexError, TypeError, ValueError) as error:
        records.problems.append((names[0], f"{where}: {error}"))
        return pending(names, f"{type(error).__name__}: {error}")
    records.problems += [(name, f"{where}: {why}") for name, why in wanting]
    return text


def render(text: str, doc: Path, records: Records) -> str:
    """``text`` with every record block re-rendered."""
    def one(match: re.Match) -> str:
        names = match["names"].split()
        rendered = render_block(names, match["template"], doc, records)
        return f"<!-- record {match['names']}\n{match['template']}-->\n{rendered}<!-- end record -->"

    return BLOCK.sub(one, text)


def _blank(match: re.Match) -> str:
    return "\n" * match.group(0).count("\n")


def hand_typed(text: str) -> list[tuple[int, str, str]]:
    """(line, figure, the line) for every figure of ``text`` that is neither a template field of a record
    block nor a declared setting, an original-author figure typed by hand, and every declared setting
    that no longer occurs."""
    settings = [p.strip() for m in SETTINGS.finditer(text) for p in m.group(1).splitlines() if p.strip()]

    def template_only(match: re.Match) -> str:  # a block's template is scanned, what it rendered is not
        template = JINJA.sub(lambda j: "\n" * j.group(0).count("\n") or " ", match["template"])
        return "\n" + template + "\n" + "\n" * match["rendered"].count("\n")

    scanned = BLOCK.sub(template_only, text)
    scanned = GENERATED.sub(_blank, scanned)
    scanned = FENCE.sub(_blank, scanned)
    scanned = COMMENT.sub(_blank, scanned)
    scanned = CODE.sub(lambda m: " " + "\n" * m.group(0).count("\n"), scanned)
    scanned = re.sub(r"\]\([^)]*\)", "]", scanned)
    authors = _reference_strings()
    found, used = [], set()
    for number, line in enumerate(scanned.splitlines(), 1):
        allowed = []
        for phrase in settings:
            for m in re.finditer(re.escape(phrase), line):
                allowed.append((m.start(), m.end()))
                used.add(phrase)
        for m in FIGURE.finditer(line):
            bare = m.group(0).strip("−+- ")
            if bare in authors:
                found.append((number, m.group(0), "an original-author figure typed by hand: use ref(...)"))
            elif not any(a <= m.start() and m.end() <= b for a, b in allowed):
                found.append((number, m.group(0), line.strip()))
    found += [(0, phrase, "declared in <!-- settings --> but no longer in the file") for phrase in settings
              if phrase not in used]
    return found


def _reference_strings() -> set[str]:
    sys.path.insert(0, str(ROOT / "src"))
    from dltp.references import QUOTED_ONLY, REFERENCES

    values = [r.value for table in (REFERENCES, QUOTED_ONLY) for refs in table.values() for r in refs
              if isinstance(r.value, float)]
    return {f"{v:.4f}" for v in values} | {f"{v:.4f}".rstrip("0") for v in values}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a Markdown file offers: its headings' slugs (repeated ones get -1, -2, …) and ids."""
    seen: dict[str, int] = {}
    found = set()
    for match in HEADING.finditer(FENCE.sub(_blank, text)):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    found |= set(re.findall(r"""<a\s+(?:name|id)=["']([^"']+)["']""", text))
    return found


def links(text: str, doc: Path) -> list[tuple[str, str, bool]]:
    """(target, why it does not resolve, is an image) for every relative link or image of ``text``."""
    scanned = CODE.sub(" ", FENCE.sub(_blank, COMMENT.sub(_blank, text)))
    broken = []
    for image, _, target in LINK.findall(scanned):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        if not path.exists():
            broken.append((target, "no such file", bool(image)))
        elif anchor and path.suffix == ".md" and anchor not in anchors(path.read_text()):
            broken.append((target, f"no heading #{anchor} in {path.name}", bool(image)))
    return broken


def images(text: str, doc: Path) -> list[Path]:
    """The local images ``text`` embeds."""
    scanned = CODE.sub(" ", FENCE.sub(_blank, COMMENT.sub(_blank, text)))
    return [(doc.parent / target).resolve() for image, _, target in LINK.findall(scanned)
            if image and not re.match(r"[a-z][a-z0-9+.-]*:", target, re.I)]
