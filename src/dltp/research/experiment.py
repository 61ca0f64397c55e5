"""`dltp run tp5.research`: latent video prediction on Moving MNIST, run and tracked.

1. Moving MNIST (data): two digits per 64×64 sequence of 50 frames; training sequences from the
   dataset's training digits, test sequences from its test digits only.
2. The frame models, trained once per run on training sequences: a frame autoencoder with a
   spatial latent, and the identity instrument (a digit classifier of 28×28 crops), whose validity
   is measured: on true frames, on the autoencoder's reconstructions, against chance and against a
   frame-blind constant guess.
3. References: copy-last-frame, the autoencoder on true frames (the floor of every latent
   predictor), and a pixel-space baseline from the literature (SimVP-style) trained on the same
   sequences.
4. Latent predictors (TAP, TAP-T, TAP-M) for every seed: teacher forcing, then fine-tuning epochs
   at each rollout depth k (k = 1 is teacher forcing again); rolled out from 10 given frames to 50.
5. Scores per test sequence; means over seeds; 95 % intervals for every comparison the paper makes;
   ``results.json`` for `dltp paper`. One MLflow parent run, a child run per model and seed.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from dltp import registry, tracking
from dltp.config import RunConfig
from dltp.data import load_images
from dltp.errors import DltpError
from dltp.labs.common import result
from dltp.research import data as mdata
from dltp.research import fitting, protocol, scoring
from dltp.research.latents import as_float, decode, encode, predict, rollout, to_uint8
from dltp.research.facts import STANDARD_ERRORS, validity_threshold
from dltp.research.results import headline_metrics, run_device, save_results
from dltp.research.study import (DLTP_ID, EXPERIMENT, FRAMES, GIVEN, LAST, PREDICTED, SIZE, STANDARD, VARIANTS,
                                 architecture, child_run, model_id)

EXAMPLES = 2  # test sequences whose rollouts are kept for the figures


def settings(cfg: RunConfig) -> dict:
    """Every option of the study as this run resolves it (declared once in dltp.registry), checked."""
    names = (*registry.COMMON, *registry.get(DLTP_ID).options)
    values = {name: cfg.value(name) for name in names}
    for name in names:
        value = values[name]
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise DltpError(f"{registry.OPTIONS[name].flag if name in registry.OPTIONS else '--' + name} "
                            "must be at least 1")
    if values["sequences"] < 10:
        raise DltpError("--sequences must be at least 10 (one tenth is kept for validation)")
    depths = values["depths"]
    if not depths or any(not 1 <= k <= PREDICTED for k in depths) or len(set(depths)) != len(depths):
        raise DltpError(f"--depths must be distinct rollout depths between 1 and {PREDICTED}, e.g. --depths 1 4 40")
    values["depths"] = sorted(depths)
    return values


def run(cfg: RunConfig) -> dict:
    s = settings(cfg)
    data = load_images(cfg.dataset, default="mnist")
    if data.image_shape != (28, 28, 1):
        raise DltpError(f"Moving MNIST needs 28×28 grey digits; {data.name} has {data.image_shape}")
    keras.utils.set_random_seed(cfg.seed)
    train = mdata.moving_mnist(data.x_train, data.y_train, s["sequences"], frames=FRAMES, size=SIZE, seed=cfg.seed)
    test = mdata.moving_mnist(data.x_test, data.y_test, s["test_sequences"], frames=FRAMES, size=SIZE,
                              seed=cfg.seed + 10_000)
    with tracking.run(EXPERIMENT, dltp_id=DLTP_ID, run_name="tp5-research", data=data, seed=cfg.seed,
                      params={k: v for k, v in s.items() if k != "results_dir"}) as parent:
        parent_id = parent.info.run_id
        with tracking.Timer() as timer:
            results, examples, per_sequence = _experiment(parent_id, s, cfg.seed, data, train, test)
        results.update(wall_seconds=timer.seconds, parent_run_id=parent_id)
        path = save_results(results, examples, per_sequence, Path(s["results_dir"]))
        headline = headline_metrics(results)
        tracking.log_metrics({**headline, "wall_seconds": timer.seconds})
    print(f"results: {path}; write the paper with `dltp paper --results {path}`")
    return result(DLTP_ID, parent_id, data, results_json=str(path), seeds=s["seeds"], depths=s["depths"],
                  wall_seconds=results["wall_seconds"], **headline)


def _experiment(parent_id: str, s: dict, base_seed: int, data, train, test) -> tuple[dict, dict, dict]:
    """Every model of the study, each in child runs of ``parent_id``; returns (results.json, the
    rollouts of the first test sequences, the per-sequence scores)."""
    rng = np.random.default_rng(base_seed)
    seeds = [base_seed + k for k in range(s["seeds"])]
    scores: dict[str, list[dict]] = {}  # model id -> per-seed per-sequence scores
    models: dict[str, dict] = {}  # model id -> what results.json says of it besides its scores
    examples = {"true": test.frames[:EXAMPLES]}

    # --- the frame models and the instrument --------------------------------------------------------
    frames, bench, instrument = _frame_models(parent_id, s, rng, train, test, scores, models, examples)

    # --- references ----------------------------------------------------------------------------------
    copy = scoring.copy_last_frame(test.frames)
    scores["copy-last"] = [scoring.score(bench.test, scoring.frame_chunks(copy))]
    models["copy-last"] = {"kind": "reference", "label": "copy last frame"}
    examples["copy-last"] = copy[:EXAMPLES]
    _log_reference(parent_id, "copy-last", scores["copy-last"][0])
    _baseline(parent_id, s, rng, train, test, bench, scores, models, examples)

    # --- the latent predictors --------------------------------------------------------------------
    for variant in VARIANTS:
        for seed in seeds:
            _predictor(parent_id, s, variant, seed, frames, bench, scores, models, examples)

    # --- summaries and intervals ------------------------------------------------------------------
    for key, per_seed in scores.items():
        models[key].update(scoring.summary(per_seed))
        if "runs" in models[key]:  # the costs, averaged over seeds
            runs = models[key]["runs"]
            models[key]["cost"] = {k: sum(r[k] for r in runs) / len(runs)
                                   for k in ("pretrain_seconds", "finetune_seconds", "rollout_ms_per_sequence")}
    results = {
        "experiment": DLTP_ID, "dataset": data.name, "dataset_fallback": data.fallback_from,
        "dataset_source": data.source, "backend": tracking.backend(), "device": run_device(),
        "settings": {**s, "frames": FRAMES, "given": GIVEN, "predicted": PREDICTED, "last": LAST, "size": SIZE,
                     "standard": STANDARD, "first_predicted": GIVEN + 1, "standard_last": GIVEN + STANDARD,
                     "digits": mdata.DIGITS, "digit_size": mdata.DIGIT, "step_length": mdata.STEP,
                     "identity_at": list(scoring.IDENTITY_AT), "architecture": architecture()},
        "seeds": seeds,
        "variants": {v: {k: spec[k] for k in ("label", "short", "kind")} for v, spec in VARIANTS.items()},
        "data": {"train_sequences": len(train), "test_sequences": len(test),
                 "train_digit_images": int(len(data.x_train)), "test_digit_images": int(len(data.x_test))},
        "frame_models": frames.info, "instrument": instrument, "models": models,
        "comparisons": _comparisons(s, scores, np.random.default_rng(base_seed + 1)),
        "published": {"models": protocol.PUBLISHED, "epochs": protocol.PUBLISHED_EPOCHS,
                      "test_sequences": protocol.PUBLISHED_TEST_SEQUENCES},
    }
    per_sequence = {f"{key}/{n}/{metric}": values[metric] for key, runs in scores.items()
                    for n, values in enumerate(runs) for metric in (*scoring.METRICS, "mse_per_frame")}
    return results, examples, per_sequence


class _Bench:
    """What a latent forecast is decoded and scored with."""

    def __init__(self, test: scoring.TestSet, decoder, mean: np.ndarray, std: np.ndarray, given: np.ndarray):
        self.test, self.decoder, self.mean, self.std, self.given = test, decoder, mean, std, given

    def score_latents(self, standardised: np.ndarray) -> dict:
        return scoring.score(self.test, scoring.latent_chunks(self.decoder, standardised * self.std + self.mean))


class _FrameModels:
    def __init__(self, encoder, decoder, reader, train_z: np.ndarray, info: dict):
        self.encoder, self.decoder, self.reader, self.train_z, self.info = encoder, decoder, reader, train_z, info


def _frame_models(parent_id, s, rng, train, test, scores, models, examples):
    """The autoencoder and the instrument in their own child run; the latents of every frame,
    standardised with the training latents' statistics; the autoencoder's scores on true frames
    (the floor) and the instrument's validity."""
    with child_run(parent_id, "frame-models", params={k: s[k] for k in ("ae_epochs", "ae_frames", "reader_epochs",
                                                                           "reader_frames")}):
        print("== frame autoencoder ==", flush=True)
        _, encoder, decoder, info = fitting.fit_autoencoder(train, rng, per_sequence=s["ae_frames"],
                                                            epochs=s["ae_epochs"])
        print("== identity instrument ==", flush=True)
        reader, reader_info = fitting.fit_reader(train, rng, per_sequence=s["reader_frames"],
                                                 epochs=s["reader_epochs"])
        info.update(reader_info)
        train_latents, test_latents = encode(encoder, train.frames), encode(encoder, test.frames)
        mean, std = train_latents.mean(axis=(0, 1)), train_latents.std(axis=(0, 1)) + 1e-6
        test_set = scoring.TestSet(test.frames, test.labels, test.positions, reader)
        bench = _Bench(test_set, decoder, mean, std, (test_latents[:, :GIVEN] - mean) / std)
        floor = bench.score_latents((test_latents[:, GIVEN:] - mean) / std)
        scores["autoencoder"] = [floor]
        models["autoencoder"] = {"kind": "reference", "label": "autoencoder on true frames",
                                 "parameters": info["autoencoder_parameters"]}
        examples["autoencoder"] = to_uint8(decode(decoder, test_latents[:EXAMPLES, GIVEN:]))
        instrument = _instrument(s, rng, test_set, floor, reader_info["constant_guess_class"])
        tracking.log_metrics({**info, **{f"floor_{k}": float(floor[k].mean()) for k in scoring.METRICS},
                              "instrument_true_identity50": instrument["true"]["identity50"]["value"]})
        tracking.log_keras_model(encoder, "encoder")
        tracking.log_keras_model(decoder, "decoder")
        tracking.log_keras_model(reader, "instrument")
    return _FrameModels(encoder, decoder, reader, (train_latents - mean) / std, info), bench, instrument


