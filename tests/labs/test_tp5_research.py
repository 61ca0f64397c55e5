"""TP5 research: the moving-digits generator, the consistency metric, an end-to-end smoke run in a
tiny configuration, and the paper: every number in the .tex comes from results.json, and the
tables equal the MLflow runs."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dltp import cli
from dltp.research import data as mdata


def _digits():
    from dltp.data.digits import load_digits

    return load_digits()


def test_moving_digits_are_seeded_bounded_and_labelled():
    d = _digits()
    a = mdata.moving_digits(d.x_train, d.y_train, 6, frames=20, size=64, seed=3)
    b = mdata.moving_digits(d.x_train, d.y_train, 6, frames=20, size=64, seed=3)
    c = mdata.moving_digits(d.x_train, d.y_train, 6, frames=20, size=64, seed=4)
    assert a.frames.shape == (6, 20, 64, 64) and a.frames.dtype == np.uint8
    np.testing.assert_array_equal(a.frames, b.frames)
    assert not np.array_equal(a.frames, c.frames)
    assert set(a.n_digits.tolist()) <= {1, 2} and (a.labels[:, 0] >= 0).all()
    # Ink is conserved frame to frame for single-digit sequences (the digit never leaves the frame).
    single = np.flatnonzero(a.n_digits == 1)
    for n in single:
        ink = a.frames[n].reshape(20, -1).astype(int).sum(axis=1)
        assert (ink == ink[0]).all()
    # Things move.
    assert (a.frames[:, 0] != a.frames[:, -1]).any(axis=(1, 2)).all()


def test_moving_digits_reject_bad_shapes():
    from dltp.errors import DltpError

    d = _digits()
    with pytest.raises(DltpError, match="at least"):
        mdata.moving_digits(d.x_train, d.y_train, 2, size=30)
    with pytest.raises(DltpError, match="28"):
        mdata.moving_digits(np.zeros((3, 32, 32), np.uint8), np.zeros(3, int), 2)


def test_consistency_counts_digits_among_top_k():
    probs = np.array([[0.9, 0.8, 0, 0, 0, 0, 0, 0, 0, 0.1],   # top-2 = {0, 1}
                      [0.1, 0.2, 0.9, 0, 0, 0, 0, 0, 0, 0]])  # top-1 = {2}
    labels = np.array([[0, 9], [2, -1]])
    assert mdata.consistency(probs, labels) == pytest.approx(2 / 3)
    assert mdata.consistency(probs, np.array([[0, 0], [2, -1]])) == pytest.approx(1.0)  # 0,0 is one class


TINY = ["--sequences", "12", "--test-sequences", "4", "--epochs", "1", "--ae-epochs", "1", "--seeds", "2"]


def _numbers(tex: str) -> list[str]:
    """Numbers written in the paper's body (bibliography, labels, refs, citations and math
    sub/superscripts excluded)."""
    body = tex.split(r"\begin{document}", 1)[1].split(r"\begin{thebibliography}", 1)[0]
    body = re.sub(r"\\(cite|ref|label|includegraphics|begin|end)(\[[^\]]*\])?\{[^}]*\}", "", body)
    body = re.sub(r"[_^]\{[^}]*\}|[_^]\w", "", body)
    return re.findall(r"(?<![\w.])\d+(?:\.\d+)?", body)


def _json_values(obj) -> list[float]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, (int, float)):
        return [float(obj)]
    if isinstance(obj, dict):
        return [v for x in obj.values() for v in _json_values(x)]
    if isinstance(obj, list):
        return [v for x in obj for v in _json_values(x)]
    return []


@pytest.mark.slow
def test_research_smoke_run_tracking_and_paper(capsys, mlflow_store, tmp_path):
    from mlflow.tracking import MlflowClient

    results_dir = tmp_path / "res"
    code = cli.main(["run", "tp5.research", *TINY, "--seed", "5", "--results-dir", str(results_dir), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    results = json.loads((results_dir / "results.json").read_text())
    assert summary["results_json"] == str(results_dir / "results.json")
    assert results["seeds"] == [5, 6] and results["settings"]["frames"] == 50
    assert len(results["copy_last"]["mse_per_frame"]) == 40
    rollouts = np.load(results_dir / "rollouts.npz")
    assert rollouts["true"].shape == (2, 50, 64, 64) and rollouts["tap-t-L2"].shape == (2, 40, 64, 64)

    # One parent run, child runs per model and seed; the JSON's statistics are the runs' metrics.
    client = MlflowClient()
    parent = client.get_run(summary["run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["dltp.experiment"] == "tp5.research"
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    variants = {}
    for run in children:
        assert run.info.status == "FINISHED"
        variants.setdefault(run.data.tags.get("dltp.variant", "frame-models"), []).append(run)
    assert set(variants) == {"frame-models", "copy-last", *results["models"]}
    assert all(len(variants[v]) == 2 for v in results["models"])
    tracked = {}
    for v, runs in variants.items():
        if v in results["models"]:
            values = [r.data.metrics["mse_last20"] for r in runs]
            cons = [r.data.metrics["consistency"] for r in runs]
            tracked[v] = (np.mean(values), np.std(values, ddof=1), np.mean(cons))
            assert results["models"][v]["mean"]["mse_last20"] == pytest.approx(tracked[v][0], rel=1e-9)
            assert results["models"][v]["std"]["mse_last20"] == pytest.approx(tracked[v][1], rel=1e-9, abs=1e-12)
            steps = [m.step for m in client.get_metric_history(runs[0].info.run_id, "mse_frame")]
            assert sorted(steps) == list(range(11, 51))
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"results.json", "rollouts.npz", "mse_vs_horizon.png", "rollouts.png"} <= artifacts

    # The paper: every number in its body is a value of results.json (as formatted), and each
    # table row carries the MLflow runs' statistics.
    assert cli.main(["paper", "--results", str(results_dir / "results.json"), "--out", str(tmp_path / "paper"),
                     "--no-pdf"]) == 0
    tex = (tmp_path / "paper" / "paper.tex").read_text()
    for figure in ("method.pdf", "mse_vs_horizon.pdf", "rollouts.png"):
        assert (tmp_path / "paper" / figure).is_file()
    values = _json_values(results)
    numbers = _numbers(tex)
    assert len(numbers) > 60
    for token in numbers:
        decimals = len(token.split(".")[1]) if "." in token else 0
        assert any(f"{v:.{decimals}f}" == token or f"{100 * v:.{decimals}f}" == token for v in values), token
    from dltp.research.paper import name

    for v, (mean, std, cons) in tracked.items():
        rows = [line for line in tex.splitlines() if line.startswith(name(results, v) + " &")]
        assert rows, v
        assert f"{mean:.4f} $\\pm$ {std:.4f}" in rows[0] and f"{100 * cons:.1f}" in rows[0]
    for cite in ("vaswani2017", "rakhimov2020", "yan2023", "srivastava2015", "graves2014"):
        assert f"\\cite{{{cite}" in tex or f",{cite}" in tex
        assert f"\\bibitem{{{cite}}}" in tex
    assert "Attention is all you need" in tex and "Latent\nvideo transformer" in tex


def test_paper_without_results_is_a_clear_error(capsys, tmp_path):
    assert cli.main(["paper", "--results", str(tmp_path / "none.json")]) == 2
    assert "dltp run tp5.research" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert cli.main(["paper", "--results", str(bad)]) == 2
    assert "not a results file" in capsys.readouterr().err


def test_bad_research_options_are_rejected(capsys, mlflow_store):
    assert cli.main(["run", "tp5.research", "--seeds", "0"]) == 2
    assert "--seeds must be at least 1" in capsys.readouterr().err
    assert cli.main(["run", "tp1", "--seeds", "2"]) == 2  # a tp5.research flag
