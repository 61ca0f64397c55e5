"""The paper's facts: a pure function from ``results.json`` to formatted numbers, table rows and
sentences, each sentence decided from the numbers it quotes.

Rules the sentences follow:

- a comparison of two models gets a verdict: **better**, **worse**, **within the spread** (the gap
  is at most the sum of the two standard deviations over seeds) or **equal** (the printed values are
  the same); with one seed there is no spread, and the sentence says so instead of "± 0.0000";
- a reference line is called a floor or a ceiling only when no model crossed it;
- the device, the backend and the budget come from the run, never from fixed text.

Every number is formatted by the helpers below, so the paper's numbers can be matched exactly
against the JSON. Nothing here imports numpy, keras or LaTeX.
"""

from __future__ import annotations

REGIME_NAMES = {"teacher_forcing": "teacher forcing", "rollout": "rollout training"}
REGIME_SHORT = {"teacher_forcing": "TF", "rollout": "RT"}  # in the narrow tables; the captions say so


# --------------------------------------------------------------------------------------------
# Number formatting: the only way a number enters the paper.

def mse(v: float) -> str:
    return f"{v:.4f}"


def pct(v: float) -> str:
    return f"{100 * v:.1f}"


def sec(v: float) -> str:
    return f"{v:.1f}"


def ms(v: float) -> str:
    return f"{v:.2f}"


def per_frame(v: float) -> str:
    """MSE/MAE per frame summed over pixels (the standard protocol's unit)."""
    return f"{v:.1f}"


def ssim(v: float) -> str:
    return f"{v:.3f}"


def spread(mean: float, std: float, n: int, fmt) -> str:
    """'m $\\pm$ s' over several seeds; 'm' alone with one seed (no spread was measured)."""
    return f"{fmt(mean)} $\\pm$ {fmt(std)}" if n > 1 else fmt(mean)


# --------------------------------------------------------------------------------------------
# Comparisons

def verdict(a: float, a_std: float, b: float, b_std: float, n: int, fmt, lower_is_better: bool = True) -> str:
    """'better' / 'worse' / 'within the spread' / 'equal' for a against b."""
    if fmt(a) == fmt(b):
        return "equal"
    if n > 1 and abs(a - b) <= a_std + b_std:
        return "within the spread"
    return "better" if (a < b) == lower_is_better else "worse"


def comparison(subject: str, other: str, metric: str, a: tuple, b: tuple, n: int, fmt,
               lower_is_better: bool = True, unit: str = "") -> tuple[str, str]:
    """(verdict, sentence) for ``subject`` against ``other`` on ``metric``; a and b are (mean, std)."""
    word = verdict(a[0], a[1], b[0], b[1], n, fmt, lower_is_better)
    av, bv = f"{spread(a[0], a[1], n, fmt)}{unit}", f"{spread(b[0], b[1], n, fmt)}{unit}"
    if word == "equal":
        return word, f"{subject}'s {metric} equals {other}'s at the printed precision ({av})"
    if word == "within the spread":
        return word, (f"{subject}'s {metric} ({av}) and {other}'s ({bv}) are within the spread of each other "
                      f"(the gap is at most the sum of their standard deviations over {n} seeds): "
                      "no difference is established")
    direction = "lower" if a[0] < b[0] else "higher"
    if n > 1:
        how = f"{word}, by more than the sum of the two standard deviations over {n} seeds"
    else:
        how = f"{word} on a single seed, whose spread is not measured"
    return word, f"{subject}'s {metric} ({av}) is {direction} than {other}'s ({bv}): {how}"


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------------------------

def variant_name(results: dict, variant: str) -> str:
    m = results["regimes"]["teacher_forcing"][variant]
    if m["kind"] == "tap_t":
        return f"TAP-T ({m['layers']} layer{'s' if m['layers'] != 1 else ''})"
    if m["kind"] == "tap_m":
        return f"TAP-M (memory {m['memory']})"
    return m["label"]


