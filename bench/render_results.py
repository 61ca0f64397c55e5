"""Every figure of README.md and docs/**/*.md, regenerated from the committed records: none is typed by hand.

Three kinds of generated text, all from bench/results/:

- the README's lab results table (between ``<!-- results:start -->`` and ``<!-- results:end -->``),
  one row per entry of ROWS: which records it quotes (bench/results/labs/NAME.json, written by
  bench/record.py), how to phrase their figures (a format string over each record's ``result``) and the
  original author's figure (from dltp.references, never typed here);
- docs/benchmarks.md's benchmark section (between ``<!-- bench:start -->`` and ``<!-- bench:end -->``),
  what each benchmark printed when bench/run_all.py last ran it (bench/results/runs/NAME.json);
- every record block of the docs (``<!-- record NAME … -->`` … ``<!-- end record -->``, bench/_docs.py).

    python bench/render_results.py                 # rewrite them all; a dirty or stale record is not quoted
    python bench/render_results.py --allow-stale   # a preview quoting every record there is
    python bench/render_results.py --check         # change nothing; exit 1 on any problem below

``--check`` reports (1) text that differs from what its records give, a figure typed by hand (neither
rendered nor declared as a setting), a broken relative link or anchor, an image that no record lists,
a PNG of docs/figures/ over 300 KB;
(2) records that cannot be quoted: missing, dirty, or stale (bench/_provenance.py), lacking a key or a
figure a block asks for, or recorded with another command than bench/records.toml gives — with the
command that re-records each. tests/docs/test_docs_figures.py runs (1): the docs quote no figure
that a sound record does not give (a dirty or stale one renders as "not measured at this commit").
(2) is `make records-check`: what is left to re-measure, which the docs then show as a gap.

In a ROWS format string, fields name a record's result key (``{test_accuracy:.4f}`` for a row's first
record) or a record and a key path (``{tp5_seq2seq_co2.mase_seasonal:.2f}``, ``{tp4_unet.iou_vs_dice.0.dice}``);
``derive`` adds values computed from the results; ``{load}`` is the load average when the first record's
command started, ``{wall_seconds_of_command}`` its wall time; ``{ref.tp1.test_accuracy}`` is an original
author's figure (the experiment id with ``_`` for ``.``).
"""

from __future__ import annotations

import argparse
import json
import string
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _docs  # noqa: E402
import _provenance  # noqa: E402
from _docs import RecordError, Records  # noqa: E402,F401  (RecordError: the error every renderer raises)

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
LABS = BENCH / "results" / "labs"
RUNS = BENCH / "results" / "runs"
README = ROOT / "README.md"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
MANIFEST = BENCH / "records.toml"
START, END = "<!-- results:start -->", "<!-- results:end -->"
MAX_FIGURE_BYTES = 300_000  # a figure in docs/figures/ (bench/record.py scales larger ones down)
BENCH_START, BENCH_END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass(frozen=True)
class Row:
    """One line: `lab, command` | measured | original author | links to the records."""

    lab: str  # "TP1"; the command is taken from the record itself
    records: tuple[str, ...]  # names in bench/results/labs/; the first one's keys need no prefix
    measured: str  # a format string over the records' results (see the module's docstring)
    original: str = "—"  # the original author's figure: a format string over ``ref`` (dltp.references)
    derive: Callable[[dict], dict] = field(default=lambda results: {})  # record name -> result, to extra values


def _pct_lower(results: dict, name: str) -> dict:
    r = results[name]
    return {"leak_pct": 100 * (1 - r["teacher_forced_mae"] / r["mae"]),
            "verdict": "beats" if r["beats_seasonal_naive"] else "does not beat"}


def _iou_vs_dice(results: dict) -> dict:
    """The smallest and the largest object of the 2-pixel erosion rows."""
    rows = [r for r in results["tp4_unet"]["iou_vs_dice"] if r["perturbation"] == "erosion" and r["pixels"] == 2]
    small, large = min(rows, key=lambda r: r["radius"]), max(rows, key=lambda r: r["radius"])
    return {"small": small, "large": large}


