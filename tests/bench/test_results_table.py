"""The README's results table agrees with the committed records: a figure without a record, or one
that differs from its record, fails this test (bench/render_results.py regenerates the table)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import render_results  # noqa: E402
from render_results import RecordError, Row  # noqa: E402


def test_the_readme_results_table_is_what_the_records_say():
    problems = render_results.check()
    assert not problems, ("the README's results table disagrees with bench/results/labs/ "
                          "(python bench/render_results.py rewrites it):\n" + "\n".join(problems))


def test_every_row_quotes_committed_records_with_their_provenance():
    for row in render_results.ROWS:
        for name in row.records:
            record = render_results.load_record(name)
            assert record["command"].startswith("dltp ") and record["commit"] and record["date"]
            assert record["machine"]["cores"] and "load_average_before" in record


def write_record(labs: Path, name: str, **result) -> None:
    labs.mkdir(parents=True, exist_ok=True)
    record = {"command": f"dltp run {name} --json", "load_average_before": [1.5, 1, 1], "result": result}
    (labs / f"{name}.json").write_text(json.dumps(record))


ROWS = [Row("TP9", ("tp9",), "accuracy **{accuracy:.3f}** after {epochs} epochs (load {load})", "0.5"),
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


def test_rendering_quotes_the_records_and_keeps_the_rest_of_the_readme(project):
    readme, labs = project
    assert render_results.check(readme, ROWS, labs)  # the old table disagrees
    render_results.write(readme, ROWS, labs)
    text = readme.read_text()
    link = "[tp9](bench/results/labs/tp9.json)"
    assert f"| TP9, `dltp run tp9` | accuracy **0.877** after 3 epochs (load 1.5) | 0.5 | {link} |" in text
    assert "| TP9, `dltp run tp9` / `dltp run tp9_other` | 2.2 and 1.8 | — |" in text
    assert text.startswith("# x\n\n<!-- results:start -->\n| lab") and text.endswith("<!-- results:end -->\n\nafter\n")
    assert render_results.check(readme, ROWS, labs) == []


def test_a_figure_edited_by_hand_or_a_changed_record_fails_the_check(project):
    readme, labs = project
    render_results.write(readme, ROWS, labs)
    readme.write_text(readme.read_text().replace("0.877", "0.900"))
    problems = render_results.check(readme, ROWS, labs)
    assert any("0.900" in p and p.startswith("README:") for p in problems)
    assert any("0.877" in p and p.startswith("records:") for p in problems)

    render_results.write(readme, ROWS, labs)
    write_record(labs, "tp9", accuracy=0.5, epochs=3)  # re-measured: the README is stale
    assert render_results.check(readme, ROWS, labs)


def test_a_row_without_its_record_or_key_is_an_error(project):
    readme, labs = project
    (labs / "tp9_other.json").unlink()
    with pytest.raises(RecordError, match="no record .*tp9_other.json"):
        render_results.check(readme, ROWS, labs)
    with pytest.raises(RecordError, match="no value 'loss'"):
        render_results.render([Row("TP9", ("tp9",), "{loss:.2f}")], labs)
    readme.write_text("# no markers\n")
    with pytest.raises(RecordError, match="no <!-- results:start -->"):
        render_results.check(readme, ROWS[:1], labs)


def test_check_on_the_command_line_exits_0_when_in_agreement():
    proc = subprocess.run([sys.executable, str(BENCH / "render_results.py"), "--check"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
