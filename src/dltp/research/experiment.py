"""`dltp run tp5.research`: the latent video prediction experiment, run and tracked.

1. Moving digits (50 frames of 64×64, one or two digits): train sequences from the dataset's
   training digits, test sequences from its test digits; a second test set of two-digit sequences
   for the standard Moving MNIST protocol (10 given → 10 predicted).
2. A frame autoencoder (64 latent numbers per frame) and a digit classifier, trained once per run
   on real training frames.
3. Latent predictors — the recurrent TAP baseline, TAP-T with 1/2/4 layers, TAP-M with memories
   of 10/25/all latents — trained for every seed in two regimes: teacher forcing, and rollout
   training (``--rollout-steps`` passes through the model's own predictions,
   models.build_rollout_trainer) for the three main predictors; then rolled out for 40 frames from
   10 given ones, and for 10 from 10 on the standard protocol, and decoded.
4. Per-frame MSE, MSE over the last 20 frames, object consistency at frame 50, the standard
   protocol's MSE/MAE per frame and SSIM, and costs; copy-last-frame and the autoencoder's error on
   true latents as reference lines. One MLflow parent run, one child run per model, regime and
   seed; everything lands in ``results.json`` (local file and artifact), which `dltp paper` reads.

The story reads top to bottom below; its pieces live beside it: ``study`` (what is compared),
``data`` (the sequences), ``models`` (the builders), ``fitting`` (training), ``latents`` (frames to
latents and back, the rollout), ``scoring`` (the metrics) and ``results`` (results.json, the
figures, the headline metrics).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from dltp import tracking
from dltp.config import RunConfig
from dltp.data import load_images
from dltp.errors import DltpError
from dltp.labs.common import result
from dltp.research import data as mdata
from dltp.research import protocol
from dltp.research.fitting import fit_frame_models, fit_predictor
from dltp.research.latents import as_float, decode, encode, to_uint8
from dltp.research.results import headline_metrics, run_device, save_results
from dltp.research.scoring import Benchmark, aggregate, copy_last_frame, frame_mse, log_curve, score_predictor
from dltp.research.study import (DLTP_ID, EXPERIMENT, FRAMES, GIVEN, LAST, LATENT, MAIN, PREDICTED, REGIMES, SIZE,
                                 TAP_T_WINDOW, VARIANTS, architecture, child_run)


def settings(cfg: RunConfig) -> dict:
    """The budget: the default configuration (35 min recorded on 2 shared CPU cores with jax at load
    7, bench/results/labs/tp5_research.json) or --quick (the three main predictors, one seed, both
    regimes: a quick run that still ranks them against copy-last-frame)."""
    run_settings = {
        "train_sequences": cfg.value("sequences"),
        "test_sequences": cfg.value("test_sequences"),
        "seeds": cfg.value("seeds"),
        "predictor_epochs": cfg.value("epochs"),
        "batch_size": cfg.value("batch_size"),
        "ae_epochs": cfg.value("ae_epochs"),
        "ae_frames_per_sequence": 6 if not cfg.quick else 8,
        "classifier_epochs": 3 if not cfg.quick else 2,
        "classifier_frames_per_sequence": 4 if not cfg.quick else 6,
        # --quick trains the three main predictors only (the ablations need the full budget).
        "variants": list(VARIANTS) if not cfg.quick else list(MAIN),
        "digit_size": mdata.DIGIT, "architecture": architecture(),
        "frames": FRAMES, "given": GIVEN, "predicted": PREDICTED, "last": LAST, "size": SIZE,
        "latent_dim": LATENT, "tap_t_window": TAP_T_WINDOW, "learning_rate": 1e-3, "quick": cfg.quick,
        "base_seed": cfg.seed,
        "rollout_steps": cfg.value("rollout_steps"),
        "regimes": list(REGIMES),
        "standard_given": protocol.GIVEN, "standard_predicted": protocol.PREDICTED,
        "standard_test_sequences": cfg.value("test_sequences"),
    }
    flags = {"train_sequences": "--sequences", "test_sequences": "--test-sequences", "seeds": "--seeds",
             "predictor_epochs": "--epochs", "batch_size": "--batch-size", "ae_epochs": "--ae-epochs"}
    for key, flag in flags.items():  # the message names the flag the user typed
        if run_settings[key] < 1:
            raise DltpError(f"{flag} must be at least 1")
    if not 2 <= run_settings["rollout_steps"] <= PREDICTED:
        raise DltpError(f"--rollout-steps must be between 2 and {PREDICTED} (1 would be teacher forcing again)")
    if run_settings["train_sequences"] < 4:
        raise DltpError("--sequences must be at least 4 (one tenth is kept for validation)")
    return run_settings


def run(cfg: RunConfig) -> dict:
    run_settings = settings(cfg)
    results_dir = Path(cfg.value("results_dir"))
    data = load_images(cfg.dataset, default="mnist")
    if data.image_shape != (28, 28, 1):
        raise DltpError(f"moving digits need 28×28 grey digits; {data.name} has {data.image_shape}")
    keras.utils.set_random_seed(cfg.seed)
    train, test, standard = _sequences(data, run_settings, cfg.seed)
    with tracking.run(EXPERIMENT, dltp_id=DLTP_ID, run_name="tp5-research", params=dict(run_settings), data=data,
                      seed=cfg.seed) as parent:
        parent_id = parent.info.run_id
        with tracking.Timer() as timer:
            results, examples = _experiment(parent_id, run_settings, data, train, test, standard)
        results["wall_seconds"] = timer.seconds
        results["parent_run_id"] = parent_id
        path = save_results(results, examples, results_dir)
        headline = headline_metrics(results)
        tracking.log_metrics({**headline, "copy_last_mse_last20": results["copy_last"]["mse_last20"],
                              "copy_last_consistency": results["copy_last"]["consistency"],
                              "wall_seconds": results["wall_seconds"]})
    print(f"results: {path}; write the paper with `dltp paper --results {path}`")
    return result(DLTP_ID, parent_id, data, results_json=str(path), seeds=run_settings["seeds"],
                  rollout_steps=run_settings["rollout_steps"],
                  copy_last_mse_last20=results["copy_last"]["mse_last20"],
                  copy_last_consistency=results["copy_last"]["consistency"],
                  copy_last_standard_mse=results["standard"]["copy_last"]["mse"],
                  autoencoder_standard_mse=results["standard"]["autoencoder"]["mse"],
                  wall_seconds=results["wall_seconds"], **headline)


def _sequences(data, run_settings: dict, seed: int):
    """Train sequences from the dataset's training digits, test sequences from its test digits, and
    the standard protocol's test sequences: always two digits, 10 given + 10 predicted frames."""
    train = mdata.moving_digits(data.x_train, data.y_train, run_settings["train_sequences"], frames=FRAMES,
                                size=SIZE, seed=seed)
    test = mdata.moving_digits(data.x_test, data.y_test, run_settings["test_sequences"], frames=FRAMES, size=SIZE,
                               seed=seed + 10_000)
    standard = mdata.moving_digits(data.x_test, data.y_test, run_settings["standard_test_sequences"],
                                   frames=run_settings["standard_given"] + run_settings["standard_predicted"],
                                   size=SIZE, min_digits=2, seed=seed + 20_000)
    return train, test, standard


