"""The README's results table, regenerated from the committed records (bench/results/labs/NAME.json,
written by bench/record.py): no figure in it is typed by hand.

A row is declared in ROWS: which records it quotes, how to phrase their figures (a format string
over each record's ``result``), and the original author's figure. Fields name a record's result key
(``{test_accuracy:.4f}`` for a row's first record) or a record and a key path
(``{tp5_seq2seq_co2.mase_seasonal:.2f}``, ``{tp4_unet.iou_vs_dice.0.dice}``). ``derive`` adds
values computed from the results (a ratio, a phrase that depends on a figure); ``{load}`` is the
load average when the first record's command started, ``{wall_seconds_of_command}`` its wall time.

    python bench/render_results.py           # rewrite the README between the results markers
    python bench/render_results.py --check   # exit 1 when the README differs from the records

`bench/run_all.py` calls it too, so `make bench` refreshes both generated sections; the test
tests/bench/test_results_table.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "bench" / "results" / "labs"
README = ROOT / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


class RecordError(Exception):
    """A row quotes a record that does not exist, or a key that the record does not have."""


@dataclass(frozen=True)
class Row:
    """One line: `lab, command` | measured | original author | links to the records."""

    lab: str  # "TP1"; the command is taken from the record itself
    records: tuple[str, ...]  # names in bench/results/labs/; the first one's keys need no prefix
    measured: str  # a format string over the records' results (see the module's docstring)
    original: str = "—"  # the original author's figure, as the course reported it (MISSION.md)
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


def _suite(results: dict) -> dict:
    """`dltp run all --quick`: targets met, and each experiment's backend and seconds."""
    runs = results["run_all_quick"]["results"]
    met = [r for r in runs if r.get("target_met")]
    per = ", ".join(f"{r['experiment']} {r['seconds']:.0f} s ({r['backend']})" for r in runs)
    return {"met": len(met), "ran": len(runs), "per_experiment": per}


ROWS: list[Row] = [
    Row("`make run`", ("run_all_quick",),
        "**{met} of {ran}** experiments meet their quick target, offline, in **{wall_seconds_of_command:.0f} s** (load average "
        "{load:.1f} on 2 cores, one thread): {per_experiment}", derive=_suite),
    Row("TP1", ("tp1_fashion_mnist",),
        "test accuracy **{test_accuracy:.4f}** ({epochs} epochs)", "0.9781 on MNIST"),
    Row("TP1", ("tp1_batching_fashion_mnist",),
        "val loss after {budget_s:.0f} s of training (load average {load:.0f} on 2 cores), lowest first: "
        "{by_loss}", derive=_batching),
    Row("TP2", ("tp2_fashion_mnist",),
        "baseline **{diagnosis}** (gap {diagnose.gap:+.3f}, val loss lowest at epoch {diagnose.best_epoch}), test "
        "{diagnose.test_accuracy:.4f}; L2 + Dropout 0.5 → {regularized_diagnosis} (gap {regularize.gap:+.3f}, test "
        "{regularize.test_accuracy:.4f}); test accuracy {ranking}; whole lab {wall_seconds:.0f} s (load average "
        "{load:.0f} on 2 cores)",
        "Adam 0.9828, RMSprop 0.9823, SGD 0.9738 (MNIST)", derive=_optimizer_ranking),
    Row("TP2", ("tp2_batchnorm_fashion_mnist",),
        "BatchNorm converges faster: **{converges_faster}**: val accuracy reaches {val_accuracy_level:.4f} "
        "(98 % of the better model's best) at epoch {epochs_to_level} with BatchNorm, {without_bn_epochs_to_level} "
        "without; test {test_accuracy:.4f} vs {without_bn_test_accuracy:.4f}", "— (judged on MNIST's 0.975)"),
    Row("TP4", ("tp4_unet",),
        "val Dice **{val_dice:.4f}**, val IoU **{val_iou:.4f}** ({epochs} epochs)",
        "val Dice 0.9937, IoU 0.9875"),
    Row("TP4", ("tp4_conv3d",),
        "sphere vs cube of equal volume: val accuracy **{val_accuracy:.3f}** (chance {chance_accuracy:.2f}), "
        "val AUC {val_auc:.3f} ({epochs} epochs)", "(random numbers logged)"),
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
        "{seeds} seeds, {backend}, {minutes:.0f} min (load average {load:.0f} on 2 cores). Object consistency at "
        "frame 50, teacher forcing → rollout training (k = {rollout_steps}): TAP {tap_consistency:.1%} → "
        "{tap_rollout_consistency:.1%}, TAP-T {tap_t_L2_consistency:.1%} → {tap_t_L2_rollout_consistency:.1%}, "
        "TAP-M {tap_m_all_consistency:.1%} → {tap_m_all_rollout_consistency:.1%}; copy-last-frame "
        "**{copy_last_consistency:.1%}**: the identity gap is not closed (spreads in the lab's doc). Standard "
        "protocol (10 → 10, MSE per frame): TAP {tap_standard_mse:.1f} → **{tap_rollout_standard_mse:.1f}**, "
        "TAP-T {tap_t_L2_standard_mse:.1f} → {tap_t_L2_rollout_standard_mse:.1f}; autoencoder floor "
        "{autoencoder_standard_mse:.1f}, copy-last {copy_last_standard_mse:.1f}",
        "MSE 0.081 → 0.055 (never run)",
        derive=lambda results: {"minutes": results["tp5_research"]["wall_seconds"] / 60}),
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


