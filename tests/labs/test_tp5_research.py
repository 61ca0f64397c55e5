"""TP5 research: Moving MNIST against OpenSTL's rule, the crops the instrument reads, the metrics
in OpenSTL's convention, the bootstrap intervals, an end-to-end run in a tiny configuration, and
the paper: every number in the .tex comes from results.json, and the tables equal the MLflow runs."""

import json
import re

import numpy as np
import pytest

import paper_numbers

from dltp import cli
from dltp.research import data as mdata
from dltp.research import scoring


def _digits():
    from dltp.data.digits import load_digits

    return load_digits()  # small, always installed: the rule does not depend on the digits


def test_trajectories_follow_the_bounce_rule():
    """Constant speed STEP along θ, clipped to [0, 1] with the crossing component reversed."""
    paths = mdata.trajectories(np.random.default_rng(0), 200, 60)  # (n, T, 2) in [0, 1]
    assert paths.min() >= 0.0 and paths.max() <= 1.0
    steps = np.diff(paths, axis=1)
    inside = (paths[:, :-1] > 0) & (paths[:, :-1] < 1) & (paths[:, 1:] > 0) & (paths[:, 1:] < 1)
    for n in range(len(paths)):  # steps that touch no border move by the same amount on each axis
        for axis in range(2):
            free = np.abs(steps[n, inside[n, :, axis], axis])
            np.testing.assert_allclose(free, free[0], atol=1e-12)
    # The speed is STEP along a direction: |v| = STEP wherever neither coordinate touched a border.
    free = inside.all(axis=2)
    np.testing.assert_allclose(np.hypot(steps[..., 0], steps[..., 1])[free], mdata.STEP, atol=1e-12)
    # After a step that ends on a border, the next step on that axis goes the other way.
    hit = (paths[:, 1:-1] == 0) | (paths[:, 1:-1] == 1)
    before, after = steps[:, :-1][hit], steps[:, 1:][hit]
    assert hit.sum() > 50 and (np.sign(before) != np.sign(after)).all()


def test_moving_mnist_draws_two_digits_where_the_positions_say():
    d = _digits()
    seqs = mdata.moving_mnist(d.x_test, d.y_test, 6, frames=20, size=64, seed=3)
    again = mdata.moving_mnist(d.x_test, d.y_test, 6, frames=20, size=64, seed=3)
    other = mdata.moving_mnist(d.x_test, d.y_test, 6, frames=20, size=64, seed=4)
    assert seqs.frames.shape == (6, 20, 64, 64) and seqs.frames.dtype == np.uint8
    np.testing.assert_array_equal(seqs.frames, again.frames)
    assert not np.array_equal(seqs.frames, other.frames)
    assert seqs.positions.shape == (6, 20, 2, 2) and seqs.positions.min() >= 0 and seqs.positions.max() <= 64 - 28
    np.testing.assert_array_equal(seqs.labels, d.y_test[seqs.sources])  # labels of the test images drawn
    for n in range(6):  # each frame is the maximum of the two test images at their positions
        for t in range(20):
            expected = np.zeros((64, 64), np.uint8)
            for k in range(2):
                top, left = seqs.positions[n, t, k]
                window = expected[top:top + 28, left:left + 28]
                np.maximum(window, d.x_test[seqs.sources[n, k]], out=window)
            np.testing.assert_array_equal(seqs.frames[n, t], expected)
    assert (np.abs(np.diff(seqs.positions, axis=1)) > 0).any(axis=(1, 2, 3)).all()  # things move


def test_moving_mnist_rejects_bad_shapes():
    from dltp.errors import DltpError

    d = _digits()
    with pytest.raises(DltpError, match="wider"):
        mdata.moving_mnist(d.x_train, d.y_train, 2, size=28)
    with pytest.raises(DltpError, match="28"):
        mdata.moving_mnist(np.zeros((3, 32, 32), np.uint8), np.zeros(3, int), 2)


def test_crops_are_the_windows_at_the_positions():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(3, 64, 64), dtype=np.uint8)
    positions = np.array([[[0, 0], [36, 36]], [[5, 30], [12, 2]], [[36, 0], [0, 36]]])
    out = mdata.crops(frames, positions)
    assert out.shape == (3, 2, 28, 28)
    for n in range(3):
        for k in range(2):
            top, left = positions[n, k]
            np.testing.assert_array_equal(out[n, k], frames[n, top:top + 28, left:left + 28])


