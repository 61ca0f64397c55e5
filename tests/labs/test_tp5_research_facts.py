"""The paper's facts on made-up result sets: TAP-T wins, loses and ties, with one seed and with
three, floors and ceilings that are beaten, GPU and CPU runs. No sentence may contradict the
numbers it quotes, and every number of the rendered .tex is a value of the results."""

import re
import shutil

import pytest

import paper_numbers

from conftest import require_system

from dltp.research import facts as F
from dltp.research.paper import render

MAIN = ["tap", "tap-t-L2", "tap-m-all"]
KINDS = {"tap": ("recurrent", {}), "tap-t-L1": ("tap_t", {"layers": 1, "window": 10}),
         "tap-t-L2": ("tap_t", {"layers": 2, "window": 10}), "tap-t-L4": ("tap_t", {"layers": 4, "window": 10}),
         "tap-m-M10": ("tap_m", {"memory": 10}), "tap-m-all": ("tap_m", {"memory": "all"})}


def _model(variant: str, mse_last20: float, mse_std: float, cons: float, cons_std: float, seeds: list[int]) -> dict:
    kind, knobs = KINDS[variant]
    n = len(seeds)
    mean = {"mse_last20": mse_last20, "mse_all": mse_last20 * 0.8, "consistency": cons,
            "standard_mse": mse_last20 * 4096, "standard_mae": mse_last20 * 8192, "standard_ssim": 1 - mse_last20 * 5,
            "train_seconds": 10.0 + len(variant), "rollout_seconds": 1.5, "rollout_ms_per_sequence": 7.5}
    std = {k: 0.0 for k in mean}
    if n > 1:
        std.update({"mse_last20": mse_std, "mse_all": mse_std, "consistency": cons_std, "standard_mse": mse_std * 4096,
                    "standard_mae": mse_std * 8192, "standard_ssim": mse_std * 5, "train_seconds": 0.5,
                    "rollout_seconds": 0.1, "rollout_ms_per_sequence": 0.25})
    curve = [mse_last20 * (0.5 + i / 40) for i in range(40)]
    return {"label": "TAP (GRU)" if kind == "recurrent" else "x", "kind": kind, **knobs, "main": variant in MAIN,
            "parameters": 60000 + 1000 * len(variant), "mean": mean, "std": std, "mse_per_frame_mean": curve,
            "mse_per_frame_std": [mse_std] * 40, "runs": []}


def made_up(values: dict, seeds=(42, 43, 44), copy_cons=0.56, recon=0.0085, classifier=0.62, device="cpu",
            ablations=True) -> dict:
    """A results.json of tp5.research with the given (regime, variant) → (mse, std, consistency, std)."""
    seeds = list(seeds)
    regimes = {"teacher_forcing": {}, "rollout": {}}
    for (regime, variant), v in values.items():
        regimes[regime][variant] = _model(variant, *v, seeds)
    if ablations:
        for variant in ("tap-t-L1", "tap-t-L4", "tap-m-M10"):
            regimes["teacher_forcing"][variant] = _model(variant, 0.045, 0.001, 0.15, 0.01, seeds)
    settings = {"train_sequences": 600, "test_sequences": 200, "seeds": len(seeds), "predictor_epochs": 12,
                "batch_size": 32, "ae_epochs": 6, "digit_size": 28, "frames": 50, "given": 10, "predicted": 40,
                "last": 20, "size": 64, "latent_dim": 64, "tap_t_window": 10, "learning_rate": 0.001, "quick": False,
                "base_seed": seeds[0], "rollout_steps": 4, "standard_given": 10, "standard_predicted": 10,
                "standard_test_sequences": 200,
                "architecture": {"gru_units": 112, "tap_t_d_model": 64, "tap_t_heads": 4, "tap_t_ff": 128,
                                 "tap_m_key_dim": 64, "tap_m_ff": 256}}
    return {
        "experiment": "tp5.research", "dataset": "mnist", "dataset_fallback": False, "backend": "jax",
        "device": {"kind": device, "cpu_count": 2}, "settings": settings, "seeds": seeds,
        "data": {"train_sequences": 600, "test_sequences": 200, "standard_test_sequences": 200,
                 "train_digit_images": 60000, "test_digit_images": 10000, "two_digit_fraction_test": 0.5},
        "frame_models": {"autoencoder_parameters": 574977, "autoencoder_train_seconds": 120.5,
                         "autoencoder_train_frames": 3240, "classifier_parameters": 28106,
                         "classifier_train_seconds": 30.25, "classifier_train_frames": 2160,
                         "reconstruction_mse": recon * 0.9, "reconstruction_mse_last20": recon,
                         "classifier_accuracy_true_last": classifier,
                         "classifier_accuracy_reconstructed_last": classifier - 0.1},
        "copy_last": {"mse_per_frame": [0.06] * 40, "mse_last20": 0.0614, "mse_all": 0.059, "consistency": copy_cons},
        "reconstruction_mse_per_frame": [recon] * 40,
        "standard": {"copy_last": {"mse": 180.5, "mae": 300.25, "ssim": 0.65},
                     "autoencoder": {"mse": recon * 4096, "mae": recon * 8192, "ssim": 0.9},
                     "published": [{"model": "ConvLSTM", "mse": 103.3, "ssim": 0.707, "cite": "shi2015"},
                                   {"model": "SimVP", "mse": 23.8, "ssim": 0.948, "cite": "gao2022"}],
                     "published_test_sequences": 10000},
        "regimes": regimes, "main": MAIN, "wall_seconds": 840.5,
    }