def _experiment(parent_id: str, run_settings: dict, data, train, test, standard) -> tuple[dict, dict]:
    """The frame models, the copy-last-frame baseline and every predictor, each in child runs of
    ``parent_id``; returns (the results, the decoded rollouts of two test sequences)."""
    base_seed = run_settings["base_seed"]
    rng = np.random.default_rng(base_seed)
    frame_models, train_latents, bench, reconstruction, standard_floor = _frame_models(
        parent_id, run_settings, data, rng, train, test, standard)
    copy_last, standard_copy, copy = _copy_last(parent_id, run_settings, bench, test, standard)
    seeds = [base_seed + k for k in range(run_settings["seeds"])]
    regimes, rollouts = _predictors(parent_id, run_settings, seeds, train_latents, bench)
    examples = {"true": test.frames[:2], "copy-last": to_uint8(copy[:2]), **rollouts}
    results = {
        "experiment": DLTP_ID,
        "dataset": data.name,
        "dataset_fallback": data.fallback,
        "backend": tracking.backend(),
        "device": run_device(),
        "settings": run_settings,
        "seeds": seeds,
        "data": {"train_sequences": len(train), "test_sequences": len(test),
                 "standard_test_sequences": len(standard),
                 "train_digit_images": int(len(data.x_train)), "test_digit_images": int(len(data.x_test)),
                 "two_digit_fraction_test": float((test.n_digits == 2).mean())},
        "frame_models": frame_models,
        "copy_last": copy_last,
        "reconstruction_mse_per_frame": reconstruction.tolist(),
        "standard": {"copy_last": standard_copy, "autoencoder": standard_floor,
                     "published": protocol.PUBLISHED,
                     "published_test_sequences": protocol.PUBLISHED_TEST_SEQUENCES},
        "regimes": regimes,
        "main": MAIN,
    }
    return results, examples