def _batching(results: dict) -> dict:
    r = results["tp1_batching_fashion_mnist"]
    variants = {"batch 128": "mini_batch_128", "batch 32": "mini_batch_32", "SGD batch 1": "sgd_batch1",
                "full-batch GD": "full_batch_gd"}
    losses = sorted((r[f"{key}_val_loss_at_budget"], name) for name, key in variants.items())
    text = ", ".join(f"{name} {'**' if i == 0 else ''}{loss:.3f}{'**' if i == 0 else ''}"
                     for i, (loss, name) in enumerate(losses))
    return {"by_loss": text}


def _optimizer_ranking(results: dict) -> dict:
    r = results["tp2_fashion_mnist"]["optimizers"]
    names = {"adam": "Adam", "rmsprop": "RMSprop", "sgd_momentum": "SGD+momentum"}
    ranked = [f"{names[n]} {r[f'{n}_test_accuracy']:.4f}" for n in r["ranking"]]
    return {"ranking": " > ".join([f"**{ranked[0]}**", *ranked[1:]])}


def _memory(results: dict) -> dict:
    rows = [r for r in results["tp4_memory"]["rows"] if r.get("measured_peak_mb") is not None]
    rows.sort(key=lambda r: (r["side"], r["batch"]))
    ratios = [r["ratio_measured_to_activations"] for r in rows]
    return {"first": rows[0], "last": rows[-1], "low": min(ratios), "high": max(ratios)}


def _research(results: dict) -> dict:
    """The run's minutes and its best latent predictor on the standard protocol (10 → 10)."""
    r = results["tp5_research"]
    name, mse = min(((k[len("predictor_"):-len("_standard_mse")], v) for k, v in r.items()
                     if k.startswith("predictor_") and k.endswith("_standard_mse")), key=lambda kv: kv[1])
    variant, _, depth = name.rpartition("_k")  # tap_t_k4 -> TAP-T, k = 4
    return {"minutes": r["wall_seconds"] / 60, "best_mse": mse,
            "best_name": f"{variant.upper().replace('_', '-')} (k = {depth})"}


def _suite(results: dict) -> dict:
    """`dltp run all --quick`: targets met, and each experiment's backend and seconds."""
    runs = results["run_all_quick"]["results"]
    met = [r for r in runs if r.get("target_met")]
    per = ", ".join(f"{r['experiment']} {r['seconds']:.0f} s ({r['backend']})" for r in runs)
    return {"met": len(met), "ran": len(runs), "per_experiment": per}