def values(tap=(0.040, 0.001, 0.15, 0.01), tap_t=(0.040, 0.001, 0.15, 0.01), tap_m=(0.041, 0.001, 0.15, 0.01),
           rollout_shift=(0.0, 0.0)):
    """Teacher-forcing numbers per main model; the rollout regime shifted by (mse, consistency)."""
    out = {}
    for variant, v in zip(MAIN, (tap, tap_t, tap_m)):
        out[("teacher_forcing", variant)] = v
        out[("rollout", variant)] = (v[0] + rollout_shift[0], v[1], v[2] + rollout_shift[1], v[3])
    return out


def _all_text(f: dict) -> str:
    parts = []
    for value in f.values():
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts += [x for x in value if isinstance(x, str)]
    return "\n".join(parts)


def _no_contradiction(text: str) -> None:
    """'(a …) is lower/higher than …(b …)': the word agrees with the numbers."""
    pattern = r"\(([\d.]+)(?: \$\\pm\$ [\d.]+)?(?:\\%)?\) is (lower|higher) than [^(]*\(([\d.]+)"
    found = re.findall(pattern, text)
    for a, word, b in found:
        assert (float(a) < float(b)) == (word == "lower"), (a, word, b)
    return found


def test_tap_t_wins_beyond_the_spread():
    f = F.facts(made_up(values(tap_t=(0.020, 0.001, 0.30, 0.01))))
    text = _all_text(f)
    assert ("TAP-T's MSE over the last 20 frames (0.0200 $\\pm$ 0.0010) is lower than TAP's "
            "(0.0400 $\\pm$ 0.0010): better, by more than the sum of the two standard deviations over 3 seeds") in text
    assert "TAP-T's consistency (30.0 $\\pm$ 1.0\\%) is higher than TAP's (15.0 $\\pm$ 1.0\\%): better" in text
    assert _no_contradiction(text)


def test_tap_t_loses():
    f = F.facts(made_up(values(tap_t=(0.060, 0.001, 0.05, 0.01))))
    text = _all_text(f)
    assert "TAP-T's MSE over the last 20 frames (0.0600 $\\pm$ 0.0010) is higher than TAP's" in text
    assert "worse, by more than" in text
    assert F.verdict(0.06, 0.001, 0.04, 0.001, 3, F.mse) == "worse"
    _no_contradiction(text)


def test_tap_t_ties_within_the_spread():
    f = F.facts(made_up(values(tap_t=(0.041, 0.002, 0.16, 0.02))))
    text = _all_text(f)
    assert ("TAP-T's MSE over the last 20 frames (0.0410 $\\pm$ 0.0020) and TAP's (0.0400 $\\pm$ 0.0010) "
            "are within the spread of each other") in text
    assert F.verdict(0.041, 0.002, 0.040, 0.001, 3, F.mse) == "within the spread"
    # Equal at the printed precision is never called lower or higher.
    assert F.verdict(0.04001, 0.0, 0.04002, 0.0, 1, F.mse) == "equal"
    _no_contradiction(text)


def test_one_seed_prints_no_spread():
    r = made_up(values(tap_t=(0.020, 0.0, 0.30, 0.0)), seeds=(7,))
    f = F.facts(r)
    tex = render(r, has_strips=False)
    assert "$\\pm$ 0.0000" not in tex and "over 1 seeds" not in tex and "1 seeds" not in tex
    assert "a single seed, 7, hence no spread over seeds" in tex
    assert "better on a single seed, whose spread is not measured" in _all_text(f)
    assert all("$\\pm$" not in row for row in f["main_rows"] + f["standard_rows"] + f["cost_rows"])
    _no_contradiction(tex)


def test_rollout_closing_part_of_the_gap_supports_the_hypothesis():
    r = made_up(values(rollout_shift=(-0.002, 0.10)), copy_cons=0.56)
    f = F.facts(r)
    assert set(f["hypothesis"].values()) == {"closes part of the gap"}
    assert "the hypothesis holds in this run" in f["hypothesis_answer"]
    _no_contradiction(_all_text(f))


