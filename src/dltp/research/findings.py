"""The paper's findings, each sentence decided from the numbers it quotes: whether rollout training
closes the identity gap (the research question), the architectures against the recurrent
baseline, copy-last-frame, the floors and ceilings, the standard protocol, the ablations, the cost.

Two rules on top of ``wording``'s verdicts: a reference line is called a floor or a ceiling only
when no model crossed it, and the device and the budget come from the run, never from fixed text.
Nothing here imports numpy, keras or LaTeX.
"""

from __future__ import annotations

from dltp.research.results_view import ResultsView
from dltp.research.wording import REGIME_NAMES, and_list, comparison, mse, pct, per_frame, sec


def findings(view: ResultsView) -> dict:
    """Every finding's sentences and the flags the template reads, in the paper's order."""
    return {**research_question(view), "architecture_sentences": architecture_sentences(view),
            **copy_last_findings(view), **reference_lines(view), **standard_protocol(view),
            "ablation_sentences": ablation_sentences(view), **cost_and_horizon(view)}


def research_question(view: ResultsView) -> dict:
    """Rollout training against teacher forcing, per main predictor, and whether it closes the gap
    between the predictors' consistency and copy-last-frame's."""
    teacher_forcing, rollout, names, n_seeds = view.teacher_forcing, view.rollout, view.names, view.n_seeds
    copy_consistency = view.results["copy_last"]["consistency"]
    regime_sentences, hypothesis, standard_regime = [], {}, []
    for v in view.main:
        if v not in rollout:
            continue
        _, mse_sentence = comparison("rollout training", "teacher forcing", f"MSE over the last {view.last} frames",
                                     view.stat(rollout[v], "mse_last20"), view.stat(teacher_forcing[v], "mse_last20"),
                                     n_seeds, mse)
        word, cons_sentence = comparison("rollout training", "teacher forcing", f"consistency at frame {view.frames}",
                                         view.stat(rollout[v], "consistency"),
                                         view.stat(teacher_forcing[v], "consistency"), n_seeds, pct,
                                         lower_is_better=False, unit="\\%")
        mse_sentence, cons_sentence = f"For {names[v]}, {mse_sentence}", f"for {names[v]}, {cons_sentence}"
        regime_sentences.append(f"{mse_sentence}; {cons_sentence}.")
        _, std_sentence = comparison("rollout training", "teacher forcing", "MSE per frame",
                                     view.stat(rollout[v], "standard_mse"),
                                     view.stat(teacher_forcing[v], "standard_mse"), n_seeds, per_frame)
        standard_regime.append(f"For {names[v]}, {std_sentence}.")
        gap = teacher_forcing[v]["mean"]["consistency"] < copy_consistency
        if not gap:
            hypothesis[v] = "no gap"
        elif word == "better":
            hypothesis[v] = ("closes the gap" if rollout[v]["mean"]["consistency"] >= copy_consistency
                             else "closes part of the gap")
        else:
            hypothesis[v] = {"worse": "widens the gap"}.get(word, "does not close the gap")
    return {"regime_sentences": regime_sentences, "standard_regime_sentences": standard_regime,
            "hypothesis": hypothesis, "hypothesis_answer": _answer(view, hypothesis)}


def _answer(view: ResultsView, hypothesis: dict) -> str:
    closing = [view.short[v] for v, h in hypothesis.items() if h.startswith("closes")]
    widening = [view.short[v] for v, h in hypothesis.items() if h == "widens the gap"]
    no_gap = [view.short[v] for v, h in hypothesis.items() if h == "no gap"]
    beyond = "on this single seed" if view.n_seeds == 1 else "beyond the spread"
    if not hypothesis:
        answer = "This run has no rollout-training regime, so the hypothesis is not tested."
    elif closing and len(closing) == len(hypothesis):
        answer = (f"Rollout training raises object consistency {beyond} for all three predictors: "
                  "the hypothesis holds in this run.")
    elif closing:
        answer = (f"Rollout training raises object consistency {beyond} for {and_list(closing)} only"
                  f": the hypothesis holds for {'it' if len(closing) == 1 else 'them'}, not in general.")
    else:
        answer = ("For none of the three predictors does rollout training raise object consistency "
                  f"{beyond}: the hypothesis is not supported by this run.")
    if widening:
        answer += f" For {and_list(widening)} it lowers consistency {beyond}."
    if no_gap:
        answer += (f" {and_list(no_gap)} already {'matches' if len(no_gap) == 1 else 'match'} or "
                   f"{'exceeds' if len(no_gap) == 1 else 'exceed'} copy-last-frame's consistency with teacher "
                   "forcing, so there is no gap to close.")
    return answer


