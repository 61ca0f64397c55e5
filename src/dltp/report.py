"""`dltp report`: every lab's latest measured results from the MLflow store, next to the original
author's figures, as a static HTML page (plots embedded) and a Markdown twin.

Runs are found by their ``dltp.experiment`` tag; for each experiment id the latest finished run is
shown. With zero runs the page says what to run; a lab with no run yet says so.
"""

from __future__ import annotations

import argparse
import html
import shutil
from pathlib import Path

DEFAULT_OUTPUT = "dltp-results/report"
UI_URL = "http://127.0.0.1:5000"
MAX_PLOTS = 4
MAX_ROWS = 24


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


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _rows(exp_id: str, run) -> list[tuple[str, float | None, str | None, float | None, str]]:
    """(label, ours, reference, difference, why the difference is empty) for the reference figures,
    then our other metrics. The reference shows its dataset; the difference needs the same one."""
    from dltp.references import REFERENCES, difference

    metrics = dict(run.data.metrics)
    dataset = run.data.params.get("dataset", "?")
    rows, shown = [], set()
    for ref in REFERENCES.get(exp_id, []):
        ours = metrics.get(ref.key)
        rows.append((ref.label, ours, f"{_fmt(ref.value)} ({ref.dataset})", *difference(ref, ours, dataset)))
        shown.add(ref.key)
    rows += [(key, metrics[key], None, None, "") for key in sorted(metrics) if key not in shown]
    return rows[:MAX_ROWS]


def _difference_cell(diff: float | None, why: str) -> str:
    if diff is None:
        return why or _fmt(None)
    return ("+" if diff >= 0 else "") + _fmt(diff)


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


def _target(exp_id: str, tags: dict) -> tuple[str, str]:
    """(HTML, Markdown) line: the experiment's target (dltp.labs.targets) and whether this run met it."""
    from dltp.labs.targets import TARGETS

    checks, met = tags.get("dltp.target"), tags.get("dltp.target_met")
    shows = TARGETS[exp_id].shows if exp_id in TARGETS else ""
    if not checks:
        text = "no target for this run's data" if exp_id in TARGETS else "no target"
        return f"<p class='target none'>Target: {html.escape(text)}</p>", f"Target: {text}"
    word = "met" if met == "yes" else "NOT met"
    return (f"<p class='target {'met' if met == 'yes' else 'unmet'}'>Target: <b>{word}</b> — "
            f"{html.escape(checks)} <span class='meta'>({html.escape(shows)})</span></p>",
            f"Target: **{word}** — {checks} ({shows})")


def _plots(run, assets: Path) -> list[str]:
    """Copy the run's PNG artifacts (top level) into the report; return their relative paths."""
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
        out.append(str(target.relative_to(assets.parent)))
    return out