def test_errors_are_sums_over_a_frames_pixels_and_ssim_is_skimages():
    from skimage.metrics import structural_similarity

    from dltp.research.protocol import frame_errors, ssim

    rng = np.random.default_rng(0)
    true = rng.random((3, 10, 64, 64, 1)).astype("float32") * 0.8
    squared, absolute = frame_errors(true + 0.1, true)  # every pixel off by 0.1: 4096 * 0.01 per frame
    assert squared.shape == (3, 10)
    np.testing.assert_allclose(squared, 40.96, rtol=1e-4)
    np.testing.assert_allclose(absolute, 409.6, rtol=1e-4)
    noisy = np.clip(true + rng.normal(0, 0.2, true.shape), 0, 1).astype("float32")
    expected = [[structural_similarity(true[n, t, ..., 0].astype("float64"), noisy[n, t, ..., 0].astype("float64"),
                                       data_range=1.0) for t in range(10)] for n in range(3)]
    np.testing.assert_allclose(ssim(noisy, true), expected, atol=1e-6)
    np.testing.assert_allclose(ssim(true, true), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="differ"):
        frame_errors(true[:, :5], true)


def test_paired_interval_finds_a_real_difference_and_no_false_one():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, size=(3, 400))  # three seeds, 400 sequences with their own difficulty
    shifted = base + 0.2 + rng.normal(0, 0.05, base.shape)  # 0.2 worse everywhere, paired
    found = scoring.interval(shifted, base, np.random.default_rng(1), 500)
    assert found["low"] > 0.15 and found["high"] < 0.25 and found["difference"] == pytest.approx(0.2, abs=0.01)
    # The same difference unpaired (one side's sequences reshuffled) is lost in the sequences' spread.
    same = base + rng.normal(0, 0.05, base.shape)
    none = scoring.interval(same, base, np.random.default_rng(1), 500)
    assert none["low"] < 0 < none["high"]
    # A model trained once (one row) against a seeded one.
    once = scoring.interval(base[:1] + 1.0, base, np.random.default_rng(1), 500)
    assert once["low"] > 0
    with pytest.raises(ValueError, match="different sequences"):
        scoring.interval(base, base[:, :10], np.random.default_rng(1), 10)


def test_seed_spread_widens_the_interval():
    rng = np.random.default_rng(0)
    sequences = rng.normal(0, 0.01, size=400)
    steady = np.stack([sequences + 0.1] * 3)
    seeds_apart = np.stack([sequences + 0.1 + offset for offset in (-0.3, 0.0, 0.3)])
    zero = np.zeros((3, 400))
    tight = scoring.interval(steady, zero, np.random.default_rng(1), 500)
    wide = scoring.interval(seeds_apart, zero, np.random.default_rng(1), 500)
    assert tight["low"] > 0 and wide["low"] < 0 < wide["high"]


def test_identity_reads_the_crops_at_the_true_positions():
    """A reader that answers the brightest crop's digit: right where the digit is drawn, wrong elsewhere."""
    d = _digits()
    seqs = mdata.moving_mnist(d.x_test, d.y_test, 4, frames=12, size=64, seed=0)

    class Oracle:  # names digit 7 when a crop holds ink, digit 0 when it is empty
        def predict(self, crops, batch_size=None, verbose=0):
            ink = crops.reshape(len(crops), -1).sum(axis=1) > 0
            return np.eye(10)[np.where(ink, 7, 0)]

    test = scoring.TestSet(seqs.frames, np.full((4, 2), 7), seqs.positions, Oracle())
    true_frames = seqs.frames[:, 11].astype("float32") / 255
    assert (test.identity(true_frames, 12) == 1.0).all()
    assert (test.identity(np.zeros_like(true_frames), 12) == 0.0).all()


