"""Every figure of README.md and docs/**/*.md comes from a record: the docs say what their records say
(bench/render_results.py regenerates them), no figure is typed by hand, every relative link and anchor
resolves, and every image is one a record copied. The machinery is checked on small made-up docs."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import _docs  # noqa: E402
import render_results  # noqa: E402
from _docs import Records  # noqa: E402


def test_the_docs_say_what_their_records_say_with_no_figure_typed_by_hand_and_no_broken_link():
    problems = render_results.check_text()
    assert not problems, ("README.md and docs/ disagree with their records (python bench/render_results.py "
                          "--allow-stale rewrites them from the records as they are):\n" + "\n".join(problems))


def test_the_benchmark_tables_live_in_docs_and_the_readme_links_to_them():
    readme = (ROOT / "README.md").read_text()
    assert render_results.BENCH_START not in readme and "(docs/benchmarks.md)" in readme
    assert render_results.BENCH_START in (ROOT / "docs" / "benchmarks.md").read_text()


def test_each_lab_page_shows_figures_of_a_recorded_run():
    for page in sorted((ROOT / "docs" / "labs").glob("*.md")):
        assert "{{ figure(" in page.read_text(), f"{page.name} shows no figure of a recorded run"


def test_the_original_authors_figures_come_from_dltp_references():
    text = (ROOT / "bench" / "render_results.py").read_text()
    for value in ("0.9781", "0.9828", "0.9937", "0.081"):
        assert value not in text
    assert "0.9781 on MNIST" in (ROOT / "README.md").read_text()  # rendered from dltp.references


def write(folder: Path, name: str, **record) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(record))


@pytest.fixture
def site(tmp_path):
    labs = tmp_path / "labs"
    write(labs, "lab", command="dltp run lab --json", commit="abc1234def", result={
        "accuracy": 0.87654, "runs": [{"name": "a", "loss": 0.5}, {"name": "b", "loss": 0.25}]},
          figures=[{"file": "docs/figures/lab/curves.png", "artifact": "curves.png"}])
    write(labs, "suite", command="dltp run all --json", commit="abc1234def",
          result={"results": [{"experiment": "x", "seconds": 1.5}]})
    doc = tmp_path / "docs" / "page.md"
    doc.parent.mkdir()
    return Records(dirs=(labs,), root=tmp_path, strict=False), doc


def block(names: str, template: str, rendered: str = "old\n") -> str:
    return f"<!-- record {names}\n{template}-->\n{rendered}<!-- end record -->"


def test_a_block_renders_its_template_from_its_records(site):
    records, doc = site
    template = ("accuracy **{{ accuracy|f('.3f') }}**, author {{ ref('tp1', 'test_accuracy')|f('.4f') }}, "
                "{{ experiment('x', 'suite').seconds|f('.1f') }} s ({{ link() }})\n"
                "{% for r in runs %}| {{ r.name }} | {{ r.loss|f('.2f') }} |\n{% endfor %}")
    text = "# Page\n\n" + block("lab suite", template) + "\nafter\n"
    rendered = _docs.render(text, doc, records)
    assert ("-->\naccuracy **0.877**, author 0.9781, 1.5 s ([`lab`](../labs/lab.json))\n"
            "| a | 0.50 |\n| b | 0.25 |\n<!-- end record -->\nafter\n") in rendered
    assert records.problems == []
    assert _docs.render(rendered, doc, Records(dirs=records.dirs, root=records.root, strict=False)) == rendered


def test_a_block_without_its_record_key_or_figure_says_so_and_reports_it(site):
    records, doc = site
    assert "Not recorded yet" in _docs.render(block("missing", "{{ accuracy }}\n"), doc, records)
    assert "Not recorded yet" in _docs.render(block("lab", "{{ precision }}\n"), doc, records)
    figure = _docs.render(block("lab", "{{ figure('curves.png', 'the curves') }}\n{{ figure('cm.png') }}\n"),
                          doc, records)
    assert "![the curves](figures/lab/curves.png)" in figure and "Figure not recorded yet: `cm.png`" in figure
    assert [name for name, _ in records.problems] == ["missing", "lab", "lab"]
    assert "precision" in records.problems[1][1] and "cm.png" in records.problems[2][1]
    with pytest.raises(_docs.RecordError, match="template error"):
        _docs.render(block("lab", "{% for %}\n"), doc, records)


def test_a_figure_typed_by_hand_is_found_unless_rendered_or_declared():
    text = "\n".join([
        "# Page",
        "<!-- settings (not measured)",
        "lr 0.001",
        "≥ 0.90",
        "no longer here 0.5",
        "-->",
        "Adam with lr 0.001 reaches a target of ≥ 0.90, trained for 28×28 images in `0.25 s` code.",
        "The run took 12.5 s, reached 0.8741 and was 2.1× faster, 37 % of the time, 1.8 cores busy.",
        block("lab", "accuracy {{ accuracy|f('.4f') }} in 3.5 s\n", "accuracy 0.8765 in 3.5 s\n"),
        "The author's 0.9781 typed by hand.",
        "```\n0.1234 in a code block\n```",
    ])
    found = {(line, figure) for line, figure, _ in _docs.hand_typed(text)}
    assert found == {(8, "12.5 s"), (8, "0.8741"), (8, "2.1×"), (8, "37 %"), (8, "1.8"), (10, "3.5 s"), (14, "0.9781"),
                     (0, "no longer here 0.5")}  # 3.5 s: typed in the template itself


def test_links_and_anchors_resolve_and_images_are_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## Results, measured — `here`\n\n"
                                       "## Results, measured — `here`\n")
    page = tmp_path / "page.md"
    text = ("See [other](other.md), [its results](other.md#results-measured--here), "
            "[again](other.md#results-measured--here-1), [self](#page), [web](https://example.com/x), "
            "[gone](missing.md), [bad anchor](other.md#nothing), "
            "`[code](nowhere.md)` and ![plot](figures/plot.png).\n")
    page.write_text("# Page\n\n" + text)
    broken = {(target, image) for target, _, image in _docs.links(page.read_text(), page)}
    assert broken == {("missing.md", False), ("other.md#nothing", False), ("figures/plot.png", True)}
    assert _docs.images(text, page) == [tmp_path / "figures" / "plot.png"]
    assert _docs.slug("Backends, threads and devices") == "backends-threads-and-devices"


def test_a_dirty_or_stale_record_is_refused_and_its_block_says_so(site):
    records, doc = site
    strict = Records(dirs=records.dirs, root=records.root)  # the site's records name no real commit
    text = _docs.render(block("lab", "accuracy {{ accuracy|f('.3f') }}\n"), doc, strict)
    assert "Not measured at this commit" in text and "0.877" not in text and "lab" in strict.refused
    assert "0.877" in _docs.render(block("lab", "accuracy {{ accuracy|f('.3f') }}\n"), doc, records)