def load_record(name: str, labs: Path = LABS) -> dict:
    path = labs / f"{name}.json"
    if not path.exists():
        raise RecordError(f"no record {path}: run `python bench/record.py {name} -- dltp run ... --json`")
    return json.loads(path.read_text())


def command(record: dict) -> str:
    return record["command"].replace(" --json", "")


def render_row(row: Row, labs: Path = LABS) -> str:
    records = {name: load_record(name, labs) for name in row.records}
    results = {name: r["result"] for name, r in records.items()}
    try:
        first = records[row.records[0]]
        # the machine's load when the command started, and the command's wall time
        context = {"load": first["load_average_before"][0], "wall_seconds_of_command": first.get("seconds")}
        values = {**results[row.records[0]], **context, **results, **row.derive(results)}
    except KeyError as missing:
        raise RecordError(f"{row.records}: no key {missing} in the record") from None
    commands = " / ".join(f"`{command(r)}`" for r in records.values())
    links = ", ".join(f"[{name}](bench/results/labs/{name}.json)" for name in row.records)
    measured = _RecordFormatter().format(row.measured, **values)
    return f"| {row.lab}, {commands} | {measured} | {row.original} | {links} |"


def render(rows: list[Row] = ROWS, labs: Path = LABS) -> str:
    lines = ["| lab, command | measured | original author | record |", "|---|---|---|---|"]
    lines += [render_row(row, labs) for row in rows]
    return "\n".join(lines)


def section(text: str) -> str:
    """What the README holds between the markers (without the newlines next to them)."""
    if START not in text or END not in text:
        raise RecordError(f"the README has no {START} … {END} section")
    return text.partition(START)[2].partition(END)[0].strip("\n")


def check(readme: Path = README, rows: list[Row] = ROWS, labs: Path = LABS) -> list[str]:
    """The README lines that differ from what the records give (empty: all in agreement)."""
    expected = render(rows, labs).splitlines()
    actual = section(readme.read_text()).splitlines()
    problems = [f"README: {line}" for line in actual if line not in expected]
    problems += [f"records: {line}" for line in expected if line not in actual]
    return problems


def write(readme: Path = README, rows: list[Row] = ROWS, labs: Path = LABS) -> None:
    text = readme.read_text()
    section(text)  # the markers must be there
    head, _, rest = text.partition(START)
    readme.write_text(f"{head}{START}\n{render(rows, labs)}\n{END}{rest.partition(END)[2]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the README disagrees")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check()
            for line in problems:
                print(line, file=sys.stderr)
            return 1 if problems else 0
        write()
    except RecordError as error:
        print(f"render_results: {error}", file=sys.stderr)
        return 1
    print(f"results table: {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