def _frame_models(parent_id: str, run_settings: dict, data, rng, train, test, standard):
    """The frame autoencoder and the digit classifier, trained once in their own child run; the
    latents of every frame, standardised with the training latents' statistics; the autoencoder's
    own error on true latents, a reference line. Returns (results.json's "frame_models", training
    latents, the benchmark every forecast is scored on, reconstruction MSE per frame, the
    autoencoder's standard protocol metrics)."""
    standard_given = run_settings["standard_given"]
    with child_run(parent_id, "frame-models", data=data, seed=run_settings["base_seed"],
                   params={"latent_dim": LATENT, "ae_epochs": run_settings["ae_epochs"],
                           "classifier_epochs": run_settings["classifier_epochs"]}):
        fitted = fit_frame_models(run_settings, rng, train.frames, train.labels)

        # Latents of every frame, standardised with the training statistics.
        train_latents, test_latents = encode(fitted.encoder, train.frames), encode(fitted.encoder, test.frames)
        standard_latents = encode(fitted.encoder, standard.frames)
        latent_mean, latent_std = train_latents.mean(axis=(0, 1)), train_latents.std(axis=(0, 1)) + 1e-6
        train_z, test_z, standard_z = ((latents - latent_mean) / latent_std
                                       for latents in (train_latents, test_latents, standard_latents))
        bench = Benchmark(fitted.decoder, fitted.classifier, latent_mean, latent_std,
                          test_given=test_z[:, :GIVEN], test_future=as_float(test.frames[:, GIVEN:]),
                          test_labels=test.labels, standard_given=standard_z[:, :standard_given],
                          standard_future=as_float(standard.frames[:, standard_given:]))

        reconstructed = decode(fitted.decoder, test_latents[:, GIVEN:])
        reconstruction = frame_mse(reconstructed, bench.test_future)
        standard_floor = protocol.standard_metrics(decode(fitted.decoder, standard_latents[:, standard_given:]),
                                                   bench.standard_future)
        fitted.info.update({
            "reconstruction_mse": float(reconstruction.mean()),
            "reconstruction_mse_last20": float(reconstruction[-LAST:].mean()),
            "classifier_accuracy_true_last": bench.consistency(as_float(test.frames[:, -1])),
            "classifier_accuracy_reconstructed_last": bench.consistency(reconstructed[:, -1]),
        })
        tracking.log_metrics({**fitted.info, **{f"standard_{k}": v for k, v in standard_floor.items()}})
        tracking.log_keras_model(fitted.autoencoder, "autoencoder")
        tracking.log_keras_model(fitted.classifier, "classifier")
    return fitted.info, train_z, bench, reconstruction, standard_floor