def _instrument(s, rng, test: scoring.TestSet, floor: dict, constant_class: int) -> dict:
    """The instrument on true frames and on the autoencoder's reconstructions (with 95 % intervals),
    chance for its rule (a uniform guess among 10 digits) and the frame-blind constant guess (the
    most frequent training digit), at every frame identity is read."""
    true, reconstructed = {}, {}
    for t in scoring.IDENTITY_AT:
        true[f"identity{t}"] = scoring.proportion_interval(test.identity(as_float(test.frames[:, t - 1]), t), rng,
                                                           s["resamples"])
        reconstructed[f"identity{t}"] = scoring.proportion_interval(floor[f"identity{t}"], rng, s["resamples"])
    out = {"true": true, "reconstructed": reconstructed, "chance": 0.1, "constant_class": constant_class,
           "constant": float((test.labels == constant_class).mean()), "digits_scored": int(test.labels.size)}
    return {**out, "threshold": validity_threshold(out), "threshold_standard_errors": STANDARD_ERRORS}


def _log_reference(parent_id: str, key: str, per_sequence: dict) -> None:
    with child_run(parent_id, key, params={"variant": key}, tags={"dltp.variant": key}) as child:
        tracking.log_metrics({k: float(per_sequence[k].mean()) for k in scoring.METRICS})
        scoring.log_curve(child.info.run_id, per_sequence["mse_per_frame"].mean(axis=0))