def test_rollout_within_the_spread_does_not_support_the_hypothesis():
    f = F.facts(made_up(values(rollout_shift=(0.0, 0.005))))
    assert set(f["hypothesis"].values()) == {"does not close the gap"}
    assert "the hypothesis is not supported by this run" in f["hypothesis_answer"]


def test_rollout_that_hurts_and_a_mixed_result():
    vals = values(rollout_shift=(0.0, -0.10))
    vals[("rollout", "tap-t-L2")] = (0.040, 0.001, 0.40, 0.01)
    f = F.facts(made_up(vals))
    assert f["hypothesis"] == {"tap": "widens the gap", "tap-t-L2": "closes part of the gap",
                               "tap-m-all": "widens the gap"}
    assert "for TAP-T only" in f["hypothesis_answer"] and "For TAP and TAP-M it lowers" in f["hypothesis_answer"]


def test_a_beaten_floor_and_ceiling_are_not_called_so():
    r = made_up(values(tap_m=(0.005, 0.0005, 0.70, 0.01)), recon=0.0085, classifier=0.62)
    f = F.facts(r)
    assert not f["ae_is_floor"] and not f["classifier_is_ceiling"]
    assert "is not a floor here" in f["ae_sentence"] and "TAP-M (memory all)" in f["ae_sentence"]
    assert "not a ceiling" in f["ceiling_sentence"]
    tex = render(r, has_strips=False)
    assert "below which no predictor can go" not in tex and "the floor of every latent predictor in this run" not in tex
    assert "is the ceiling" not in tex


def test_a_floor_that_holds_is_called_the_floor():
    f = F.facts(made_up(values(), recon=0.0085, classifier=0.62))
    assert f["ae_is_floor"] and "the floor of every latent predictor in this run" in f["ae_sentence"]
    assert f["classifier_is_ceiling"]


def test_copy_last_consistency_is_compared_not_assumed():
    f = F.facts(made_up(values(), copy_cons=0.56))
    assert "more than any learned predictor" in f["copy_consistency_sentence"]
    f = F.facts(made_up(values(tap=(0.04, 0.001, 0.60, 0.01)), copy_cons=0.56))
    assert "as high or higher" in f["copy_consistency_sentence"]


@pytest.mark.parametrize("device,text", [("gpu", "a GPU"), ("cpu", "a CPU with 2 cores")])
def test_device_and_budget_come_from_the_run(device, text):
    tex = render(made_up(values(), device=device), has_strips=False)
    assert f"The study ran on {text} (Keras jax backend) with 600 training sequences, 12 predictor epochs" in tex
    assert f"Times are wall-clock on {text}" in tex
    assert ("on a CPU" in tex) == (device == "cpu")


@pytest.mark.parametrize("seeds", [(42,), (42, 43, 44)])
@pytest.mark.parametrize("case", ["wins", "loses", "ties", "floor"])
def test_every_number_of_the_tex_is_a_result(case, seeds):
    tap_t = {"wins": (0.02, 0.001, 0.3, 0.01), "loses": (0.06, 0.001, 0.05, 0.01), "ties": (0.0405, 0.002, 0.15, 0.02),
             "floor": (0.004, 0.001, 0.7, 0.01)}[case]
    r = made_up(values(tap_t=tap_t, rollout_shift=(-0.001, 0.05)), seeds=seeds)
    tex = render(r, has_strips=False)
    written, missing = paper_numbers.unmatched(tex, r)
    assert len(written) > 80
    assert not missing
    _no_contradiction(tex)


def test_the_pdf_builds_with_four_or_five_pages(tmp_path):
    # Without LaTeX the .tex is still checked by the other tests; under CI LaTeX is required.
    require_system(bool(shutil.which("latexmk") or (shutil.which("pdflatex") and shutil.which("bibtex"))),
                   "LaTeX (latexmk or pdflatex + bibtex)",
                   "apt-get install texlive-latex-base texlive-latex-recommended texlive-fonts-recommended "
                   "lmodern latexmk")
    from dltp.research.paper import compile_pdf, write_paper

    r = made_up(values(rollout_shift=(-0.001, 0.05)))
    tex = write_paper(r, tmp_path / "no-rollouts", tmp_path / "paper")
    pdf = compile_pdf(tex)
    assert pdf.is_file() and (tmp_path / "paper" / "references.bib").is_file()
    log = (tmp_path / "paper" / "paper.log").read_text(errors="replace")
    pages = int(re.search(r"Output written on paper\.pdf \((\d+) pages?", log).group(1))
    assert 4 <= pages <= 5, pages
    assert "Citation" not in log or "undefined" not in log  # every \cite resolved through the .bib