ROWS: list[Row] = [
    Row("`make run`", ("run_all_quick",),
        "**{met} of {ran}** experiments meet their quick target, offline, in **{wall_seconds_of_command:.0f} s** "
        "(load average {load:.1f} on 2 cores, one thread): {per_experiment}", derive=_suite),
    Row("TP1", ("tp1_fashion_mnist",),
        "test accuracy **{test_accuracy:.4f}** ({epochs} epochs)", "{ref.tp1.test_accuracy:.4f} on MNIST"),
    Row("TP1", ("tp1_batching_fashion_mnist",),
        "val loss after {budget_s:.0f} s of training (load average {load:.0f} on 2 cores), lowest first: "
        "{by_loss}", derive=_batching),
    Row("TP2", ("tp2_fashion_mnist",),
        "baseline **{diagnosis}** (gap {diagnose.gap:+.3f}, val loss lowest at epoch {diagnose.best_epoch}), test "
        "{diagnose.test_accuracy:.4f}; L2 + Dropout 0.5 → {regularized_diagnosis} (gap {regularize.gap:+.3f}, test "
        "{regularize.test_accuracy:.4f}); test accuracy {ranking}; whole lab {wall_seconds:.0f} s (load average "
        "{load:.0f} on 2 cores)",
        "Adam {ref.tp2_optimizers.adam_test_accuracy:.4f}, RMSprop {ref.tp2_optimizers.rmsprop_test_accuracy:.4f}, "
        "SGD {ref.tp2_optimizers.sgd_momentum_test_accuracy:.4f} (MNIST)", derive=_optimizer_ranking),
    Row("TP2, BatchNorm", ("tp2_fashion_mnist",),
        "BatchNorm converges faster: **{batchnorm.converges_faster}**: val accuracy reaches "
        "{batchnorm.val_accuracy_level:.4f} (98 % of the better model's best) at epoch "
        "{batchnorm.epochs_to_level} with BatchNorm, {batchnorm.without_bn_epochs_to_level} without; test "
        "{batchnorm.test_accuracy:.4f} vs {batchnorm.without_bn_test_accuracy:.4f}",
        "test {ref.tp2_batchnorm.test_accuracy:.4f} (MNIST)"),
    Row("TP4", ("tp4_unet",),
        "val Dice **{val_dice:.4f}**, val IoU **{val_iou:.4f}** ({epochs} epochs)",
        "val Dice {ref.tp4_unet.val_dice_coefficient:.4f}, IoU {ref.tp4_unet.val_iou:.4f}"),
    Row("TP4", ("tp4_conv3d",),
        "sphere vs cube of equal volume, on held-out test volumes that chose nothing: test accuracy "
        "**{test_accuracy:.3f}** (chance {chance_accuracy:.2f}), test AUC {test_auc:.3f} ({epochs} epochs)",
        "(random numbers logged)"),
    Row("TP4", ("tp4_memory",),
        "one training step of the Conv3D net: {first.side}³ b{first.batch} {first.measured_peak_mb:,.1f} MB … "
        "{last.side}³ b{last.batch} **{last.measured_peak_mb:,.0f} MB** measured peak ({low:.1f}–{high:.1f}× the "
        "activations computed from the shapes)", derive=_memory),
    Row("TP4, IoU vs Dice (2-pixel erosion)", ("tp4_unet",),
        "radius {small.radius} px: Dice {small.dice:.3f}, IoU {small.iou:.3f}; "
        "radius {large.radius} px: Dice {large.dice:.3f}, IoU {large.iou:.3f}", derive=_iou_vs_dice),
    Row("TP5", ("tp5_attention",),
        "test accuracy **{test_accuracy:.3f}**, attention on the deciding token for **{focus_top1:.0%}** "
        "of test sentences (mean weight {focus_mean_weight:.4f}, uniform {uniform_weight:.2f})",
        "— (the original's task was unlearnable)"),
    Row("TP5", ("tp5_seq2seq", "tp5_seq2seq_co2"),
        "MASE vs seasonal naive: synthetic **{tp5_seq2seq.mase_seasonal:.2f}**, CO2 "
        "**{tp5_seq2seq_co2.mase_seasonal:.2f}** ({verdict} seasonal naive); on CO2 the teacher-forced "
        "error is {leak_pct:.0f} % lower than the honest autoregressive one",
        "(the original leaked the future)", derive=lambda results: _pct_lower(results, "tp5_seq2seq_co2")),
    Row("TP5 research", ("tp5_research",),
        "Moving MNIST, {seeds} predictor seeds, {minutes:.0f} min (load average {load:.0f} on 2 cores). Identity "
        "instrument on true frame 50 **{instrument_true_identity50:.1%}**, on the autoencoder's reconstructions "
        "{instrument_reconstructed_identity50:.1%} (chance {instrument_chance:.0%}, constant guess "
        "{instrument_constant:.1%}). 10 → 10 MSE per frame: autoencoder floor **{autoencoder_standard_mse:.1f}**, "
        "SimVP-style baseline {baseline_standard_mse:.1f}, best latent predictor {best_name} {best_mse:.1f}, "
        "copy-last {copy_last_standard_mse:.1f}",
        "MSE {ref.tp5_research.mse:.3f} → {ref.tp5_research.mse_improved:.3f} (never run)", derive=_research),
]


class _RecordFormatter(string.Formatter):
    """Resolves ``name.key.0.key`` through dicts and lists (str.format would use attributes)."""

    def get_field(self, field_name, args, kwargs):
        value = kwargs
        for part in field_name.split("."):
            try:
                value = value[int(part)] if isinstance(value, list) else value[part]
            except (KeyError, IndexError, ValueError, TypeError):
                raise RecordError(f"no value {field_name!r} in the records") from None
        return value, field_name