TINY = ["--quick", "--sequences", "20", "--test-sequences", "8", "--epochs", "1", "--ae-epochs", "1", "--seeds", "2",
        "--depths", "1", "2", "--resamples", "50", "--ae-frames", "2", "--reader-frames", "2",
        "--baseline-windows", "1"]


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
    assert results["seeds"] == [5, 6] and results["settings"]["depths"] == [1, 2]
    assert results["data"]["train_sequences"] == 20 and results["data"]["test_sequences"] == 8
    predictors = {f"{v}@k{k}" for v in ("tap", "tap-t", "tap-m") for k in (1, 2)}
    assert set(results["models"]) == predictors | {"copy-last", "baseline", "autoencoder"}
    for key in predictors:
        model = results["models"][key]
        assert len(model["runs"]) == 2 and len(model["mse_per_frame"]) == 40
        mean = model["mean"]
        assert 0 < mean["standard_mse"] < mean["standard_mae"] and 0 < mean["standard_ssim"] <= 1
    instrument = results["instrument"]
    assert instrument["digits_scored"] == 16 and instrument["chance"] == 0.1
    assert set(instrument["true"]) == {f"identity{t}" for t in (20, 30, 40, 50)}
    # Every comparison the paper makes has its interval.
    keys = {(c["a"], c["b"], c["metric"]) for c in results["comparisons"]}
    assert ("tap-t@k2", "tap-t@k1", "identity50") in keys and ("autoencoder", "baseline", "standard_mse") in keys
    assert all(c["low"] <= c["difference"] <= c["high"] or c["low"] == c["high"] for c in results["comparisons"])
    rollouts = np.load(results_dir / "rollouts.npz")
    assert rollouts["true"].shape == (2, 50, 64, 64) and rollouts["tap-t@k2"].shape == (2, 40, 64, 64)
    per_sequence = np.load(results_dir / "per_sequence.npz")
    assert per_sequence["tap@k1/1/identity50"].shape == (8,)

    # One parent run, child runs per model and seed; the JSON's statistics are the runs' metrics.
    client = MlflowClient()
    parent = client.get_run(summary["run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["dltp.experiment"] == "tp5.research"
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    names = {run.info.run_name for run in children}
    assert {"frame-models", "copy-last", "baseline", "tap-pretrain-seed5", "tap-m-k2-seed6"} <= names
    for key in predictors:
        variant, depth = key.split("@k")
        runs = [r for r in children if r.data.tags.get("dltp.variant") == variant
                and r.data.tags.get("dltp.depth") == depth]
        assert len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs)
        assert results["models"][key]["mean"]["mse_last20"] == pytest.approx(
            np.mean([r.data.metrics["mse_last20"] for r in runs]), rel=1e-9)
        steps = [m.step for m in client.get_metric_history(runs[0].info.run_id, "mse_frame")]
        assert sorted(steps) == list(range(11, 51))
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"results.json", "rollouts.npz", "per_sequence.npz", "mse_vs_horizon.png", "depth.png",
            "rollouts.png"} <= artifacts

    # The paper: every number in its body is a value of results.json (as formatted), and the table
    # rows carry the runs' statistics.
    assert cli.main(["paper", "--results", str(results_dir / "results.json"), "--out", str(tmp_path / "paper"),
                     "--no-pdf"]) == 0
    tex = (tmp_path / "paper" / "paper.tex").read_text()
    for figure in ("method.pdf", "mse_vs_horizon.pdf", "depth.pdf", "rollouts.png", "references.bib"):
        assert (tmp_path / "paper" / figure).is_file()
    written, missing = paper_numbers.unmatched(tex, results)
    assert len(written) > 100 and not missing
    tap = results["models"]["tap@k2"]
    row = next(line for line in tex.splitlines() if line.startswith("TAP, $k=2$ &"))
    assert f"{tap['mean']['mse_last20']:.1f} $\\pm$ {tap['seed_std']['mse_last20']:.1f}" in row
    cited = {key for group in re.findall(r"\\cite\{([^}]*)\}", tex) for key in group.split(",")}
    bib = (tmp_path / "paper" / "references.bib").read_text()
    assert {"tan2023openstl", "srivastava2015", "gao2022", "duckworth2019", "efron1979"} <= cited
    assert all(f"{{{key}," in bib for key in cited)  # every citation has its entry


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
    assert cli.main(["run", "tp5.research", "--test-sequences", "0"]) == 2  # the flag as typed
    assert "--test-sequences must be at least 1" in capsys.readouterr().err
    assert cli.main(["run", "tp5.research", "--sequences", "5"]) == 2
    assert "--sequences must be at least 10" in capsys.readouterr().err
    assert cli.main(["run", "tp1", "--seeds", "2"]) == 2  # a tp5.research flag
    capsys.readouterr()
    for depths in (["0", "4"], ["1", "41"], ["4", "4"]):
        assert cli.main(["run", "tp5.research", "--depths", *depths]) == 2
        assert "--depths must be distinct rollout depths between 1 and 40" in capsys.readouterr().err
