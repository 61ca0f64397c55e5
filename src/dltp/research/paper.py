"""`dltp paper`: the two-column paper, written from the results of `dltp run tp5.research`.

Three parts: ``facts.facts`` turns ``results.json`` into formatted numbers and sentences, each
decided from its numbers; ``templates/paper.tex.j2`` is the LaTeX text, rendered with Jinja2; and
``templates/references.bib`` holds the references (BibTeX). The PDF is built with latexmk or
pdflatex + bibtex when installed; otherwise the ``.tex``, the ``.bib`` and the figures are left for
any LaTeX installation (Debian: the packages in ``LATEX_PACKAGES``).

This module imports nothing heavy at top level (the CLI builds its parser from it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from dltp import registry

DEFAULT_RESULTS = f"{registry.OPTIONS['results_dir'].default}/results.json"
DEFAULT_OUT = "dltp-results/paper"
TEMPLATES = Path(__file__).parent / "templates"
LATEX_PACKAGES = ("texlive-latex-base texlive-latex-recommended texlive-fonts-recommended lmodern "
                  "latexmk")
REQUIRED = ("models", "settings", "variants", "comparisons", "instrument", "frame_models", "published")


def add_arguments(parser) -> None:
    parser.add_argument("--results", default=DEFAULT_RESULTS,
                        help=f"results JSON of `dltp run tp5.research` (default {DEFAULT_RESULTS})")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--no-pdf", action="store_true", help="write the .tex and figures only")


def main(args) -> int:
    from dltp.errors import DltpError

    results_path = Path(args.results)
    if not results_path.is_file():
        raise DltpError(f"no results at {results_path}: run `dltp run tp5.research` first "
                        f"(or pass --results PATH)")
    try:
        results = json.loads(results_path.read_text())
    except ValueError as exc:
        raise DltpError(f"{results_path} is not a results file of tp5.research ({exc})") from exc
    missing = [k for k in REQUIRED if not isinstance(results, dict) or k not in results]
    if missing:
        raise DltpError(f"{results_path} is not a results file of tp5.research (missing {', '.join(missing)})")
    out = Path(args.out)
    tex = write_paper(results, results_path.parent, out)
    print(f"wrote {tex}")
    if args.no_pdf:
        return 0
    pdf = compile_pdf(tex)
    if pdf is None:
        print("no LaTeX engine found (latexmk/pdflatex): the .tex, the .bib and the figures are ready to "
              f"compile; on Debian: apt-get install {LATEX_PACKAGES}")
        return 0
    print(f"wrote {pdf}")
    return 0


def compile_pdf(tex: Path) -> Path | None:
    """Build the PDF next to ``tex`` (with its bibliography); None when no LaTeX engine is installed."""
    from dltp.errors import DltpError

    if shutil.which("latexmk"):
        cmds = [["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", tex.name]]
    elif shutil.which("pdflatex") and shutil.which("bibtex"):
        run = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name]
        cmds = [run, ["bibtex", tex.stem], run, run]
    else:
        return None
    for cmd in cmds:
        done = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            hint = (f" (missing LaTeX packages? on Debian: apt-get install {LATEX_PACKAGES})"
                    if ".sty' not found" in done.stdout else "")
            raise DltpError(f"LaTeX failed on {tex}{hint}:\n" + done.stdout[-2000:])
    return tex.with_suffix(".pdf")


def write_paper(results: dict, results_dir: Path, out: Path) -> Path:
    """Figures, the rendered .tex and the .bib into ``out``; returns the .tex path."""
    from dltp.plots import pyplot
    import numpy as np

    from dltp.research import figures

    out.mkdir(parents=True, exist_ok=True)

    def save(fig, file):
        fig.savefig(out / file, dpi=200)
        pyplot().close(fig)

    save(figures.method_diagram(), "method.pdf")
    save(figures.mse_curves(results), "mse_vs_horizon.pdf")
    save(figures.depth_curves(results), "depth.pdf")
    rollouts_file = results_dir / "rollouts.npz"
    has_strips = rollouts_file.is_file()
    if has_strips:
        save(figures.rollout_strips(results, np.load(rollouts_file)), "rollouts.png")
    shutil.copyfile(TEMPLATES / "references.bib", out / "references.bib")
    tex = out / "paper.tex"
    tex.write_text(render(results, has_strips))
    return tex


def render(results: dict, has_strips: bool = True) -> str:
    """The paper's LaTeX source: the template filled with the facts of ``results``."""
    import jinja2

    from dltp.research import facts as F

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined, autoescape=False,
        block_start_string=r"\BLOCK{", block_end_string="}", variable_start_string=r"\VAR{",
        variable_end_string="}", comment_start_string=r"\#{", comment_end_string="}",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.get_template("paper.tex.j2").render(f=F.facts(results), r=results, fm=results["frame_models"],
                                                   has_strips=has_strips)
