"""Each lab module reads as its lab: the course's steps under numbered headings (``# 1. Data``), in
the course's order, with helpers below them, never before; and no budget chosen inline by --quick."""

import ast
import re
from pathlib import Path
from typing import NamedTuple

import pytest

LABS_DIR = Path(__file__).resolve().parents[1] / "src" / "dltp" / "labs"
# A step heading: "# 2. Model: ..." in a function, or "# ------ 2. Model" as a module banner.
HEADING = re.compile(r"^\s*#(?: -+)? (\d+)\. (.+)$")
# A budget picked inline by --quick: "(200, 50) if cfg.quick else (500, 100)", "4 if quick else 10".
INLINE_QUICK = re.compile(r"\bif (?:cfg\.)?quick else\b|\bQUICK_[A-Z_]+\s*=")


class Lab(NamedTuple):
    steps: tuple[str, ...]  # each heading's start, in order: "Data" matches "# 1. Data: MNIST, ..."
    before: tuple[str, ...] = ()  # top-level functions allowed above the first step (entry points)
    pending: str = ""  # why the module is not checked yet


LABS = {
    "tp1.py": Lab(("Data", "Model", "Training", "Evaluation", "Registration")),
    "tp1_batching.py": Lab(("Data", "Model", "Training", "Evaluation", "Comparison")),
    "tp2.py": Lab(("Data", "Bias/variance", "Regularisation", "Optimisers", "BatchNorm", "Comparison")),
    "tp2_diagnosis.py": Lab(("Bias/variance", "Regularisation", "Optimisers", "BatchNorm")),
    "tp3.py": Lab(("Data", "Model", "Training", "Evaluation", "Comparison", "The concepts"),
                  before=("run_cnn", "run_resnet", "load_data")),
    "tp3_detection.py": Lab(("Data", "Model", "Training", "Evaluation")),
    "tp3_style_transfer.py": Lab(("Images", "Model", "Loss and optimisation loop", "Result")),
    # Two exercises of the course in one module, each with its data, model, training and evaluation.
    "tp4.py": Lab(("U-Net segmentation", "IoU vs Dice", "Conv3D")),
    "tp4_memory.py": Lab(("Model", "From the shapes", "Measured", "Comparison")),
    "tp5_attention.py": Lab(("Data", "Model", "Training", "Evaluation", "Visualisation")),
    "tp5_seq2seq.py": Lab(("Data", "Model", "Training", "Forecast", "Evaluation", "Attention")),
}
NOT_LABS = {"__init__.py", "common.py", "targets.py"}  # shared pieces, no lab of their own


def headings(source: str) -> list[tuple[int, int, str]]:
    """(line, number, title) of every step heading, top to bottom."""
    return [(i, int(m[1]), m[2]) for i, line in enumerate(source.splitlines(), start=1)
            if (m := HEADING.match(line))]


def test_every_module_of_the_labs_package_is_in_the_table():
    assert {p.name for p in LABS_DIR.glob("*.py")} == set(LABS) | NOT_LABS


@pytest.mark.parametrize("name", sorted(LABS))
def test_a_lab_module_tells_the_course_steps_in_order(name):
    lab = LABS[name]
    if lab.pending:
        pytest.skip(lab.pending)
    source = (LABS_DIR / name).read_text()
    found = headings(source)
    assert [n for _, n, _ in found] == list(range(1, len(found) + 1)), f"{name}: steps numbered 1, 2, 3, …"
    titles = [title for _, _, title in found]
    assert len(titles) == len(lab.steps) and all(t.startswith(s) for t, s in zip(titles, lab.steps)), \
        f"{name}: {titles} should be {list(lab.steps)}"

    first = found[0][0]
    above = [node.name for node in ast.parse(source).body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.end_lineno < first]
    assert set(above) <= set(lab.before), f"{name}: {above} come before the first step; move them below"

    inline = [line.strip() for line in source.splitlines() if INLINE_QUICK.search(line)]
    assert not inline, f"{name}: declare these budgets in dltp.registry (full and quick side by side): {inline}"


def test_the_heading_pattern_reads_both_forms_and_nothing_else():
    source = "# 1. Data: MNIST\n    # 2. Model\n# ------------- 3. Training\n# 4 epochs\n# see 5. below\n"
    assert headings(source) == [(1, 1, "Data: MNIST"), (2, 2, "Model"), (3, 3, "Training")]
    assert INLINE_QUICK.search("n_train = (200, 50) if cfg.quick else (500, 100)")
    assert INLINE_QUICK.search("QUICK_SUBSET = (1000, 500)") and not INLINE_QUICK.search("if cfg.quick and x:")