def _copy_last(parent_id: str, run_settings: dict, bench: Benchmark, test, standard):
    """Copying the last given frame, the baseline every predictor must beat, scored in its own child
    run; returns (its scores, its standard protocol metrics, its forecast frames)."""
    copy = copy_last_frame(test.frames, GIVEN, PREDICTED)
    curve = frame_mse(copy, bench.test_future)
    scores = {"mse_per_frame": curve.tolist(), "mse_last20": float(curve[-LAST:].mean()),
              "mse_all": float(curve.mean()), "consistency": bench.consistency(copy[:, -1])}
    standard_copy = protocol.standard_metrics(
        copy_last_frame(standard.frames, run_settings["standard_given"], run_settings["standard_predicted"]),
        bench.standard_future)
    with child_run(parent_id, "copy-last-frame", params={"variant": "copy-last"},
                   tags={"dltp.variant": "copy-last"}) as child:
        tracking.log_metrics({**{k: v for k, v in scores.items() if k != "mse_per_frame"},
                              **{f"standard_{k}": v for k, v in standard_copy.items()}})
        log_curve(child.info.run_id, curve)
    return scores, standard_copy, copy


def _predictors(parent_id: str, run_settings: dict, seeds: list[int], train_latents: np.ndarray,
                bench: Benchmark) -> tuple[dict, dict]:
    """Every predictor in both regimes (the ablations with teacher forcing only), for every seed, each
    in its own child run; returns (results.json's "regimes", the first seed's rollouts of two test
    sequences)."""
    plan = {regime: [v for v in run_settings["variants"] if regime == "teacher_forcing" or v in MAIN]
            for regime in REGIMES}
    total, done = sum(len(v) for v in plan.values()) * len(seeds), 0
    regimes: dict[str, dict] = {}
    rollouts = {}
    for regime in REGIMES:
        regimes[regime] = {}
        for variant in plan[regime]:
            runs = []
            for seed in seeds:
                done += 1
                print(f"== [{done}/{total}] {variant} {regime} seed {seed} ==", flush=True)
                record, frames = _predictor_run(parent_id, run_settings, variant, regime, seed, train_latents,
                                                bench)
                runs.append(record)
                if seed == seeds[0]:
                    rollouts[variant if regime == "teacher_forcing" else f"{variant}+{regime}"] = to_uint8(frames[:2])
                print(f"   {variant} {regime} seed {seed}: MSE last {LAST} {record['mse_last20']:.5f}, "
                      f"consistency {record['consistency']:.3f}, standard MSE {record['standard_mse']:.1f}, "
                      f"{record['train_seconds']:.1f} s", flush=True)
            regimes[regime][variant] = aggregate(VARIANTS[variant], runs)
    return regimes, rollouts


def _predictor_run(parent_id: str, run_settings: dict, variant: str, regime: str, seed: int,
                   train_latents: np.ndarray, bench: Benchmark) -> tuple[dict, np.ndarray]:
    """One predictor trained in one regime with one seed, rolled out and scored in its own child run;
    returns (its record in results.json, its decoded test rollouts)."""
    spec = VARIANTS[variant]
    knobs = {k: spec[k] for k in ("layers", "window", "memory") if k in spec}
    params = {"variant": variant, "kind": spec["kind"], "regime": regime, **knobs,
              "rollout_steps": run_settings["rollout_steps"] if regime == "rollout" else 1,
              "epochs": run_settings["predictor_epochs"], "batch_size": run_settings["batch_size"]}
    with child_run(parent_id, f"{variant}-{regime}-seed{seed}", seed=seed, params=params,
                   tags={"dltp.variant": variant, "dltp.regime": regime}) as child:
        predictor, log, train_seconds = fit_predictor(spec, seed, regime, run_settings, train_latents)
        forecast = score_predictor(predictor, bench)
        metrics = {
            **forecast.scores,
            "parameters": int(predictor.count_params()),
            "train_seconds": train_seconds,
            "rollout_seconds": forecast.rollout_seconds,
            "rollout_ms_per_sequence": 1000.0 * forecast.rollout_seconds / len(bench.test_given),
            "final_train_loss": log.history["loss"][-1],
            "final_val_loss": log.history["val_loss"][-1],
        }
        tracking.log_metrics(metrics)
        log_curve(child.info.run_id, forecast.curve)
    record = {"seed": seed, "run_id": child.info.run_id, **metrics, "mse_per_frame": forecast.curve.tolist()}
    return record, forecast.frames