def build(output: Path, ui_url: str = UI_URL) -> Path:
    from dltp import registry, tracking

    output.mkdir(parents=True, exist_ok=True)
    assets = output / "assets"
    shutil.rmtree(assets, ignore_errors=True)
    runs = latest_runs()
    store = tracking.tracking_uri()
    md = ["# dltp results", "", f"Tracking store: `{store}`. Latest finished run of each experiment; "
          "*reference* = the original author's figure and its dataset; the difference is "
          "given only when our run used the same dataset.", ""]
    body = [f"<p class='meta'>Tracking store: <code>{html.escape(store)}</code>. Latest finished run of "
            "each experiment; <em>reference</em> = the original author's figure and its dataset; the "
            "difference is given only when our run used the same dataset.</p>"]
    if not runs:
        hint = "No runs yet. Run the labs first: <code>dltp run all --quick</code> (or <code>make run</code>)."
        body.append(f"<p id='empty' class='empty'>{hint}</p>")
        md += ["No runs yet. Run the labs first: `dltp run all --quick` (or `make run`).", ""]
    for lab in registry.labs():
        body.append(f"<section id='{lab}'><h2>{lab.upper()}</h2>")
        md += [f"## {lab.upper()}", ""]
        for exp in [e for e in registry.in_order() if e.lab == lab]:
            run = runs.get(exp.id)
            title = f"<h3 id='{html.escape(exp.id)}'>{html.escape(exp.id)} — {html.escape(exp.description)}</h3>"
            if run is None:
                body.append(f"{title}<p class='missing'>Not run yet: <code>dltp run {exp.id}</code></p>")
                md += [f"### {exp.id}", "", f"Not run yet: `dltp run {exp.id}`", ""]
                continue
            tags, params = run.data.tags, run.data.params
            dataset = params.get("dataset", "?")
            fallback = tags.get("dataset.fallback")
            badge = (f" <span class='badge fallback' title='{html.escape(fallback)}'>fallback dataset</span>"
                     if fallback else "")
            link = f"{ui_url}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
            body.append(f"{title}<p class='meta'>dataset <b>{html.escape(dataset)}</b>{badge} · backend "
                        f"<b>{html.escape(tags.get('dltp.backend', '?'))}</b> · <a href='{link}'>run "
                        f"{run.info.run_id[:8]} in dltp ui</a></p>")
            target_html, target_md = _target(exp.id, _target_tags(run))
            body.append(target_html)
            rows = _rows(exp.id, run)
            body.append("<table class='results' data-experiment='" + html.escape(exp.id) + "'><thead><tr>"
                        "<th>metric</th><th>ours</th><th>reference</th><th>difference</th></tr></thead><tbody>")
            md += [f"### {exp.id}", "", f"dataset **{dataset}**{' (fallback dataset)' if fallback else ''}, "
                   f"backend **{tags.get('dltp.backend', '?')}**, run `{run.info.run_id}`", "", target_md, "",
                   "| metric | ours | reference | difference |", "|---|---|---|---|"]
            for label, ours, ref, diff, why in rows:
                cell, css = _difference_cell(diff, why), " class='why'" if why else ""
                body.append(f"<tr><td>{html.escape(label)}</td><td>{_fmt(ours)}</td><td>{_fmt(ref)}</td>"
                            f"<td{css}>{html.escape(cell)}</td></tr>")
                md.append(f"| {label} | {_fmt(ours)} | {_fmt(ref)} | {cell} |")
            body.append("</tbody></table>")
            md.append("")
            for rel in _plots(run, assets):
                body.append(f"<img src='{html.escape(rel)}' alt='{html.escape(Path(rel).name)}' loading='lazy'>")
                md += [f"![{Path(rel).name}]({rel})", ""]
        body.append("</section>")
    page = _PAGE.replace("{body}", "\n".join(body))
    index = output / "index.html"
    index.write_text(page)
    (output / "report.md").write_text("\n".join(md) + "\n")
    return index


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dltp results</title>
<style>
 body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2rem auto; padding: 0 1rem; color: #222; }
 h2 { border-bottom: 2px solid #ddd; padding-bottom: .3rem; margin-top: 2.5rem; }
 table.results { border-collapse: collapse; margin: .5rem 0 1rem; min-width: 60%; }
 table.results th, table.results td { border: 1px solid #ddd; padding: .3rem .6rem; text-align: right; }
 table.results td:first-child, table.results th:first-child { text-align: left; }
 td.why { color: #777; font-style: italic; }
 .meta { color: #555; } .missing, .empty { color: #a15c00; }
 .target.met b { color: #1a7f37; } .target.unmet b { color: #b42318; }
 .badge.fallback { background: #ffe08a; color: #5c4300; border-radius: 4px; padding: 0 .4rem; font-size: .85em; }
 img { max-width: 48%; margin: .3rem; border: 1px solid #eee; vertical-align: top; }
 @media (max-width: 700px) { img { max-width: 100%; } }
</style></head><body>
<h1>dltp results</h1>
{body}
</body></html>
"""