def architecture_sentences(view: ResultsView) -> list[str]:
    """TAP-T and TAP-M against the recurrent TAP, per regime."""
    sentences = []
    for g, models in view.regimes.items():
        if view.base not in models:
            continue
        base = models[view.base]
        for v in (view.tap_t, view.tap_m):
            if v in models:
                _, mse_text = comparison(view.short[v], "TAP", f"MSE over the last {view.last} frames",
                                         view.stat(models[v], "mse_last20"), view.stat(base, "mse_last20"),
                                         view.n_seeds, mse)
                _, consistency_text = comparison(view.short[v], "TAP", "consistency",
                                                 view.stat(models[v], "consistency"), view.stat(base, "consistency"),
                                                 view.n_seeds, pct, lower_is_better=False, unit="\\%")
                sentences.append(f"With {REGIME_NAMES[g]}, {mse_text}; {consistency_text}.")
    return sentences


def copy_last_findings(view: ResultsView) -> dict:
    """Copying the last given frame, on MSE and on consistency (the identity gap)."""
    copy, last = view.results["copy_last"], view.last
    out = {}
    below = [pair for pair in view.learned if view.mean(pair, "mse_last20") < copy["mse_last20"]]
    copy_mse = mse(copy["mse_last20"])
    if len(below) == len(view.learned):
        out["copy_mse_sentence"] = (f"Every predictor, in both regimes, is below copying the last given frame "
                                    f"({copy_mse}) on MSE over the last {last} frames.")
    elif not below:
        out["copy_mse_sentence"] = (f"No predictor goes below copying the last given frame ({copy_mse}) on MSE "
                                    f"over the last {last} frames.")
    else:
        out["copy_mse_sentence"] = ("Only " + and_list([view.named(pair) for pair in below])
                                    + f" go{'es' if len(below) == 1 else ''} below copying the last given frame "
                                    f"({copy_mse}) on MSE over the last {last} frames.")

    best = max(view.learned, key=lambda pair: view.mean(pair, "consistency"))
    best_consistency, best_label = view.mean(best, "consistency"), view.label(best)
    if best_consistency < copy["consistency"]:
        out["copy_consistency_sentence"] = (
            f"Copying the last given frame keeps the digits sharp and scores {pct(copy['consistency'])}\\% "
            f"consistency, more than any learned predictor (the best is {best_label}, "
            f"{pct(best_consistency)}\\%): every predictor loses identity faster than doing nothing.")
    else:
        out["copy_consistency_sentence"] = (
            f"Copying the last given frame scores {pct(copy['consistency'])}\\% consistency; {best_label} "
            f"reaches {pct(best_consistency)}\\%, as high or higher.")
    out["best_consistency"] = (best_label, pct(best_consistency))
    return out


