"""`make bench`'s runner: keeps every benchmark's latest output with its provenance, re-measures subsets,
rewrites docs/benchmarks.md's section between its markers and nothing else, and refuses to render a
record that no longer describes the code."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=root, check=True,
                   capture_output=True)


def make_project(tmp_path: Path) -> Path:
    bench = tmp_path / "bench"
    bench.mkdir()
    for name in ("run_all.py", "_common.py", "_preferences.py", "render_results.py", "_docs.py", "_provenance.py", "_rounds.py"):
        shutil.copy(BENCH / name, bench / name)
    shutil.copytree(BENCH / "_hook", bench / "_hook")
    (bench / "alpha.py").write_text("import os\nprint('| alpha | ' + os.environ.get('OMP_NUM_THREADS', '-') + ' |')\n")
    (bench / "beta.py").write_text("import sys\nprint('beta table')\nsys.exit(int(open('fail').read()))\n")
    (bench / "beta_worker.py").write_text("raise SystemExit('a worker is never run as a benchmark')\n")
    (tmp_path / "fail").write_text("0")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "benchmarks.md").write_text(
        "# x\n\nbefore\n<!-- bench:start -->\nold\n<!-- bench:end -->\nafter\n")
    (tmp_path / ".gitignore").write_text("__pycache__/\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "start")
    return tmp_path


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / "bench" / "run_all.py"), *args], capture_output=True,
                          text=True, cwd=root)


def test_subsets_merge_into_one_summary_and_the_docs_page(tmp_path):
    root = make_project(tmp_path)
    docs = root / "docs" / "benchmarks.md"
    proc = run(root, "--only", "alpha", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    page = docs.read_text()
    assert "| alpha | 1 |" in page and "### beta\n\n*Not measured yet:*" in page
    assert page.startswith("# x\n\nbefore\n<!-- bench:start -->") and page.endswith("<!-- bench:end -->\nafter\n")
    assert "old" not in page
    alpha = json.loads((root / "bench" / "results" / "runs" / "alpha.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    assert alpha["commit"] == head and alpha["dirty"] is False and alpha["measured"] == ["bench/alpha.py"]
    assert f"commit {head[:7]}" in page and "[`alpha.json`](../bench/results/runs/alpha.json)" in page

    git(root, "commit", "-qam", "docs")  # else the rewritten page is dirt for the next measurement
    proc = run(root, "--only", "beta")
    assert proc.returncode == 0, proc.stderr
    page = docs.read_text()
    assert "| alpha | 1 |" in page and "beta table" in page  # alpha's latest figures kept
    summary = json.loads((root / "bench" / "results" / "summary.json").read_text())
    assert [r["benchmark"] for r in summary] == ["alpha", "beta"]
    assert "worker" not in page

    docs.write_text("<!-- bench:start -->\n<!-- bench:end -->\n")
    proc = run(root, "--render")  # nothing runs; the recorded figures come back
    assert proc.returncode == 0 and "== alpha ==" not in proc.stdout
    assert "| alpha | 1 |" in docs.read_text()


def test_a_record_whose_script_changed_is_not_rendered(tmp_path):
    root = make_project(tmp_path)
    assert run(root).returncode == 0
    docs = root / "docs" / "benchmarks.md"
    docs.write_text("<!-- bench:start -->\n<!-- bench:end -->\n")
    (root / "bench" / "alpha.py").write_text("print('| alpha | changed |')\n")
    git(root, "commit", "-qam", "alpha changed")
    proc = run(root, "--render")  # alpha's figures are not shown: a gap, and the command that fills it
    assert "alpha: files it measured changed" in proc.stderr and "python bench/run_all.py --only alpha" in proc.stderr
    page = docs.read_text()
    assert "| alpha |" not in page and "### alpha\n\n*Not measured at this commit" in page
    assert "python bench/run_all.py --only alpha" in page


def test_a_failing_benchmark_is_marked_and_fails_the_run(tmp_path):
    root = make_project(tmp_path)
    (root / "fail").write_text("3")
    proc = run(root, "--no-docs")
    assert proc.returncode == 1
    assert "### beta — **failed (exit 3)**" in (root / "bench" / "results" / "summary.md").read_text()
    assert "old" in (root / "docs" / "benchmarks.md").read_text()  # --no-docs leaves it alone
    beta = json.loads((root / "bench" / "results" / "runs" / "beta.json").read_text())
    assert beta["dirty"] is True and beta["dirty_files"] == ["fail"]  # a changed file counts as dirt


def test_an_unknown_benchmark_is_a_usage_error(tmp_path):
    root = make_project(tmp_path)
    proc = run(root, "--only", "gamma")
    assert proc.returncode == 2 and "unknown benchmark(s) gamma" in proc.stderr
    assert not (root / "bench" / "results").exists()