def facts(r: dict) -> dict:
    """Everything the template prints, decided from ``r`` (a results.json of tp5.research)."""
    s, fm, copy = r["settings"], r["frame_models"], r["copy_last"]
    regimes = r["regimes"]
    tf, ro = regimes["teacher_forcing"], regimes.get("rollout", {})
    n = len(r["seeds"])
    main = [v for v in r["main"] if v in tf]
    base, tap_t, tap_m = main
    last, frames = s["last"], s["frames"]
    N = {v: variant_name(r, v) for v in tf}
    short = {base: "TAP", tap_t: "TAP-T", tap_m: "TAP-M"}

    def stat(m: dict, key: str) -> tuple[float, float]:
        return m["mean"][key], m["std"][key]

    def cell(m: dict, key: str, fmt) -> str:
        return spread(m["mean"][key], m["std"][key], n, fmt)

    f: dict = {"n_seeds": n, "one_seed": n == 1, "settings": s, "regime_names": REGIME_NAMES,
               "rollout_steps": s["rollout_steps"], "names": N}
    f["seeds_text"] = (f"a single seed, {r['seeds'][0]}, hence no spread over seeds" if n == 1 else
                       f"mean $\\pm$ standard deviation over {n} seeds ({', '.join(str(x) for x in r['seeds'])})")
    f["seeds_limitation"] = ("With a single seed, no spread over seeds is measured." if n == 1 else
                             f"{n} seeds give only a rough idea of the spread.")
    f["spread_caption"] = "one seed" if n == 1 else f"mean $\\pm$ std over {n} seeds"

    # --- where and at what budget -------------------------------------------------------------
    device = r.get("device", {})
    where = (f"a GPU (Keras {r['backend']} backend)" if device.get("kind") == "gpu" else
             f"a CPU with {device['cpu_count']} cores (Keras {r['backend']} backend)" if device.get("cpu_count") else
             f"a CPU (Keras {r['backend']} backend)")
    f["device_text"] = where
    f["on_gpu"] = device.get("kind") == "gpu"
    f["wall_text"] = (f"The whole run took {sec(r['wall_seconds'])} s of wall-clock time."
                      if "wall_seconds" in r else "")
    f["budget_text"] = (f"{r['data']['train_sequences']} training sequences, {s['predictor_epochs']} predictor epochs "
                        f"and {s['ae_epochs']} autoencoder epochs"
                        + (", the reduced \\texttt{-{}-quick} budget" if s["quick"] else ""))

    f["main"] = [{"id": v, "short": short[v], "name": N[v]} for v in main]
    f["cells"] = {g: {v: {k: cell(regimes[g][v], k, fmt) for k, fmt in
                          (("mse_last20", mse), ("mse_all", mse), ("consistency", pct), ("standard_mse", per_frame),
                           ("standard_ssim", ssim))} for v in regimes[g] if v in main} for g in regimes}
    f["copy_last"] = {"mse_last20": mse(copy["mse_last20"]), "mse_all": mse(copy["mse_all"]),
                 "consistency": pct(copy["consistency"])}
    f["has_rollout"] = bool(ro)

    # --- tables ---------------------------------------------------------------------------------
    def main_row(v, regime):
        m = regimes[regime][v]
        label = f"{N[v]}, {REGIME_NAMES[regime]}"
        return (f"{label} & {m['parameters']} & {cell(m, 'mse_last20', mse)} & {cell(m, 'mse_all', mse)} & "
                f"{cell(m, 'consistency', pct)} \\\\")

    f["main_rows"] = [main_row(v, g) for v in main for g in regimes if v in regimes[g]]
    f["ablation_rows"] = [f"{N[v]} & {tf[v]['parameters']} & {cell(tf[v], 'mse_last20', mse)} & "
                          f"{cell(tf[v], 'consistency', pct)} \\\\" for v in tf if v not in main]
    f["cost_rows"] = [f"{short[v]}, {REGIME_SHORT[g]} & {regimes[g][v]['parameters']} & "
                      f"{cell(regimes[g][v], 'train_seconds', sec)} & "
                      f"{cell(regimes[g][v], 'rollout_ms_per_sequence', ms)} \\\\"
                      for g in regimes for v in regimes[g] if v in main]
    st = r["standard"]
    f["published_rows"] = [f"{p['model']}~\\cite{{{p['cite']}}} (published) & {per_frame(p['mse'])} & -- & "
                           f"{ssim(p['ssim'])} \\\\" for p in st["published"]]
    f["standard_rows"] = (
        [f"Copy last frame & {per_frame(st['copy_last']['mse'])} & {per_frame(st['copy_last']['mae'])} & "
         f"{ssim(st['copy_last']['ssim'])} \\\\"]
        + [f"{short[v]}, {REGIME_SHORT[g]} & {cell(regimes[g][v], 'standard_mse', per_frame)} & "
           f"{cell(regimes[g][v], 'standard_mae', per_frame)} & {cell(regimes[g][v], 'standard_ssim', ssim)} \\\\"
           for v in main for g in regimes if v in regimes[g]]
        + [f"Autoencoder, true $z$ & {per_frame(st['autoencoder']['mse'])} & {per_frame(st['autoencoder']['mae'])} & "
           f"{ssim(st['autoencoder']['ssim'])} \\\\"])

    # --- the research question: does rollout training close the identity gap? ------------------
    regime_sentences, hypothesis, standard_regime = [], {}, []
    for v in main:
        if v not in ro:
            continue
        _, mse_sentence = comparison("rollout training", "teacher forcing", f"MSE over the last {last} frames",
                                     stat(ro[v], "mse_last20"), stat(tf[v], "mse_last20"), n, mse)
        word, cons_sentence = comparison("rollout training", "teacher forcing", f"consistency at frame {frames}",
                                         stat(ro[v], "consistency"), stat(tf[v], "consistency"), n, pct,
                                         lower_is_better=False, unit="\\%")
        mse_sentence, cons_sentence = f"For {N[v]}, {mse_sentence}", f"for {N[v]}, {cons_sentence}"
        regime_sentences.append(f"{mse_sentence}; {cons_sentence}.")
        _, std_sentence = comparison("rollout training", "teacher forcing", "MSE per frame",
                                     stat(ro[v], "standard_mse"), stat(tf[v], "standard_mse"), n, per_frame)
        standard_regime.append(f"For {N[v]}, {std_sentence}.")
        gap = tf[v]["mean"]["consistency"] < copy["consistency"]
        if not gap:
            hypothesis[v] = "no gap"
        elif word == "better":
            hypothesis[v] = ("closes the gap" if ro[v]["mean"]["consistency"] >= copy["consistency"]
                             else "closes part of the gap")
        else:
            hypothesis[v] = {"worse": "widens the gap"}.get(word, "does not close the gap")
    f["regime_sentences"] = regime_sentences
    f["standard_regime_sentences"] = standard_regime
    f["hypothesis"] = hypothesis
    closing = [short[v] for v, h in hypothesis.items() if h.startswith("closes")]
    widening = [short[v] for v, h in hypothesis.items() if h == "widens the gap"]
    no_gap = [short[v] for v, h in hypothesis.items() if h == "no gap"]
    beyond = "on this single seed" if n == 1 else "beyond the spread"
    if not hypothesis:
        answer = "This run has no rollout-training regime, so the hypothesis is not tested."
    elif closing and len(closing) == len(hypothesis):
        answer = (f"Rollout training raises object consistency {beyond} for all three predictors: "
                  "the hypothesis holds in this run.")
    elif closing:
        answer = (f"Rollout training raises object consistency {beyond} for {_names(closing)} only"
                  f": the hypothesis holds for {'it' if len(closing) == 1 else 'them'}, not in general.")
    else:
        answer = ("For none of the three predictors does rollout training raise object consistency "
                  f"{beyond}: the hypothesis is not supported by this run.")
    if widening:
        answer += f" For {_names(widening)} it lowers consistency {beyond}."
    if no_gap:
        answer += (f" {_names(no_gap)} already {'matches' if len(no_gap) == 1 else 'match'} or "
                   f"{'exceeds' if len(no_gap) == 1 else 'exceed'} copy-last-frame's consistency with teacher "
                   "forcing, so there is no gap to close.")
    f["hypothesis_answer"] = answer

    # --- architectures, per regime --------------------------------------------------------------
    arch = []
    for g in regimes:
        m = regimes[g]
        if base not in m:
            continue
        for v in (tap_t, tap_m):
            if v in m:
                _, a = comparison(short[v], "TAP", f"MSE over the last {last} frames",
                                  stat(m[v], "mse_last20"), stat(m[base], "mse_last20"), n, mse)
                _, b = comparison(short[v], "TAP", "consistency", stat(m[v], "consistency"),
                                  stat(m[base], "consistency"), n, pct, lower_is_better=False, unit="\\%")
                arch.append(f"With {REGIME_NAMES[g]}, {a}; {b}.")
    f["architecture_sentences"] = arch

    # --- copy-last-frame on MSE -----------------------------------------------------------------
    learned = [(g, v) for g in regimes for v in regimes[g] if v in main]
    below = [(g, v) for g, v in learned if regimes[g][v]["mean"]["mse_last20"] < copy["mse_last20"]]
    copy_mse = mse(copy["mse_last20"])
    if len(below) == len(learned):
        f["copy_mse_sentence"] = (f"Every predictor, in both regimes, is below copying the last given frame "
                                  f"({copy_mse}) on MSE over the last {last} frames.")
    elif not below:
        f["copy_mse_sentence"] = (f"No predictor goes below copying the last given frame ({copy_mse}) on MSE "
                                  f"over the last {last} frames.")
    else:
        f["copy_mse_sentence"] = ("Only " + _names([f"{N[v]} ({REGIME_NAMES[g]})" for g, v in below])
                                  + f" go{'es' if len(below) == 1 else ''} below copying the last given frame "
                                  f"({copy_mse}) on MSE over the last {last} frames.")

    # --- copy-last-frame on consistency: the identity gap -----------------------------------------
    best_cons_g, best_cons_v = max(learned, key=lambda gv: regimes[gv[0]][gv[1]]["mean"]["consistency"])
    best_cons = regimes[best_cons_g][best_cons_v]["mean"]["consistency"]
    label_best_cons = f"{N[best_cons_v]} with {REGIME_NAMES[best_cons_g]}"
    if best_cons < copy["consistency"]:
        f["copy_consistency_sentence"] = (
            f"Copying the last given frame keeps the digits sharp and scores {pct(copy['consistency'])}\\% "
            f"consistency, more than any learned predictor (the best is {label_best_cons}, "
            f"{pct(best_cons)}\\%): every predictor loses identity faster than doing nothing.")
    else:
        f["copy_consistency_sentence"] = (
            f"Copying the last given frame scores {pct(copy['consistency'])}\\% consistency; {label_best_cons} "
            f"reaches {pct(best_cons)}\\%, as high or higher.")
    f["best_consistency"] = (label_best_cons, pct(best_cons))

    # --- floors and ceilings, checked before being called so -------------------------------------
    ae_last = fm["reconstruction_mse_last20"]
    beat_ae = [(g, v) for g, v in learned if regimes[g][v]["mean"]["mse_last20"] < ae_last]
    f["ae_is_floor"] = not beat_ae
    if beat_ae:
        who = ("every predictor, in both regimes, goes" if len(beat_ae) == len(learned) else
               _names([f"{N[v]} ({REGIME_NAMES[g]})" for g, v in beat_ae]) + (" goes" if len(beat_ae) == 1 else " go"))
        f["ae_sentence"] = (
            f"Decoding the true latents gives {mse(ae_last)} over the last {last} frames, yet {who}"
            + " below it: a blurred mean latent can decode to a frame "
            "with a lower MSE than the true latent's decoding, so the autoencoder's error is not a floor here.")
    else:
        f["ae_sentence"] = (f"Decoding the true latents gives {mse(ae_last)} over the last {last} frames, and no "
                            "predictor goes below it: the autoencoder's error is the floor of every latent "
                            "predictor in this run.")
    best_mse_g, best_mse_v = min(learned, key=lambda gv: regimes[gv[0]][gv[1]]["mean"]["mse_last20"])
    best_mse = regimes[best_mse_g][best_mse_v]["mean"]["mse_last20"]
    f["best_mse"] = (f"{N[best_mse_v]} with {REGIME_NAMES[best_mse_g]}", mse(best_mse))
    f["decoder_limits"] = ae_last >= best_mse - regimes[best_mse_g][best_mse_v]["std"]["mse_last20"]
    if f["decoder_limits"]:
        f["ae_sentence"] += (" The best predictor's error is within reach of the autoencoder's own, so the "
                             "decoder, not the predictor, limits the pixel error and MSE separates the "
                             "predictors poorly.")

    clf = fm["classifier_accuracy_true_last"]
    over = [(g, v) for g, v in learned if regimes[g][v]["mean"]["consistency"] > clf]
    f["classifier_is_ceiling"] = not over and copy["consistency"] <= clf
    if f["classifier_is_ceiling"]:
        f["ceiling_sentence"] = (f"The classifier finds {pct(clf)}\\% of the digits on the true frame {frames}; "
                                 "no predictor exceeds it, so it is the ceiling of the consistency score.")
    else:
        above = [f"{N[v]} ({REGIME_NAMES[g]})" for g, v in over] + (
            ["copy-last-frame"] if copy["consistency"] > clf else [])
        f["ceiling_sentence"] = (f"The classifier finds {pct(clf)}\\% of the digits on the true frame {frames}, "
                                 f"yet {_names(above)} score{'s' if len(above) == 1 else ''} higher: the "
                                 "classifier's errors on true frames are not a ceiling, and consistency "
                                 "differences of that size are noise of the classifier.")
    f["weak_classifier"] = clf < 0.5
    f["classifier_sentence"] = (
        f"With {pct(clf)}\\% on true frames the classifier is weak, so the consistency scores are coarse."
        if clf < 0.5 else "")

    # --- standard protocol --------------------------------------------------------------------
    published = sorted(st["published"], key=lambda p: p["mse"])
    best_std_g, best_std_v = min(learned, key=lambda gv: regimes[gv[0]][gv[1]]["mean"]["standard_mse"])
    best_std = regimes[best_std_g][best_std_v]["mean"]["standard_mse"]
    worse_than = [p["model"] for p in published if best_std > p["mse"]]
    position = ("higher than all four published figures" if len(worse_than) == len(published) else
                "lower than all four published figures" if not worse_than else
                "lower than " + _names([p["model"] for p in published if best_std <= p["mse"]])
                + "'s published figure" + ("s" if len(published) - len(worse_than) > 1 else ""))
    f["standard_best"] = (f"{N[best_std_v]} with {REGIME_NAMES[best_std_g]}", per_frame(best_std))
    std_ae = st["autoencoder"]["mse"]
    beat_std_ae = [(g, v) for g, v in learned if regimes[g][v]["mean"]["standard_mse"] < std_ae]
    f["standard_sentence"] = (
        f"Our lowest MSE per frame is {per_frame(best_std)} ({N[best_std_v]}, {REGIME_NAMES[best_std_g]}), "
        f"{position}; copying the last frame gives {per_frame(st['copy_last']['mse'])}. "
        + (f"The autoencoder's own error in the same unit is {per_frame(std_ae)}, "
           + ("and no predictor goes below it: it is the floor of every latent predictor here."
              if not beat_std_ae else "yet some predictors go below it, so it is not a floor here."))
        + " The comparison is indicative only: our test sequences come from the same kind of generator, "
        "seeded, not from the fixed test file, and our budget is far smaller.")
    f["standard_n"] = r["data"]["standard_test_sequences"]
    f["published_test_sequences"] = st.get("published_test_sequences")

    # --- ablations and cost ---------------------------------------------------------------------
    f["ablation_sentences"] = _ablations(tf, N, n, last)
    fastest = min(main, key=lambda v: tf[v]["mean"]["train_seconds"])
    slowest = max(main, key=lambda v: tf[v]["mean"]["train_seconds"])
    f["cost_sentence"] = (
        f"With teacher forcing, {N[fastest]} trains fastest ({sec(tf[fastest]['mean']['train_seconds'])} s) and "
        f"{N[slowest]} slowest ({sec(tf[slowest]['mean']['train_seconds'])} s)"
        + (f"; rollout training runs {s['rollout_steps']} passes per batch and costs more for every model."
           if ro and all(ro[v]["mean"]["train_seconds"] > tf[v]["mean"]["train_seconds"] for v in main if v in ro)
           else "." if not ro else "; rollout training does not cost more for every model in wall-clock time.")
        + f" The frame autoencoder took {sec(fm['autoencoder_train_seconds'])} s and the classifier "
        f"{sec(fm['classifier_train_seconds'])} s. Times are wall-clock on {where} and only indicative.")
    grows = all(regimes[g][v]["mean"]["mse_last20"] > regimes[g][v]["mean"]["mse_all"] for g, v in learned)
    f["growth_sentence"] = (f"For every predictor the MSE over the last {last} frames is higher than over all "
                            f"{s['predicted']}: the error grows with the horizon (Fig.~\\ref{{fig:mse}})." if grows else
                            f"The MSE over the last {last} frames is not higher than over all {s['predicted']} for "
                            "every predictor (Fig.~\\ref{fig:mse}).")
    return f