def reference_lines(view: ResultsView) -> dict:
    """The autoencoder's error on true latents and the classifier's accuracy on true frames: a floor
    and a ceiling only where no predictor crossed them."""
    frame_models, copy, last = view.results["frame_models"], view.results["copy_last"], view.last
    out = {}
    ae_last = frame_models["reconstruction_mse_last20"]
    beat_ae = [pair for pair in view.learned if view.mean(pair, "mse_last20") < ae_last]
    out["ae_is_floor"] = not beat_ae
    if beat_ae:
        who = ("every predictor, in both regimes, goes" if len(beat_ae) == len(view.learned) else
               and_list([view.named(pair) for pair in beat_ae]) + (" goes" if len(beat_ae) == 1 else " go"))
        out["ae_sentence"] = (
            f"Decoding the true latents gives {mse(ae_last)} over the last {last} frames, yet {who}"
            + " below it: a blurred mean latent can decode to a frame "
            "with a lower MSE than the true latent's decoding, so the autoencoder's error is not a floor here.")
    else:
        out["ae_sentence"] = (f"Decoding the true latents gives {mse(ae_last)} over the last {last} frames, and no "
                              "predictor goes below it: the autoencoder's error is the floor of every latent "
                              "predictor in this run.")
    best = min(view.learned, key=lambda pair: view.mean(pair, "mse_last20"))
    best_mse = view.mean(best, "mse_last20")
    out["best_mse"] = (view.label(best), mse(best_mse))
    out["decoder_limits"] = ae_last >= best_mse - view.regimes[best[0]][best[1]]["std"]["mse_last20"]
    if out["decoder_limits"]:
        out["ae_sentence"] += (" The best predictor's error is within reach of the autoencoder's own, so the "
                               "decoder, not the predictor, limits the pixel error and MSE separates the "
                               "predictors poorly.")

    accuracy = frame_models["classifier_accuracy_true_last"]
    over = [pair for pair in view.learned if view.mean(pair, "consistency") > accuracy]
    out["classifier_is_ceiling"] = not over and copy["consistency"] <= accuracy
    if out["classifier_is_ceiling"]:
        out["ceiling_sentence"] = (f"The classifier finds {pct(accuracy)}\\% of the digits on the true frame "
                                   f"{view.frames}; no predictor exceeds it, so it is the ceiling of the "
                                   "consistency score.")
    else:
        above = [view.named(pair) for pair in over] + (["copy-last-frame"] if copy["consistency"] > accuracy else [])
        out["ceiling_sentence"] = (f"The classifier finds {pct(accuracy)}\\% of the digits on the true frame "
                                   f"{view.frames}, yet {and_list(above)} score{'s' if len(above) == 1 else ''} "
                                   "higher: the classifier's errors on true frames are not a ceiling, and "
                                   "consistency differences of that size are noise of the classifier.")
    out["weak_classifier"] = accuracy < 0.5
    out["classifier_sentence"] = (
        f"With {pct(accuracy)}\\% on true frames the classifier is weak, so the consistency scores are coarse."
        if accuracy < 0.5 else "")
    return out


def standard_protocol(view: ResultsView) -> dict:
    """Our best MSE per frame on the standard protocol, beside the published figures."""
    standard = view.results["standard"]
    published = sorted(standard["published"], key=lambda p: p["mse"])
    best = min(view.learned, key=lambda pair: view.mean(pair, "standard_mse"))
    best_mse = view.mean(best, "standard_mse")
    worse_than = [p["model"] for p in published if best_mse > p["mse"]]
    position = ("higher than all four published figures" if len(worse_than) == len(published) else
                "lower than all four published figures" if not worse_than else
                "lower than " + and_list([p["model"] for p in published if best_mse <= p["mse"]])
                + "'s published figure" + ("s" if len(published) - len(worse_than) > 1 else ""))
    ae_mse = standard["autoencoder"]["mse"]
    beat_ae = [pair for pair in view.learned if view.mean(pair, "standard_mse") < ae_mse]
    regime, variant = best
    sentence = (
        f"Our lowest MSE per frame is {per_frame(best_mse)} ({view.names[variant]}, {REGIME_NAMES[regime]}), "
        f"{position}; copying the last frame gives {per_frame(standard['copy_last']['mse'])}. "
        + (f"The autoencoder's own error in the same unit is {per_frame(ae_mse)}, "
           + ("and no predictor goes below it: it is the floor of every latent predictor here."
              if not beat_ae else "yet some predictors go below it, so it is not a floor here."))
        + " The comparison is indicative only: our test sequences come from the same kind of generator, "
        "seeded, not from the fixed test file, and our budget is far smaller.")
    return {"standard_best": (view.label(best), per_frame(best_mse)), "standard_sentence": sentence,
            "standard_n": view.results["data"]["standard_test_sequences"],
            "published_test_sequences": standard.get("published_test_sequences")}


