"""The README's results table is rendered from the committed records: a figure that differs from its
record fails the check, a row whose record or key is missing renders as "not recorded yet" and is reported,
and the original author's column comes from dltp.references (bench/render_results.py)."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import render_results  # noqa: E402
from render_results import RecordError, Row  # noqa: E402


def test_every_row_quotes_records_with_their_provenance_or_says_it_has_none():
    problems = []
    for row in render_results.ROWS:
        line = render_results.render_row(row, problems=problems)
        assert line.startswith(f"| {row.lab}") and all(f"[{name}](bench/results/labs/{name}.json)" in line
                                                       for name in row.records)
        if "not recorded yet" not in line and render_results._docs.NOT_AT_THIS_COMMIT not in line:
            for name in row.records:
                record = render_results.load_record(name)
                assert record["command"].startswith("dltp ") and record["commit"] and record["date"]
                assert record["machine"]["cores"] and "load_average_before" in record


def write_record(labs: Path, name: str, **result) -> None:
    labs.mkdir(parents=True, exist_ok=True)
    record = {"command": f"dltp run {name} --json", "load_average_before": [1.5, 1, 1], "result": result}
    (labs / f"{name}.json").write_text(json.dumps(record))


ROWS = [Row("TP9", ("tp9",), "accuracy **{accuracy:.3f}** after {epochs} epochs (load {load})",
            "{ref.tp1.test_accuracy:.4f} on MNIST"),
        Row("TP9", ("tp9", "tp9_other"), "{tp9_other.scores.1.value:.1f} and {twice:.1f}",
            derive=lambda results: {"twice": 2 * results["tp9"]["accuracy"]})]


@pytest.fixture
def project(tmp_path):
    labs = tmp_path / "labs"
    write_record(labs, "tp9", accuracy=0.87654, epochs=3)
    write_record(labs, "tp9_other", scores=[{"value": 1.0}, {"value": 2.25}])
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{render_results.START}\nold table\n{render_results.END}\n\nafter\n")
    return readme, labs


def check(readme, rows, labs) -> list[str]:
    """The README lines that differ from what the records give."""
    expected = render_results.render(rows, labs, strict=False).splitlines()
    actual = render_results.section(readme.read_text()).splitlines()
    return [line for line in actual if line not in expected] + [line for line in expected if line not in actual]


def write(readme, rows, labs) -> None:
    readme.write_text(render_results.replace_section(readme.read_text(), render_results.render(rows, labs, strict=False)))


def test_rendering_quotes_the_records_and_keeps_the_rest_of_the_readme(project):
    readme, labs = project
    assert check(readme, ROWS, labs)  # the old table disagrees
    write(readme, ROWS, labs)
    text = readme.read_text()
    link = "[tp9](bench/results/labs/tp9.json)"
    assert f"| TP9, `dltp run tp9` | accuracy **0.877** after 3 epochs (load 1.5) | 0.9781 on MNIST | {link} |" in text
    assert "| TP9, `dltp run tp9` / `dltp run tp9_other` | 2.2 and 1.8 | — |" in text
    assert text.startswith("# x\n\n<!-- results:start -->\n| lab") and text.endswith("<!-- results:end -->\n\nafter\n")
    assert check(readme, ROWS, labs) == []


def test_a_figure_edited_by_hand_or_a_changed_record_fails_the_check(project):
    readme, labs = project
    write(readme, ROWS, labs)
    readme.write_text(readme.read_text().replace("0.877", "0.900"))
    problems = check(readme, ROWS, labs)
    assert any("0.900" in p for p in problems) and any("0.877" in p for p in problems)

    write(readme, ROWS, labs)
    write_record(labs, "tp9", accuracy=0.5, epochs=3)  # re-measured: the README is stale
    assert check(readme, ROWS, labs)


def test_a_row_without_its_record_or_key_is_an_error_or_a_visible_gap(project):
    readme, labs = project
    (labs / "tp9_other.json").unlink()
    with pytest.raises(RecordError, match="no record .*tp9_other.json"):
        render_results.render(ROWS, labs, strict=False)
    problems = []
    line = render_results.render_row(ROWS[1], labs, problems, strict=False)
    assert "*not recorded yet: `make records ONLY=\"tp9 tp9_other\"`*" in line
    assert [name for name, _ in problems] == ["tp9", "tp9_other"]
    with pytest.raises(RecordError, match="no value 'loss'"):
        render_results.render([Row("TP9", ("tp9",), "{loss:.2f}")], labs, strict=False)
    with pytest.raises(RecordError, match="no value 'ref.tp1.nothing'"):
        render_results.render([Row("TP9", ("tp9",), "{accuracy}", "{ref.tp1.nothing}")], labs, strict=False)
    readme.write_text("# no markers\n")
    with pytest.raises(RecordError, match="no <!-- results:start -->"):
        render_results.section(readme.read_text())


def test_a_record_without_a_clean_commit_is_not_quoted(project):
    readme, labs = project
    line = render_results.render_row(ROWS[0], labs, [])  # strict: these records name no commit
    assert render_results._docs.NOT_AT_THIS_COMMIT in line and "0.877" not in line and "0.9781 on MNIST" in line
    assert "0.877" in render_results.render_row(ROWS[0], labs, [], strict=False)
