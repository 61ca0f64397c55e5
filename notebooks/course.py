"""The course notebooks: render them, check them, write the student versions, run them.

Each notebook has one source, ``notebooks/NAME.py`` in jupytext's percent format (it reads and
reviews as text); ``NAME.ipynb`` beside it is rendered from it, without outputs.

    python notebooks/course.py render            # every .py -> .ipynb (and the Colab links from pyproject)
    python notebooks/course.py check             # exit 1 when an .ipynb or a Colab link is out of date
    python notebooks/course.py student DIR       # the student versions: solutions replaced, outputs cleared
    python notebooks/course.py run [NAME ...]    # execute in a Jupyter kernel; seconds and CPU seconds each (--json)

Exercises use nbgrader's markers: the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION``
are the teacher's answer; the student version has ``raise NotImplementedError()`` in their place
(at their indentation), as nbgrader writes it. The solution cells also carry nbgrader's cell
metadata, so nbgrader itself can take the notebooks over.

``render`` needs jupytext, ``run`` nbclient and ipykernel (the ``test`` extra); ``student`` needs
nothing beyond Python.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
PLACEHOLDER = ("# YOUR CODE HERE", "raise NotImplementedError()")
# The install cell's line that names the repository: REPOSITORY = "https://github.com/OWNER/REPO"
REPOSITORY_LINE = re.compile(r'^REPOSITORY = "[^"]*"$', re.M)
COLAB = "https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/{name}.ipynb"
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^\s)]*?/notebooks/(\w+)\.ipynb")


def sources() -> list[Path]:
    """The notebook sources, lab order (tp1 … tp5, then tp5_research)."""
    return sorted(p for p in HERE.glob("tp*.py"))


def repository() -> str:
    """The project's GitHub address, from pyproject.toml ([project.urls] Repository): the one place
    that the Colab links and the install cells take it from."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["urls"]["Repository"].rstrip("/")


def with_links(text: str, name: str | None = None) -> str:
    """``text`` with its Colab links and install address pointing at ``repository()``: a notebook
    source's link at notebook ``name``, the links of another page at the notebook each names."""
    repo = repository()
    owner_repo = repo.removeprefix("https://github.com/")
    text = COLAB_LINK.sub(lambda m: COLAB.format(owner_repo=owner_repo, name=name or m.group(1)), text)
    return REPOSITORY_LINE.sub(f'REPOSITORY = "{repo}"', text)


def notebook(source: Path) -> dict:
    """The .ipynb of ``source``, as JSON: no outputs, stable cell ids, nbgrader metadata on solution
    cells, and the jupytext pairing (so that Jupyter with jupytext keeps the two in step)."""
    import jupytext

    nb = jupytext.reads(source.read_text(), fmt="py:percent")
    cells = []
    for i, cell in enumerate(nb.cells, start=1):
        metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        if cell.cell_type == "code" and BEGIN in cell.source:
            metadata["nbgrader"] = {"grade": False, "grade_id": f"{source.stem}-cell{i:02d}", "locked": False,
                                    "schema_version": 3, "solution": True, "task": False}
        entry = {"cell_type": cell.cell_type, "id": f"{source.stem}-{i:02d}", "metadata": metadata,
                 "source": cell.source.splitlines(keepends=True)}
        if cell.cell_type == "code":
            entry.update(execution_count=None, outputs=[])
        cells.append(entry)
    metadata = {"jupytext": {"formats": "ipynb,py:percent"},
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python"}}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def render() -> list[Path]:
    """Rewrite the Colab links of every source and of notebooks/README.md from pyproject, then every
    .ipynb; the files changed."""
    changed = []
    index = HERE / "README.md"
    if index.exists() and with_links(index.read_text()) != index.read_text():
        index.write_text(with_links(index.read_text()))
        changed.append(index)
    for source in sources():
        text = source.read_text()
        linked = with_links(text, source.stem)
        if linked != text:
            source.write_text(linked)
            changed.append(source)
        target = source.with_suffix(".ipynb")
        rendered = dumps(notebook(source))
        if not target.exists() or target.read_text() != rendered:
            target.write_text(rendered)
            changed.append(target)
    return changed


def check() -> list[str]:
    """What is out of date: a source whose Colab link or install address is not pyproject's, an
    .ipynb that differs from its rendered source, or one with no source."""
    problems = []
    index = HERE / "README.md"
    if index.exists() and with_links(index.read_text()) != index.read_text():
        problems.append(f"README.md: a Colab link is not {repository()}'s")
    for source in sources():
        if with_links(source.read_text(), source.stem) != source.read_text():
            problems.append(f"{source.name}: its Colab link or install address is not {repository()}")
        target = source.with_suffix(".ipynb")
        if not target.exists():
            problems.append(f"{target.name}: missing")
        elif target.read_text() != dumps(notebook(source)):
            problems.append(f"{target.name}: differs from {source.name}")
    names = {s.stem for s in sources()}
    problems += [f"{p.name}: no source {p.stem}.py" for p in HERE.glob("*.ipynb") if p.stem not in names]
    return problems


def strip_solutions(lines: list[str]) -> list[str]:
    """Source lines with every solution block replaced by nbgrader's placeholder, at its indentation."""
    out, inside = [], False
    for line in lines:
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"{BEGIN} inside a solution")
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            out += [f"{indent}{text}\n" for text in PLACEHOLDER]
        elif marker == END:
            if not inside:
                raise ValueError(f"{END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END}")
    if out and not lines[-1].endswith("\n"):
        out[-1] = out[-1].rstrip("\n")
    return out