def ablation_sentences(view: ResultsView) -> list[str]:
    """TAP-T's depth (deepest against shallowest) and TAP-M's memory (all against the smallest)."""
    teacher_forcing, names, n_seeds, last = view.teacher_forcing, view.names, view.n_seeds, view.last
    tap_t = [v for v in teacher_forcing if teacher_forcing[v]["kind"] == "tap_t"]
    tap_m = [v for v in teacher_forcing if teacher_forcing[v]["kind"] == "tap_m"]
    out = []
    if len(tap_t) > 1:
        deep = max(tap_t, key=lambda v: teacher_forcing[v]["layers"])
        shallow = min(tap_t, key=lambda v: teacher_forcing[v]["layers"])
        _, text = comparison(names[deep], names[shallow], f"MSE over the last {last} frames",
                             view.stat(teacher_forcing[deep], "mse_last20"),
                             view.stat(teacher_forcing[shallow], "mse_last20"), n_seeds, mse)
        out.append(f"Depth: {text}.")
    if len(tap_m) > 1:
        everything = [v for v in tap_m if teacher_forcing[v]["memory"] == "all"]
        sized = [v for v in tap_m if teacher_forcing[v]["memory"] != "all"]
        if everything and sized:
            small = min(sized, key=lambda v: teacher_forcing[v]["memory"])
            _, text = comparison(names[everything[0]], names[small], f"MSE over the last {last} frames",
                                 view.stat(teacher_forcing[everything[0]], "mse_last20"),
                                 view.stat(teacher_forcing[small], "mse_last20"), n_seeds, mse)
            out.append(f"Memory: {text}.")
    return out


def cost_and_horizon(view: ResultsView) -> dict:
    """Training costs (wall-clock, on the run's own device) and whether the error grows with the horizon."""
    teacher_forcing, rollout, names, settings = view.teacher_forcing, view.rollout, view.names, view.settings
    frame_models, last = view.results["frame_models"], view.last

    def train_seconds(models: dict, variant: str) -> float:
        return models[variant]["mean"]["train_seconds"]

    fastest = min(view.main, key=lambda v: train_seconds(teacher_forcing, v))
    slowest = max(view.main, key=lambda v: train_seconds(teacher_forcing, v))
    rollout_costs_more = all(train_seconds(rollout, v) > train_seconds(teacher_forcing, v)
                             for v in view.main if v in rollout)
    cost = (
        f"With teacher forcing, {names[fastest]} trains fastest ({sec(train_seconds(teacher_forcing, fastest))} s) "
        f"and {names[slowest]} slowest ({sec(train_seconds(teacher_forcing, slowest))} s)"
        + (f"; rollout training runs {settings['rollout_steps']} passes per batch and costs more for every model."
           if rollout and rollout_costs_more
           else "." if not rollout else "; rollout training does not cost more for every model in wall-clock time.")
        + f" The frame autoencoder took {sec(frame_models['autoencoder_train_seconds'])} s and the classifier "
        f"{sec(frame_models['classifier_train_seconds'])} s. Times are wall-clock on {view.device_text} and only "
        "indicative.")
    grows = all(view.mean(pair, "mse_last20") > view.mean(pair, "mse_all") for pair in view.learned)
    growth = (f"For every predictor the MSE over the last {last} frames is higher than over all "
              f"{settings['predicted']}: the error grows with the horizon (Fig.~\\ref{{fig:mse}})." if grows else
              f"The MSE over the last {last} frames is not higher than over all {settings['predicted']} for "
              "every predictor (Fig.~\\ref{fig:mse}).")
    return {"cost_sentence": cost, "growth_sentence": growth}
