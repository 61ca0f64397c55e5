"""TP5 research: the moving-digits generator, the consistency metric, an end-to-end smoke run in a
tiny configuration, and the paper: every number in the .tex comes from results.json, and the
tables equal the MLflow runs."""

import json
import re

import numpy as np
import pytest

import paper_numbers

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


TINY = ["--quick", "--sequences", "12", "--test-sequences", "4", "--epochs", "1", "--ae-epochs", "1", "--seeds", "2",
        "--rollout-steps", "2"]


def test_standard_protocol_metrics_are_per_frame_sums():
    from dltp.research.protocol import standard_metrics

    rng = np.random.default_rng(0)
    true = rng.random((3, 10, 64, 64, 1)).astype("float32") * 0.8
    same = standard_metrics(true, true)
    assert same["mse"] == 0 and same["mae"] == 0 and same["ssim"] == pytest.approx(1.0)
    shifted = standard_metrics(true + 0.1, true)  # every pixel off by 0.1: 4096 * 0.01 per frame
    assert shifted["mse"] == pytest.approx(40.96, rel=1e-4) and shifted["mae"] == pytest.approx(409.6, rel=1e-4)
    assert shifted["ssim"] < 1.0
    noisy = standard_metrics(np.clip(true + rng.normal(0, 0.3, true.shape), 0, 1), true)
    assert noisy["ssim"] < shifted["ssim"] and noisy["mse"] > shifted["mse"]
    with pytest.raises(ValueError, match="differ"):
        standard_metrics(true[:, :5], true)


def test_standard_protocol_sequences_hold_two_digits():
    d = _digits()
    seqs = mdata.moving_digits(d.x_test, d.y_test, 8, frames=20, size=64, min_digits=2, seed=1)
    assert (seqs.n_digits == 2).all() and seqs.frames.shape == (8, 20, 64, 64)


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
    assert results["settings"]["rollout_steps"] == 2 and set(results["regimes"]) == {"teacher_forcing", "rollout"}
    assert all(set(results["regimes"][g]) == {"tap", "tap-t-L2", "tap-m-all"} for g in results["regimes"])
    assert len(results["copy_last"]["mse_per_frame"]) == 40
    # The standard protocol: per-frame sums over 64x64 pixels, two-digit sequences.
    standard = results["standard"]
    assert results["data"]["standard_test_sequences"] == 4
    assert 0 < standard["autoencoder"]["mse"] < 4096 and 0 < standard["copy_last"]["ssim"] <= 1
    assert [p["mse"] for p in standard["published"]] == [103.3, 56.8, 24.4, 23.8]
    for g in results["regimes"]:
        mean = results["regimes"][g]["tap"]["mean"]
        assert 0 < mean["standard_mse"] < mean["standard_mae"] and 0 < mean["standard_ssim"] <= 1
    rollouts = np.load(results_dir / "rollouts.npz")
    assert rollouts["true"].shape == (2, 50, 64, 64) and rollouts["tap-t-L2"].shape == (2, 40, 64, 64)
    assert rollouts["tap-t-L2+rollout"].shape == (2, 40, 64, 64)

    # One parent run, child runs per model and seed; the JSON's statistics are the runs' metrics.
    client = MlflowClient()
    parent = client.get_run(summary["run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["dltp.experiment"] == "tp5.research"
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    groups = {}
    for run in children:
        assert run.info.status == "FINISHED"
        key = (run.data.tags.get("dltp.variant", "frame-models"), run.data.tags.get("dltp.regime"))
        groups.setdefault(key, []).append(run)
    expected = {(v, g) for g in results["regimes"] for v in results["regimes"][g]}
    assert set(groups) == {("frame-models", None), ("copy-last", None), *expected}
    assert all(len(groups[k]) == 2 for k in expected)
    tracked = {}
    for (v, g), runs in groups.items():
        if (v, g) in expected:
            assert {r.data.params["regime"] for r in runs} == {g}
            values = [r.data.metrics["mse_last20"] for r in runs]
            cons = [r.data.metrics["consistency"] for r in runs]
            tracked[(v, g)] = (np.mean(values), np.std(values, ddof=1), np.mean(cons))
            stats = results["regimes"][g][v]
            assert stats["mean"]["mse_last20"] == pytest.approx(tracked[(v, g)][0], rel=1e-9)
            assert stats["std"]["mse_last20"] == pytest.approx(tracked[(v, g)][1], rel=1e-9, abs=1e-12)
            assert stats["mean"]["standard_ssim"] == pytest.approx(
                np.mean([r.data.metrics["standard_ssim"] for r in runs]), rel=1e-9)
            steps = [m.step for m in client.get_metric_history(runs[0].info.run_id, "mse_frame")]
            assert sorted(steps) == list(range(11, 51))
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"results.json", "rollouts.npz", "mse_vs_horizon.png", "rollouts.png"} <= artifacts

    # The paper: every number in its body is a value of results.json (as formatted), and each
    # table row carries the MLflow runs' statistics.
    assert cli.main(["paper", "--results", str(results_dir / "results.json"), "--out", str(tmp_path / "paper"),
                     "--no-pdf"]) == 0
    tex = (tmp_path / "paper" / "paper.tex").read_text()
    for figure in ("method.pdf", "mse_vs_horizon.pdf", "rollouts.png", "references.bib"):
        assert (tmp_path / "paper" / figure).is_file()
    written, missing = paper_numbers.unmatched(tex, results)
    assert len(written) > 60
    assert not missing
    from dltp.research.facts import REGIME_NAMES
    from dltp.research.paper import name

    for (v, g), (mean, std, cons) in tracked.items():
        rows = [line for line in tex.splitlines() if line.startswith(f"{name(results, v)}, {REGIME_NAMES[g]} &")]
        assert rows, (v, g)
        assert f"{mean:.4f} $\\pm$ {std:.4f}" in rows[0] and f"{100 * cons:.1f}" in rows[0]
    bib = (tmp_path / "paper" / "references.bib").read_text()
    cited = {key for group in re.findall(r"\\cite\{([^}]*)\}", tex) for key in group.split(",")}
    assert {"vaswani2017", "rakhimov2020", "yan2023", "srivastava2015", "graves2014", "gao2022",
            "duckworth2019"} <= cited
    assert all(f"{{{key}," in bib for key in cited)  # every citation has its entry
    assert "Attention is All you Need" in bib


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
    assert cli.main(["run", "tp5.research", "--sequences", "0"]) == 2  # the flag as typed, not the setting
    assert "--sequences must be at least 1" in capsys.readouterr().err
    assert cli.main(["run", "tp1", "--seeds", "2"]) == 2  # a tp5.research flag
    capsys.readouterr()
    assert cli.main(["run", "tp5.research", "--rollout-steps", "1"]) == 2
    assert "--rollout-steps must be between 2 and 40" in capsys.readouterr().err