def _ablations(tf: dict, N: dict, n: int, last: int) -> list[str]:
    tapt = [v for v in tf if tf[v]["kind"] == "tap_t"]
    tapm = [v for v in tf if tf[v]["kind"] == "tap_m"]
    out = []
    if len(tapt) > 1:
        deep, shallow = max(tapt, key=lambda v: tf[v]["layers"]), min(tapt, key=lambda v: tf[v]["layers"])
        _, text = comparison(N[deep], N[shallow], f"MSE over the last {last} frames",
                             (tf[deep]["mean"]["mse_last20"], tf[deep]["std"]["mse_last20"]),
                             (tf[shallow]["mean"]["mse_last20"], tf[shallow]["std"]["mse_last20"]), n, mse)
        out.append(f"Depth: {text}.")
    if len(tapm) > 1:
        everything = [v for v in tapm if tf[v]["memory"] == "all"]
        sized = [v for v in tapm if tf[v]["memory"] != "all"]
        if everything and sized:
            small = min(sized, key=lambda v: tf[v]["memory"])
            _, text = comparison(N[everything[0]], N[small], f"MSE over the last {last} frames",
                                 (tf[everything[0]]["mean"]["mse_last20"], tf[everything[0]]["std"]["mse_last20"]),
                                 (tf[small]["mean"]["mse_last20"], tf[small]["std"]["mse_last20"]), n, mse)
            out.append(f"Memory: {text}.")
    return out