def references() -> dict:
    """dltp.references as ``{experiment id with _ for .: {key: value}}``."""
    sys.path.insert(0, str(ROOT / "src"))
    from dltp.references import QUOTED_ONLY, REFERENCES

    found: dict = {}
    for experiment, refs in (*REFERENCES.items(), *QUOTED_ONLY.items()):
        found.setdefault(experiment.replace(".", "_"), {}).update({r.key: r.value for r in refs})
    return found


def load_record(name: str, labs: Path = LABS) -> dict:
    path = labs / f"{name}.json"
    if not path.exists():
        raise RecordError(f"no record {path}: run `python bench/record.py {name} -- dltp run ... --json`")
    return json.loads(path.read_text())


def command(record: dict) -> str:
    return record["command"].replace(" --json", "")


def render_row(row: Row, labs: Path = LABS, problems: list | None = None, strict: bool = True) -> str:
    """The row's table line. With ``problems``, a row that its records cannot give (a missing record or
    key) is rendered as "not recorded yet" and the reason appended there; without, it is an error. With
    ``strict``, a dirty or stale record (bench/_provenance.py) is not quoted: the row says so."""
    links = ", ".join(f"[{name}](bench/results/labs/{name}.json)" for name in row.records)
    try:
        records = {name: load_record(name, labs) for name in row.records}
        refused = [name for name, r in records.items() if strict and _provenance.problems(r, ROOT)]
        if refused:
            return (f"| {row.lab} | *{_docs.NOT_AT_THIS_COMMIT}* | "
                    f"{_RecordFormatter().format(row.original, ref=references())} | {links} |")
        results = {name: r["result"] for name, r in records.items()}
        first = records[row.records[0]]
        # the machine's load when the command started, and the command's wall time
        context = {"load": first["load_average_before"][0], "wall_seconds_of_command": first.get("seconds")}
        try:
            values = {**results[row.records[0]], **context, **results, **row.derive(results)}
        except (KeyError, ValueError) as missing:  # ValueError: a derived figure finds nothing to derive from
            raise RecordError(f"{row.records}: no key {missing} in the record") from None
        commands = " / ".join(f"`{command(r)}`" for r in records.values())
        measured = _RecordFormatter().format(row.measured, **values)
        original = _RecordFormatter().format(row.original, ref=references())
    except RecordError as error:
        if problems is None:
            raise
        problems += [(name, f"README results table, row {row.lab}: {error}") for name in row.records]
        return (f"| {row.lab} | *not recorded yet: `make records ONLY=\"{' '.join(row.records)}\"`* | "
                f"{_RecordFormatter().format(row.original, ref=references())} | {links} |")
    return f"| {row.lab}, {commands} | {measured} | {original} | {links} |"


def render(rows: list[Row] = ROWS, labs: Path = LABS, problems: list | None = None, strict: bool = True) -> str:
    lines = ["| lab, command | measured | original author | record |", "|---|---|---|---|"]
    lines += [render_row(row, labs, problems, strict) for row in rows]
    return "\n".join(lines)


def section(text: str, start: str = START, end: str = END, what: str = "the README") -> str:
    """What ``text`` holds between the markers (without the newlines next to them)."""
    if start not in text or end not in text:
        raise RecordError(f"{what} has no {start} … {end} section")
    return text.partition(start)[2].partition(end)[0].strip("\n")


def replace_section(text: str, body: str, start: str = START, end: str = END) -> str:
    head, _, rest = text.partition(start)
    return f"{head}{start}\n{body}\n{end}{rest.partition(end)[2]}"


