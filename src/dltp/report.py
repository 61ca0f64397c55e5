"""`dltp report`: every lab's latest measured results from the MLflow store, next to the original
author's figures, as a static HTML page (plots embedded) and a Markdown twin, both rendered from
one context by the Jinja2 templates ``dltp/templates/report.{html,md}.j2``.

Runs are found by their ``dltp.experiment`` tag; for each experiment id the latest finished run is
shown. With zero runs the page says what to run; a lab with no run yet says so.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import NamedTuple

from dltp import tables

DEFAULT_OUTPUT = "dltp-results/report"
UI_URL = "http://127.0.0.1:5000"
MAX_PLOTS = 4
MAX_ROWS = 24
HEADER = ("metric", "ours", "reference", "difference")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"output folder (default {DEFAULT_OUTPUT})")
    parser.add_argument("--ui-url", default=UI_URL, help="where `dltp ui` serves, for run links")


def main(args) -> int:
    path = build(Path(args.output), ui_url=args.ui_url)
    print(f"report: {path}  (Markdown: {path.with_name('report.md')})")
    return 0


def latest_runs() -> dict[str, object]:
    """dltp experiment id -> its latest FINISHED MLflow run."""
    from dltp import tracking

    client = tracking.client()
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return {}
    runs = client.search_runs(experiments, filter_string="tags.`dltp.experiment` != ''",
                              order_by=["attributes.start_time DESC"], max_results=5000)
    latest: dict[str, object] = {}
    for run in runs:
        exp_id = run.data.tags.get("dltp.experiment")
        if exp_id and run.info.status == "FINISHED" and exp_id not in latest:
            latest[exp_id] = run
    return latest


class Row(NamedTuple):
    """One line of an experiment's table, each value written as the page shows it."""

    label: str
    ours: str
    reference: str
    difference: str
    why: bool  # the difference is empty and ``difference`` says why

    @property
    def cells(self) -> tuple[str, str, str, str]:
        return self.label, self.ours, self.reference, self.difference


def _rows(exp_id: str, run) -> list[Row]:
    """The reference figures (ours, the author's with its dataset, the difference or why there is
    none), then our other metrics. The difference needs the same dataset."""
    from dltp.references import REFERENCES, difference

    metrics = dict(run.data.metrics)
    dataset = run.data.params.get("dataset", "?")
    rows, shown = [], set()
    for ref in REFERENCES.get(exp_id, []):
        ours = metrics.get(ref.key)
        diff, why = difference(ref, ours, dataset)
        rows.append(Row(ref.label, tables.cell(ours), f"{tables.cell(ref.value)} ({ref.dataset})",
                        _difference_cell(diff, why), bool(why)))
        shown.add(ref.key)
    rows += [Row(key, tables.cell(metrics[key]), tables.MISSING, tables.MISSING, False)
             for key in sorted(metrics) if key not in shown]
    return rows[:MAX_ROWS]


def _difference_cell(diff: float | None, why: str) -> str:
    if diff is None:
        return why or tables.MISSING
    return ("+" if diff >= 0 else "") + tables.cell(diff)


def _target_tags(run) -> dict:
    """The run's tags, or its parent's when the verdict was tagged on the parent of the same experiment
    (a run whose children carry the experiment's tag too, such as tp5.research's)."""
    tags = run.data.tags
    parent_id = tags.get("mlflow.parentRunId")
    if "dltp.target" in tags or not parent_id:
        return tags
    from dltp import tracking

    parent = tracking.client().get_run(parent_id).data.tags
    return parent if parent.get("dltp.experiment") == tags.get("dltp.experiment") else tags


def _target(exp_id: str, tags: dict) -> dict:
    """The experiment's target (dltp.labs.targets) and whether this run met it: state "met", "unmet"
    or "none" (with the text saying why there is none)."""
    from dltp.labs.targets import TARGETS

    checks, met = tags.get("dltp.target"), tags.get("dltp.target_met")
    if not checks:
        return {"state": "none", "text": "no target for this run's data" if exp_id in TARGETS else "no target"}
    return {"state": "met" if met == "yes" else "unmet", "word": "met" if met == "yes" else "NOT met",
            "checks": checks, "shows": TARGETS[exp_id].shows if exp_id in TARGETS else ""}


def _plots(run, assets: Path) -> list[dict]:
    """Copy the run's PNG artifacts (top level) into the report; their paths relative to the page."""
    import mlflow

    from dltp import tracking

    out = []
    for artifact in tracking.client().list_artifacts(run.info.run_id):
        if artifact.is_dir or not artifact.path.endswith(".png") or len(out) >= MAX_PLOTS:
            continue
        local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path=artifact.path,
                                                    tracking_uri=tracking.tracking_uri())
        target = assets / run.info.run_id / Path(artifact.path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(local, target)
        out.append({"path": str(target.relative_to(assets.parent)), "name": target.name})
    return out


def _experiment(exp, run, assets: Path, ui_url: str) -> dict:
    """What the page shows of one experiment: its id and description, and its latest run if any."""
    shown = {"id": exp.id, "description": exp.description, "run": None}
    if run is None:
        return shown
    tags, info = run.data.tags, run.info
    shown["run"] = {"id": info.run_id, "dataset": run.data.params.get("dataset", "?"),
                    "fallback": tags.get("dataset.fallback"), "backend": tags.get("dltp.backend", "?"),
                    "link": f"{ui_url}/#/experiments/{info.experiment_id}/runs/{info.run_id}"}
    shown.update(target=_target(exp.id, _target_tags(run)), rows=_rows(exp.id, run), plots=_plots(run, assets))
    return shown


def build(output: Path, ui_url: str = UI_URL) -> Path:
    """The report in ``output``: index.html, report.md and the plots they show (assets/); returns
    index.html's path. Both pages render one context through the templates in dltp/templates."""
    from dltp import registry, tracking

    output.mkdir(parents=True, exist_ok=True)
    assets = output / "assets"
    shutil.rmtree(assets, ignore_errors=True)
    runs = latest_runs()
    labs = [{"id": lab, "title": lab.upper(),
             "experiments": [_experiment(exp, runs.get(exp.id), assets, ui_url)
                             for exp in registry.in_order() if exp.lab == lab]}
            for lab in registry.labs()]
    context = {"store": tracking.tracking_uri(), "any_runs": bool(runs), "labs": labs, "header": HEADER}
    templates = _templates()
    index = output / "index.html"
    index.write_text(templates.get_template("report.html.j2").render(context))
    (output / "report.md").write_text(templates.get_template("report.md.j2").render(context))
    return index


def _templates():
    """The report's Jinja2 templates (package data in dltp/templates); HTML escaped automatically."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("dltp", "templates"),
                             autoescape=jinja2.select_autoescape(["html.j2"], default=False),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.globals["markdown_table"] = tables.markdown
    return env
