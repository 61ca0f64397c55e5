"""The quick targets: judged from a result's figures, carried by `dltp run`, shown by `dltp report`."""

import pytest

from dltp import cli, registry, report, tracking
from dltp.labs import targets
from dltp.labs.common import result


class Digits:
    name = "digits"
    fallback = True
    fallback_from = "mnist"


def test_every_experiment_has_a_target_with_a_line_saying_what_it_shows():
    assert {e.id for e in registry.EXPERIMENTS} <= set(targets.TARGETS)
    for target in targets.TARGETS.values():
        assert target.checks and len(target.shows) > 20


@pytest.mark.parametrize("accuracy, met", [(0.95, True), (0.90, True), (0.8999, False), (0.1, False)])
def test_threshold_is_judged_on_the_figure(accuracy, met):
    verdict = targets.judge("tp1", {"dataset": "digits", "test_accuracy": accuracy})
    assert verdict["target_met"] is met
    assert verdict["target"]["checks"] == "test_accuracy ≥ 0.9"
    assert verdict["target"]["measured"] == {"test_accuracy": accuracy}


def test_missing_or_nan_figure_is_not_met():
    assert targets.judge("tp1", {"dataset": "digits"})["target_met"] is False
    assert targets.judge("tp1", {"dataset": "digits", "test_accuracy": float("nan")})["target_met"] is False


def test_checks_for_other_data_do_not_apply():
    # the 0.90 is a digits/MNIST figure: a Fashion-MNIST run has no target, not a failed one
    assert targets.judge("tp1", {"dataset": "fashion_mnist", "test_accuracy": 0.5}) == {
        "target": None, "target_met": None}
    # TP2: on MNIST only the gap change is judged, on the offline digits the diagnoses too
    mnist = targets.judge("tp2", {"dataset": "mnist", "gap_change": -0.01, "diagnosis": "balanced",
                                  "optimizer_ranking": "adam 0.98", "batchnorm_converges_faster": "no"})
    assert mnist["target_met"] is True and "diagnosis" not in mnist["target"]["checks"]
    digits = targets.judge("tp2", {"dataset": "digits", "gap_change": -0.01, "diagnosis": "balanced",
                                   "regularized_diagnosis": "balanced", "optimizer_ranking": "adam 0.98",
                                   "batchnorm_converges_faster": "no"})
    assert digits["target_met"] is False


def test_references_to_other_figures_and_wildcards():
    good = {"dataset": "mnist_5k", "copy_last_mse_last20": 300.0, "predictor_tap_k1_mse_last20": 170.0,
            "predictor_tap_t_k40_mse_last20": 180.0, "instrument_true_identity50": 0.9,
            "instrument_threshold": 0.13, "autoencoder_standard_mse": 20.0, "baseline_standard_mse": 140.0}
    assert targets.judge("tp5.research", good)["target_met"] is True
    assert targets.judge("tp5.research", {**good, "predictor_tap_m_k4_mse_last20": 310.0})["target_met"] is False
    assert targets.judge("tp5.research", {**good, "instrument_true_identity50": 0.12})["target_met"] is False
    assert targets.judge("tp5.research", {"dataset": "x", "copy_last_mse_last20": 0.05})["target_met"] is False
    undecided = {"dataset": "digits", "gap_change": -0.1, "diagnosis": "high variance",
                 "regularized_diagnosis": "balanced", "optimizer_ranking": "adam 0.9 > sgd 0.8",
                 "batchnorm_converges_faster": "undetermined (neither reached the threshold)"}
    assert targets.judge("tp2", undecided)["target_met"] is False


def test_result_carries_the_verdict_and_tags_the_run_for_the_report(mlflow_store, tmp_path):
    with tracking.run("tp1-mnist-dense", dltp_id="tp1", data=Digits(), seed=1) as active:
        tracking.log_metrics({"test_accuracy": 0.5})
    record = result("tp1", active.info.run_id, Digits(), test_accuracy=0.5)
    assert record["target_met"] is False and record["target"]["shows"] == targets.TARGETS["tp1"].shows
    assert "target NOT met (test_accuracy ≥ 0.9)" in cli._summary(record)
    tags = tracking.client().get_run(active.info.run_id).data.tags
    assert tags["dltp.target"] == "test_accuracy ≥ 0.9" and tags["dltp.target_met"] == "no"
    md = report.build(tmp_path / "r").with_name("report.md").read_text()
    assert "Target: **NOT met** — test_accuracy ≥ 0.9 (a dense network learns to read digits)" in md
    assert "Not run yet: `dltp run tp1.batching`" in md


def test_report_takes_the_verdict_from_the_parent_when_children_share_the_experiment(mlflow_store, tmp_path):
    with tracking.run("tp5-research", dltp_id="tp5.research", seed=1) as parent:
        with tracking.run("tp5-research", dltp_id="tp5.research", seed=1, parent_run_id=parent.info.run_id):
            tracking.log_metrics({"mse_last20": 0.03})
    record = result("tp5.research", parent.info.run_id, Digits(), copy_last_mse_last20=300.0,
                    predictor_tap_k1_mse_last20=310.0, instrument_true_identity50=0.9, instrument_threshold=0.13,
                    autoencoder_standard_mse=20.0, baseline_standard_mse=140.0)
    assert record["target_met"] is False  # one predictor above copy-last: the lab did not make its point
    md = report.build(tmp_path / "r").with_name("report.md").read_text()
    assert ("Target: **NOT met** — instrument_true_identity50 > instrument_threshold; "
            "predictor_*_mse_last20 < copy_last_mse_last20") in md


def test_a_run_of_several_experiments_counts_the_targets_met(capsys, mlflow_store, monkeypatch):
    figures = {"tp5.attention": {"test_accuracy": 1.0, "focus_top1": 0.99},
               "tp5.seq2seq": {"mase_seasonal": 1.2},  # worse than the seasonal-naive forecast
               "tp5.research": {"copy_last_mse_last20": 300.0, "predictor_tap_k1_mse_last20": 170.0,
                                "instrument_true_identity50": 0.9, "instrument_threshold": 0.13,
                                "autoencoder_standard_mse": 20.0, "baseline_standard_mse": 140.0}}

    class Synthetic(Digits):
        name = "synthetic"

    # real result records, without the training: how `dltp run` reports them is what is tested
    monkeypatch.setattr(registry, "runner", lambda unit: lambda cfg: result(unit, None, Synthetic(), **figures[unit]))
    assert cli.main(["run", "tp5"]) == 0
    out = capsys.readouterr().out
    assert "tp5.attention: " in out and "; target met (test_accuracy ≥ 0.95; focus_top1 ≥ 0.9)" in out
    assert "tp5.seq2seq: mase_seasonal=1.2000" in out and "; target NOT met (mase_seasonal < 1)" in out
    assert "ran 3 of 3 experiments; targets met: 2 of 3 (NOT met: tp5.seq2seq)" in out