def bench_section(runs: Path = RUNS, problems: list | None = None, strict: bool = True) -> str:
    """docs/benchmarks.md's generated section: each benchmark's latest recorded output."""
    import run_all

    sections = []
    for script in run_all.scripts():
        path = runs / f"{script.stem}.json"
        if not path.exists():
            sections.append(f"### {script.stem}\n\n*Not measured yet:* `python bench/run_all.py --only {script.stem}`\n")
            if problems is not None:
                problems.append((script.stem, "docs/benchmarks.md: not measured yet"))
            continue
        r = json.loads(path.read_text())
        if strict and _provenance.problems(r, ROOT):
            sections.append(f"### {script.stem}\n\n*{_docs.NOT_AT_THIS_COMMIT_LEAD}:* "
                            f"`python bench/run_all.py --only {script.stem}`\n")
            continue
        status = "" if r["returncode"] == 0 else f" — **failed (exit {r['returncode']})**"
        context = f", {r['threads']} thread(s)" if r.get("threads") else ""
        if r.get("load_average_at_start") is not None:
            context += f", load average {r['load_average_at_start']:.1f} at start"
        commit = f", commit {r['commit'][:7]}" if r.get("commit") else ", no commit recorded"
        # progress bars (terminal escapes, MLflow's downloads) are not figures
        output = "\n".join(line for line in r["output"].splitlines()
                           if "\x1b[" not in line and "it/s]" not in line).strip()
        if not any(line.startswith("|") for line in output.splitlines()):
            output = f"```text\n{output}\n```"  # plain-text output keeps its columns
        sections.append(f"### {r['benchmark']}{status}\n\n_measured {r['date']} ({r['machine']}{context}{commit}), "
                        f"{r['seconds']:.0f} s; record [`{path.name}`](../bench/results/runs/{path.name})_\n\n"
                        f"{output}\n")
    return ("Measured by `make bench` (`python bench/run_all.py`); every figure below was printed by the "
            "benchmark named above it.\n\n" + "\n".join(sections)).strip("\n")


def docs() -> list[Path]:
    """The files whose figures are checked: README.md and docs/**/*.md."""
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def expected(path: Path, records: Records, problems: list) -> str:
    """What ``path`` should hold: its generated sections and record blocks rendered from the records."""
    text = path.read_text()
    if path == README and START in text:
        text = replace_section(text, render(problems=problems, strict=records.strict))
    if BENCH_START in text:
        text = replace_section(text, bench_section(problems=problems, strict=records.strict), BENCH_START, BENCH_END)
    return _docs.render(text, path, records)


def _diff(path: Path, actual: str, wanted: str) -> list[str]:
    actual_lines, wanted_lines = actual.splitlines(), wanted.splitlines()
    shown = [f"{path.relative_to(ROOT)}: the file says: {line}" for line in actual_lines if line not in wanted_lines]
    shown += [f"{path.relative_to(ROOT)}: the records say: {line}" for line in wanted_lines if line not in actual_lines]
    return shown or [f"{path.relative_to(ROOT)}: differs from its records (python bench/render_results.py)"]


def check_text(paths: list[Path] | None = None) -> list[str]:
    """Problems of the docs themselves: text that differs from its records, figures typed by hand,
    broken links, images no record lists. Empty when the docs say what the records say."""
    records = Records()
    # an image of a stale record is still its record's (its block no longer shows it)
    listed = {(ROOT / f["file"]).resolve() for r in Records(strict=False).all().values() if r
              for f in r.get("figures", [])}
    problems = []
    for path in paths or docs():
        text = path.read_text()
        wanted = expected(path, records, [])
        if wanted != text:
            problems += _diff(path, text, wanted)
        name = path.relative_to(ROOT)
        problems += [f"{name}:{line}: figure {figure!r} has no record (put it in a record block, or declare it in "
                     f"<!-- settings --> if it is set, not measured): {context}"
                     for line, figure, context in _docs.hand_typed(text)]
        problems += [f"{name}: link {target} does not resolve: {why}" for target, why, _ in _docs.links(text, path)]
        problems += [f"{name}: image {image.relative_to(ROOT) if image.is_relative_to(ROOT) else image} is listed by "
                     f"no record's figures (bench/record.py --figures)"
                     for image in _docs.images(text, path) if image.exists() and image not in listed]
    for png in sorted((ROOT / "docs" / "figures").rglob("*.png")):
        name = png.relative_to(ROOT)
        if png.resolve() not in listed:
            problems.append(f"{name}: no record lists it (delete it, or take its record again with --figures)")
        if png.stat().st_size > MAX_FIGURE_BYTES:
            problems.append(f"{name}: {png.stat().st_size:,} bytes, over {MAX_FIGURE_BYTES:,} "
                            "(bench/record.py shrinks them)")
    return problems


def manifest() -> dict:
    """bench/records.toml: every lab record's command and environment."""
    return tomllib.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}