def _baseline(parent_id, s, rng, train, test, bench, scores, models, examples) -> None:
    """The pixel-space baseline, trained once, in its own child run; its 40 frames are 10 → 10
    forecasts chained, each from the last 10 frames it was given or predicted."""
    params = {k: s[k] for k in ("baseline_epochs", "baseline_windows", "batch_size")}
    with child_run(parent_id, "baseline", params={"variant": "baseline", **params},
                   tags={"dltp.variant": "baseline"}) as child:
        print("== pixel-space baseline ==", flush=True)
        model, info = fitting.fit_baseline(train, rng, windows_per_sequence=s["baseline_windows"],
                                           epochs=s["baseline_epochs"], batch_size=s["batch_size"])

        def forecast(given: np.ndarray) -> np.ndarray:  # (n, GIVEN, S, S, 1) → (n, PREDICTED, S, S, 1)
            window, out = given, []
            for _ in range(-(-PREDICTED // STANDARD)):
                window = predict(model, window, batch=64)
                out.append(window)
            return np.concatenate(out, axis=1)[:, :PREDICTED]

        kept = []

        def keeping():
            for rows, given in scoring.frame_chunks(test.frames[:, :GIVEN]):
                frames = forecast(given)
                if rows.start == 0:
                    kept.append(frames[:EXAMPLES])
                yield rows, frames

        per_sequence = scoring.score(bench.test, keeping())
        tracking.log_metrics({**info, **{k: float(per_sequence[k].mean()) for k in scoring.METRICS}})
        scoring.log_curve(child.info.run_id, per_sequence["mse_per_frame"].mean(axis=0))
    scores["baseline"] = [per_sequence]
    models["baseline"] = {"kind": "reference", "label": "SimVP-style pixel baseline",
                          "parameters": info["baseline_parameters"], "train_seconds": info["baseline_train_seconds"],
                          "train_windows": info["baseline_train_windows"]}
    examples["baseline"] = to_uint8(kept[0])


def _predictor(parent_id, s, variant, seed, frames: _FrameModels, bench: _Bench, scores, models, examples) -> None:
    """One predictor and seed: teacher forcing for ``epochs``, then from those weights ``rollout_epochs``
    at each rollout depth; each depth rolled out, decoded and scored in its own child run."""
    spec = VARIANTS[variant]
    print(f"== {variant} seed {seed}: teacher forcing, {s['epochs']} epochs ==", flush=True)
    with child_run(parent_id, f"{variant}-pretrain-seed{seed}", seed=seed,
                   params={"variant": variant, "kind": spec["kind"], "epochs": s["epochs"]},
                   tags={"dltp.variant": variant, "dltp.stage": "pretrain"}):
        start, pre = fitting.fit_predictor(variant, seed, frames.train_z, depth=1, epochs=s["epochs"],
                                           batch_size=s["batch_size"], learning_rate=s["learning_rate"])
        tracking.log_metrics(pre)
    for depth in s["depths"]:
        key = model_id(variant, depth)
        params = {"variant": variant, "kind": spec["kind"], "depth": depth, "pretrain_epochs": s["epochs"],
                  "rollout_epochs": s["rollout_epochs"], "batch_size": s["batch_size"]}
        with child_run(parent_id, f"{variant}-k{depth}-seed{seed}", seed=seed, params=params,
                       tags={"dltp.variant": variant, "dltp.depth": str(depth)}) as child:
            predictor, fine = fitting.fit_predictor(variant, seed, frames.train_z, depth=depth,
                                                    epochs=s["rollout_epochs"], batch_size=s["batch_size"],
                                                    learning_rate=s["learning_rate"], start=start)
            with tracking.Timer() as timer:
                forecast = rollout(predictor, bench.given, PREDICTED)
            per_sequence = bench.score_latents(forecast)
            record = {"seed": seed, "run_id": child.info.run_id, "parameters": int(predictor.count_params()),
                      "pretrain_seconds": pre["train_seconds"], "finetune_seconds": fine["train_seconds"],
                      "rollout_ms_per_sequence": 1000.0 * timer.seconds / len(bench.given),
                      "final_val_loss": fine["final_val_loss"]}
            tracking.log_metrics({**{k: v for k, v in record.items() if k not in ("seed", "run_id")},
                                  **{k: float(per_sequence[k].mean()) for k in scoring.METRICS}})
            scoring.log_curve(child.info.run_id, per_sequence["mse_per_frame"].mean(axis=0))
        print(f"   {key} seed {seed}: MSE/frame last {LAST} {per_sequence['mse_last20'].mean():.1f}, "
              f"identity at 50 {100 * per_sequence['identity50'].mean():.1f} %, {fine['train_seconds']:.1f} s",
              flush=True)
        scores.setdefault(key, []).append(per_sequence)
        entry = models.setdefault(key, {"kind": "predictor", "variant": variant, "depth": depth,
                                        "label": spec["label"], "parameters": record["parameters"], "runs": []})
        entry["runs"].append(record)
        if key not in examples:  # the first seed's
            examples[key] = to_uint8(decode(frames.decoder, forecast[:EXAMPLES] * bench.std + bench.mean))


def _comparisons(s: dict, scores: dict, rng) -> list[dict]:
    """Every comparison the paper makes, as the mean difference (a - b) with its 95 % interval:
    each depth against teacher forcing, TAP-T and TAP-M against TAP, every predictor against
    copy-last-frame, the baseline and the floor; the floor against the baseline."""
    depths = s["depths"]
    pairs = []
    for variant in VARIANTS:
        for depth in depths[1:]:
            pairs += [(model_id(variant, depth), model_id(variant, depths[0]), m)
                      for m in ("mse_last20", "standard_mse", "identity50")]
    for depth in depths:
        for variant in list(VARIANTS)[1:]:
            pairs += [(model_id(variant, depth), model_id("tap", depth), m) for m in ("mse_last20", "identity50")]
    for variant in VARIANTS:
        for depth in depths:
            key = model_id(variant, depth)
            pairs += [(key, "copy-last", m) for m in ("mse_last20", "identity50")]
            pairs += [(key, "baseline", m) for m in ("standard_mse", "identity50")]
            pairs += [(key, "autoencoder", "standard_mse")]
    pairs += [("autoencoder", "baseline", "standard_mse"), ("baseline", "copy-last", "standard_mse")]

    def stack(key, metric):
        return np.stack([run[metric] for run in scores[key]])

    return [{"a": a, "b": b, "metric": m, **scoring.interval(stack(a, m), stack(b, m), rng, s["resamples"])}
            for a, b, m in pairs]
