"""`make bench`'s runner: keeps every benchmark's latest output, re-measures subsets, rewrites the
README section between its markers and nothing else."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def make_project(tmp_path: Path) -> Path:
    bench = tmp_path / "bench"
    bench.mkdir()
    for name in ("run_all.py", "_common.py", "_preferences.py"):
        shutil.copy(BENCH / name, bench / name)
    (bench / "alpha.py").write_text("import os\nprint('| alpha | ' + os.environ.get('OMP_NUM_THREADS', '-') + ' |')\n")
    (bench / "beta.py").write_text("import sys\nprint('beta table')\nsys.exit(int(open('fail').read()))\n")
    (bench / "beta_worker.py").write_text("raise SystemExit('a worker is never run as a benchmark')\n")
    (tmp_path / "fail").write_text("0")
    (tmp_path / "README.md").write_text("# x\n\nbefore\n<!-- bench:start -->\nold\n<!-- bench:end -->\nafter\n")
    return tmp_path


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / "bench" / "run_all.py"), *args], capture_output=True,
                          text=True, cwd=root)


def test_subsets_merge_into_one_summary_and_the_readme(tmp_path):
    root = make_project(tmp_path)
    proc = run(root, "--only", "alpha", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    readme = (root / "README.md").read_text()
    assert "| alpha | 1 |" in readme and "### beta — not measured yet" in readme
    assert readme.startswith("# x\n\nbefore\n<!-- bench:start -->") and readme.endswith("<!-- bench:end -->\nafter\n")
    assert "old" not in readme

    proc = run(root, "--only", "beta")
    assert proc.returncode == 0, proc.stderr
    readme = (root / "README.md").read_text()
    assert "| alpha | 1 |" in readme and "beta table" in readme  # alpha's latest figures kept
    summary = json.loads((root / "bench" / "results" / "summary.json").read_text())
    assert [r["benchmark"] for r in summary] == ["alpha", "beta"]
    assert "worker" not in readme

    (root / "README.md").write_text("<!-- bench:start -->\n<!-- bench:end -->\n")
    proc = run(root, "--render")  # nothing runs; the recorded figures come back
    assert proc.returncode == 0 and "== alpha ==" not in proc.stdout
    assert "| alpha | 1 |" in (root / "README.md").read_text()


def test_a_failing_benchmark_is_marked_and_fails_the_run(tmp_path):
    root = make_project(tmp_path)
    (root / "fail").write_text("3")
    proc = run(root, "--no-readme")
    assert proc.returncode == 1
    assert "### beta — **failed (exit 3)**" in (root / "bench" / "results" / "summary.md").read_text()
    assert "old" in (root / "README.md").read_text()  # --no-readme leaves it alone


def test_an_unknown_benchmark_is_a_usage_error(tmp_path):
    root = make_project(tmp_path)
    proc = run(root, "--only", "gamma")
    assert proc.returncode == 2 and "unknown benchmark(s) gamma" in proc.stderr
    assert not (root / "bench" / "results").exists()
