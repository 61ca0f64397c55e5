"""The course notebooks: each source and its .ipynb agree, each has exercises and a Colab link, the
student versions hold no solution, and every teacher version runs in a real Jupyter kernel at the
quick budget and shows figures."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
spec = importlib.util.spec_from_file_location("course", NOTEBOOKS / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)

NAMES = [source.stem for source in course.sources()]
LABS = ("tp1", "tp2", "tp3", "tp4", "tp5", "tp5_research")


def solution_blocks(lines: list[str]) -> list[list[str]]:
    """The lines strictly inside each BEGIN/END SOLUTION pair of one cell."""
    blocks, current = [], None
    for line in lines:
        if line.strip() == course.BEGIN:
            current = []
        elif line.strip() == course.END:
            blocks.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_there_is_a_notebook_per_lab():
    assert tuple(NAMES) == LABS


def test_every_ipynb_is_rendered_from_its_source():
    assert course.check() == []


def test_check_reports_a_stale_notebook_and_render_mends_it(tmp_path, monkeypatch):
    for name in ("tp1.py", "tp1.ipynb", "README.md"):
        (tmp_path / name).write_text((NOTEBOOKS / name).read_text())
    monkeypatch.setattr(course, "HERE", tmp_path)
    assert course.check() == []
    (tmp_path / "tp1.py").write_text((tmp_path / "tp1.py").read_text() + "\n# %%\nprint('a new cell')\n")
    assert course.check() == ["tp1.ipynb: differs from tp1.py"]
    repository = course.repository().removeprefix("https://github.com/")
    for name in ("tp1.py", "README.md"):  # a link left pointing at another repository
        (tmp_path / name).write_text((tmp_path / name).read_text().replace(repository, "someone/else"))
    problems = course.check()
    assert any(p.startswith("tp1.py:") and "Colab link" in p for p in problems)
    assert any(p.startswith("README.md:") for p in problems)
    course.render()
    assert course.check() == []
    assert "someone/else" not in (tmp_path / "tp1.py").read_text() + (tmp_path / "README.md").read_text()
    assert "print('a new cell')" in "".join(json.loads((tmp_path / "tp1.ipynb").read_text())["cells"][-1]["source"])


@pytest.mark.parametrize("name", NAMES)
def test_each_notebook_has_exercises_a_quick_switch_and_a_colab_link(name):
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    exercises = [cell for cell in code if any(line.strip() == course.BEGIN for line in cell["source"])]
    assert len(exercises) >= 2
    assert all(cell["metadata"]["nbgrader"]["solution"] for cell in exercises)
    assert any(line.startswith("QUICK = True") for cell in code for line in cell["source"])
    markdown = "".join("".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "markdown")
    repository = course.repository().removeprefix("https://github.com/")
    assert f"https://colab.research.google.com/github/{repository}/blob/main/notebooks/{name}.ipynb" in markdown
    assert all(not cell["outputs"] and cell["execution_count"] is None for cell in code)


def test_the_student_versions_keep_no_solution_line(tmp_path):
    out = subprocess.run([sys.executable, str(NOTEBOOKS / "course.py"), "student", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert sorted(p.stem for p in tmp_path.glob("*.ipynb")) == sorted(NAMES)
    for name in NAMES:
        teacher = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
        student = json.loads((tmp_path / f"{name}.ipynb").read_text())
        assert len(student["cells"]) == len(teacher["cells"])
        placeholders = 0
        for t_cell, s_cell in zip(teacher["cells"], student["cells"]):
            if s_cell["cell_type"] != "code":  # the text may name the markers
                assert s_cell == t_cell
                continue
            s_text = "".join(s_cell["source"])
            assert course.BEGIN not in s_text and course.END not in s_text
            placeholders += s_text.count("raise NotImplementedError()")
            for block in solution_blocks(t_cell["source"]):
                for line in block:
                    assert not line.strip() or line not in s_cell["source"], f"{name}: {line!r} survived"
        assert placeholders == sum(len(solution_blocks(c["source"])) for c in teacher["cells"]) >= 2


def test_strip_solutions_keeps_the_indentation_and_the_rest():
    lines = ["def f(x):\n", "    y = 1\n", "    ### BEGIN SOLUTION\n", "    return x + y\n", "    ### END SOLUTION\n",
             "print(f)"]
    assert course.strip_solutions(lines) == ["def f(x):\n", "    y = 1\n", "    # YOUR CODE HERE\n",
                                             "    raise NotImplementedError()\n", "print(f)"]


@pytest.mark.parametrize("lines", [["### BEGIN SOLUTION\n", "x = 1\n"], ["x = 1\n", "### END SOLUTION\n"],
                                   ["### BEGIN SOLUTION\n", "### BEGIN SOLUTION\n", "### END SOLUTION\n"]])
def test_unbalanced_solution_markers_are_an_error(lines):
    with pytest.raises(ValueError, match="SOLUTION"):
        course.strip_solutions(lines)


def test_run_names_an_unknown_notebook():
    out = subprocess.run([sys.executable, str(NOTEBOOKS / "course.py"), "run", "tp9"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "no notebook tp9" in out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_the_teacher_version_runs_in_a_kernel_and_shows_figures(name, tmp_path, monkeypatch, record_property,
                                                                 mlflow_store):
    """The kernel inherits this test's environment: offline, its own data folder and MLflow store."""
    pytest.importorskip("nbclient")
    monkeypatch.setenv("DLTP_OFFLINE", "1")
    nb, wall, cpu = course.execute(NOTEBOOKS / f"{name}.ipynb", tmp_path)
    record_property("wall_seconds", round(wall, 1))
    record_property("cpu_seconds", round(cpu, 1))
    print(f"{name}: {wall:.1f} s, {cpu:.1f} CPU s")
    assert course.images(nb) >= 1
    printed = "".join("".join(out.get("text", "")) for cell in nb["cells"] if cell["cell_type"] == "code"
                      for out in cell["outputs"] if out["output_type"] == "stream")
    assert f"on {os.environ['KERAS_BACKEND']}; quick budget: True" in printed  # the backend this run asked for


@pytest.mark.slow
def test_a_student_version_stops_at_its_first_exercise(tmp_path, monkeypatch):
    pytest.importorskip("nbclient")
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("DLTP_OFFLINE", "1")
    course.write_students(tmp_path / "student")
    with pytest.raises(CellExecutionError, match="NotImplementedError"):
        course.execute(tmp_path / "student" / "tp5.ipynb", tmp_path)