def student_version(nb: dict) -> dict:
    cells = []
    for cell in nb["cells"]:
        cell = dict(cell)
        if cell["cell_type"] == "code":
            cell["source"] = strip_solutions(cell["source"])
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    return {**nb, "cells": cells}


def write_students(directory: Path) -> list[Path]:
    """The student version of every rendered notebook, into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources():
        nb = json.loads(source.with_suffix(".ipynb").read_text())
        target = directory / f"{source.stem}.ipynb"
        target.write_text(dumps(student_version(nb)))
        written.append(target)
    return written


def execute(path: Path, cwd: Path, timeout: int = 600) -> tuple[dict, float, float]:
    """Run the notebook at ``path`` in a fresh Jupyter kernel (working directory ``cwd``); return
    (the executed notebook, wall seconds, CPU seconds of the kernel: user + system)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except Exception as exc:
        exc.notebook = nb  # what ran until the failure, with its outputs
        raise
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel, waited for when it shut down
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return nb, wall, cpu


def images(nb) -> int:
    """How many PNG images the notebook's outputs hold."""
    return sum("image/png" in out.get("data", {}) for cell in nb["cells"] if cell["cell_type"] == "code"
               for out in cell.get("outputs", []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("render", help="every source -> its .ipynb, Colab links from pyproject")
    sub.add_parser("check", help="exit 1 when a notebook is out of date")
    student = sub.add_parser("student", help="write the student versions (solutions removed) into DIR")
    student.add_argument("directory", type=Path)
    run = sub.add_parser("run", help="execute notebooks in a Jupyter kernel, in a scratch directory")
    run.add_argument("names", nargs="*", help="e.g. tp1 tp4 (default: all)")
    run.add_argument("--cwd", type=Path, default=None, help="working directory (default: a new temporary one)")
    run.add_argument("--save", type=Path, default=None, help="write the executed notebooks (with outputs) here")
    run.add_argument("--json", action="store_true", help="end with one JSON line: each notebook's seconds and figures")
    args = parser.parse_args(argv)

    if args.command == "render":
        for path in render():
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    if args.command == "check":
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python notebooks/course.py render", file=sys.stderr)
        return 1 if problems else 0
    if args.command == "student":
        for path in write_students(args.directory):
            print(f"wrote {path}")
        return 0
    import tempfile

    names = args.names or [s.stem for s in sources()]
    unknown = sorted(set(names) - {s.stem for s in sources()})
    if unknown:
        print(f"no notebook {', '.join(unknown)}; known: {', '.join(s.stem for s in sources())}", file=sys.stderr)
        return 2
    failed, timings = [], []
    for name in names:
        cwd = args.cwd or Path(tempfile.mkdtemp(prefix=f"dltp-{name}-"))
        try:
            nb, wall, cpu = execute(HERE / f"{name}.ipynb", cwd)
        except Exception as exc:  # a cell failed: say which, keep what ran, go on with the others
            nb = getattr(exc, "notebook", None)
            failed.append(name)
            print(f"{name}: FAILED: {str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__}",
                  flush=True)
        else:
            print(f"{name}: {wall:.1f} s, {cpu:.1f} CPU s, {images(nb)} figures (in {cwd})", flush=True)
            timings.append({"notebook": name, "seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                            "figures": images(nb)})
        if args.save and nb is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{name}.ipynb").write_text(dumps(nb))
    if args.json:
        print(json.dumps({"notebooks": timings, "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