def _quoted(paths: list[Path]) -> tuple[Records, list[tuple[str, str]], set[str], set[str]]:
    """The records ``paths`` quote (after rendering them: what the rendering missed, by record), and which
    of them are benchmarks."""
    records, rendering = Records(strict=False), []
    for path in paths:
        expected(path, records, rendering)
    quoted = records.used | ({name for row in ROWS for name in row.records} if README in paths else set())
    benchmarks: set[str] = set()
    if any(BENCH_START in path.read_text() for path in paths):
        import run_all

        benchmarks = {p.stem for p in run_all.scripts()}
        quoted |= benchmarks
    return records, rendering, quoted, benchmarks


def stale(paths: list[Path] | None = None) -> list[str]:
    """The quoted records that exist but are dirty or stale (what a renderer refuses to quote), each with
    why and the command that takes it again."""
    records, _, quoted, benchmarks = _quoted(paths or docs())
    found = []
    for name in sorted(quoted):
        record = records.get(name)
        why = _provenance.problems(record, ROOT) if record is not None else []
        if why:
            again = f"python bench/run_all.py --only {name}" if name in benchmarks else f"make records ONLY={name}"
            found.append(f"{name}: {'; '.join(why)} → {again}")
    return found


def check_records(paths: list[Path] | None = None) -> list[str]:
    """Problems of the records the docs quote: missing, dirty, stale, lacking what a block asks for, or
    taken with another command than bench/records.toml gives. Empty when every quoted record is sound."""
    records, rendering, quoted, benchmarks = _quoted(paths or docs())
    specs = manifest()
    by_record: dict[str, list[str]] = {}
    for name, why in [*rendering, *records.problems]:
        by_record.setdefault(name, []).append(why)
    for name in sorted(quoted):
        record = records.get(name)
        if record is None:
            by_record.setdefault(name, []).append("no record")
            continue
        why = _provenance.problems(record, ROOT)
        spec = specs.get(name)
        if name not in benchmarks and spec is not None:  # a lab record: its command is in the manifest
            if record.get("command") != spec["command"] or record.get("env", {}) != spec.get("env", {}):
                why.append(f"taken with {record.get('env', {})} {record.get('command')!r} where bench/records.toml "
                           f"gives {spec.get('env', {})} {spec['command']!r}")
        by_record.setdefault(name, []).extend(why)
    labs, runs, lines = [], [], []
    for name, why in sorted(by_record.items()):
        if not why:
            continue
        (runs if name in benchmarks else labs).append(name)
        if name not in specs and name not in benchmarks:
            why.append("bench/records.toml has no entry for it: add one")
        lines.append(f"  {name}: " + "; ".join(dict.fromkeys(why)))
    if not lines:
        return []
    minutes = sum(specs.get(name, {}).get("minutes", 0) for name in labs)
    head = [f"take these {len(labs)} lab records again (about {minutes} min): make records ONLY=\"{' '.join(labs)}\""]
    if runs:
        head.append(f"and these {len(runs)} benchmarks: python bench/run_all.py --only {' '.join(runs)}")
    return head + ["because:"] + lines


def write(allow_stale: bool = False, paths: list[Path] | None = None) -> list[Path]:
    """Rewrite every generated section and record block; the files changed. A dirty or stale record
    (bench/_provenance.py) is not quoted: its blocks say "not measured at this commit", unless
    ``allow_stale`` (a preview: the docs check then fails); a missing record or key is rendered as a
    visible "not recorded yet" (and reported by check_records)."""
    records, changed = Records(strict=not allow_stale), []
    for path in paths or docs():
        text = path.read_text()
        wanted = expected(path, records, [])
        if wanted != text:
            path.write_text(wanted)
            changed.append(path)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on any problem")
    parser.add_argument("--allow-stale", action="store_true",
                        help="a preview that quotes dirty or stale records too (--check then fails)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            text, stale = check_text(), check_records()
            for title, problems in (("docs that disagree with their records", text),
                                    ("records to re-record", stale)):
                if problems:
                    print(f"{title}:", *problems, sep="\n  ", file=sys.stderr)
            return 1 if text or stale else 0
        changed = write(allow_stale=args.allow_stale)
    except RecordError as error:
        print(f"render_results: {error}", file=sys.stderr)
        return 1
    for path in changed:
        print(f"rendered: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
