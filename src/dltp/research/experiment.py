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
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np

from dltp import tracking, training
from dltp.config import RunConfig
from dltp.data import load_images
from dltp.errors import DltpError
from dltp.labs.common import result
from dltp.research import data as mdata
from dltp.research import models, protocol

EXPERIMENT = "tp5-research"
FRAMES, GIVEN, SIZE, LATENT = 50, 10, 64, 64
PREDICTED = FRAMES - GIVEN
LAST = 20  # the "MSE over the last 20 frames" of the original proposal
TAP_T_WINDOW = 10

# id -> (label, group, builder kind, builder kwargs, description of the knob for the paper)
VARIANTS: dict[str, dict] = {
    "tap": {"label": "TAP (GRU)", "kind": "recurrent", "kwargs": {}, "main": True},
    "tap-t-L1": {"label": "TAP-T", "kind": "tap_t", "kwargs": {"layers_": 1, "window": TAP_T_WINDOW},
                 "layers": 1, "window": TAP_T_WINDOW},
    "tap-t-L2": {"label": "TAP-T", "kind": "tap_t", "kwargs": {"layers_": 2, "window": TAP_T_WINDOW},
                 "layers": 2, "window": TAP_T_WINDOW, "main": True},
    "tap-t-L4": {"label": "TAP-T", "kind": "tap_t", "kwargs": {"layers_": 4, "window": TAP_T_WINDOW},
                 "layers": 4, "window": TAP_T_WINDOW},
    "tap-m-M10": {"label": "TAP-M", "kind": "tap_m", "kwargs": {"memory": 10}, "memory": 10},
    "tap-m-M25": {"label": "TAP-M", "kind": "tap_m", "kwargs": {"memory": 25}, "memory": 25},
    "tap-m-all": {"label": "TAP-M", "kind": "tap_m", "kwargs": {"memory": None}, "memory": "all", "main": True},
}
MAIN = [v for v, spec in VARIANTS.items() if spec.get("main")]
# Training regimes: teacher forcing (one pass on true latents) and the rollout objective
# (``rollout_steps`` passes through the model's own predictions, models.build_rollout_trainer).
REGIMES = {"teacher_forcing": "teacher forcing", "rollout": "rollout training"}


def architecture() -> dict:
    """The predictors' sizes (the builders' defaults), for the paper."""
    import inspect

    def default(fn, arg):
        return inspect.signature(fn).parameters[arg].default

    return {"gru_units": default(models.build_recurrent, "units"),
            "tap_t_d_model": default(models.build_tap_t, "d_model"),
            "tap_t_heads": default(models.build_tap_t, "heads"), "tap_t_ff": default(models.build_tap_t, "ff"),
            "tap_m_key_dim": default(models.build_tap_m, "key_dim"), "tap_m_ff": default(models.build_tap_m, "ff")}


def settings(cfg: RunConfig) -> dict:
    """The budget: the default configuration (about 15 min on 2 shared CPU cores with jax) or --quick
    (the three main predictors, one seed, both regimes: a smoke run)."""
    s = {
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
    for key in ("train_sequences", "test_sequences", "seeds", "predictor_epochs", "batch_size", "ae_epochs"):
        if s[key] < 1:
            raise DltpError(f"--{key.replace('_', '-')} must be at least 1")
    if not 2 <= s["rollout_steps"] <= PREDICTED:
        raise DltpError(f"--rollout-steps must be between 2 and {PREDICTED} (1 would be teacher forcing again)")
    if s["train_sequences"] < 4:
        raise DltpError("--sequences must be at least 4 (one tenth is kept for validation)")
    return s


def _frames(x: np.ndarray) -> np.ndarray:
    return (x.astype("float32") / 255.0)[..., None]


def _batched(model, x, batch: int = 256) -> np.ndarray:
    """model.predict: compiled once per model and input shape, unlike an eager call per batch."""
    return np.asarray(model.predict(x, batch_size=batch, verbose=0))


def rollout(predictor, given: np.ndarray, steps: int) -> np.ndarray:
    """Autoregressive rollout in latent space: (N, GIVEN, D) → (N, steps, D) predicted latents.

    The predictor is causal, so a zero-padded buffer of fixed length gives the same output at
    position t as the unpadded prefix, with one input shape for the whole rollout."""
    n, known, dim = given.shape
    length = predictor.input_shape[1]
    if known + steps - 1 > length:
        raise ValueError(f"buffer of {length} cannot hold {known} given + {steps} predicted latents")
    buffer = np.zeros((n, length, dim), dtype="float32")
    buffer[:, :known] = given
    out = np.zeros((n, steps, dim), dtype="float32")
    for step in range(steps):
        t = known + step  # latents 0..t-1 are known; predict latent t
        pred = np.asarray(predictor.predict_on_batch(buffer))[:, t - 1]  # one compiled function
        out[:, step] = pred
        if t < length:
            buffer[:, t] = pred
    return out


def frame_mse(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per-frame MSE (pixels in [0, 1]) averaged over sequences: (N, T, H, W[,1]) → (T,)."""
    diff = pred.reshape(pred.shape[:2] + (-1,)) - true.reshape(true.shape[:2] + (-1,))
    return (diff ** 2).mean(axis=(0, 2))


def _log_curve(run_id: str, curve: np.ndarray) -> None:
    """The per-frame MSE as metric ``mse_frame`` with step = frame number, in one request."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    tracking.client().log_batch(run_id, metrics=[Metric("mse_frame", float(v), now, GIVEN + 1 + i)
                                                 for i, v in enumerate(curve)])


def _summary(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype="float64")
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def _to_uint8(frames: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(frames[..., 0] * 255), 0, 255).astype(np.uint8)


def run(cfg: RunConfig) -> dict:
    s = settings(cfg)
    results_dir = Path(cfg.value("results_dir"))
    data = load_images(cfg.dataset, default="mnist")
    if data.image_shape != (28, 28, 1):
        raise DltpError(f"moving digits need 28×28 grey digits; {data.name} has {data.image_shape}")
    keras.utils.set_random_seed(cfg.seed)
    train = mdata.moving_digits(data.x_train, data.y_train, s["train_sequences"], frames=FRAMES, size=SIZE,
                                seed=cfg.seed)
    test = mdata.moving_digits(data.x_test, data.y_test, s["test_sequences"], frames=FRAMES, size=SIZE,
                               seed=cfg.seed + 10_000)
    # The standard protocol's test sequences: always two digits, 10 given + 10 predicted frames.
    standard = mdata.moving_digits(data.x_test, data.y_test, s["standard_test_sequences"],
                                   frames=s["standard_given"] + s["standard_predicted"], size=SIZE,
                                   min_digits=2, seed=cfg.seed + 20_000)
    params = {k: v for k, v in s.items()}
    with tracking.run(EXPERIMENT, dltp_id="tp5.research", run_name="tp5-research", params=params, data=data,
                      seed=cfg.seed) as parent:
        parent_id = parent.info.run_id
        started = time.perf_counter()
        out, examples = _experiment(parent_id, s, data, train, test, standard)
        out["wall_seconds"] = time.perf_counter() - started
        out["parent_run_id"] = parent_id
        results_dir.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(results_dir / "rollouts.npz", **examples)
        path = results_dir / "results.json"
        path.write_text(json.dumps(out, indent=1))
        tracking.log_json(out, "results.json")
        import mlflow

        mlflow.log_artifact(str(results_dir / "rollouts.npz"))
        from dltp.research import figures

        tracking.log_figure(figures.mse_curves(out), "mse_vs_horizon.png")
        tracking.log_figure(figures.rollout_strips(out, np.load(results_dir / "rollouts.npz")), "rollouts.png")
        headline = {}
        for regime in REGIMES:
            suffix = "" if regime == "teacher_forcing" else "_rollout"
            for v in MAIN:
                mean = out["regimes"][regime][v]["mean"]
                key = v.replace("-", "_") + suffix
                headline[f"{key}_mse_last20"] = mean["mse_last20"]
                headline[f"{key}_consistency"] = mean["consistency"]
                headline[f"{key}_standard_mse"] = mean["standard_mse"]
        tracking.log_metrics({**headline, "copy_last_mse_last20": out["copy_last"]["mse_last20"],
                              "copy_last_consistency": out["copy_last"]["consistency"],
                              "wall_seconds": out["wall_seconds"]})
    print(f"results: {path}; write the paper with `dltp paper --results {path}`")
    return result("tp5.research", parent_id, data, results_json=str(path), seeds=s["seeds"],
                  rollout_steps=s["rollout_steps"], copy_last_mse_last20=out["copy_last"]["mse_last20"],
                  copy_last_consistency=out["copy_last"]["consistency"],
                  copy_last_standard_mse=out["standard"]["copy_last"]["mse"],
                  autoencoder_standard_mse=out["standard"]["autoencoder"]["mse"],
                  wall_seconds=out["wall_seconds"], **headline)


def _decode(decoder, latents: np.ndarray) -> np.ndarray:
    """(N, T, D) latents → (N, T, S, S, 1) frames."""
    n, t = latents.shape[:2]
    return _batched(decoder, latents.reshape(-1, LATENT)).reshape(n, t, SIZE, SIZE, 1)


def _encode(encoder, frames: np.ndarray) -> np.ndarray:
    """(N, T, S, S) uint8 frames → (N, T, D) latents."""
    n, t = frames.shape[:2]
    return _batched(encoder, _frames(frames.reshape(-1, SIZE, SIZE))).reshape(n, t, LATENT)


def _fit_on_frames(model, x: np.ndarray, y: np.ndarray, epochs: int, prefix: str) -> tuple[float, int]:
    """Train on the first 90 % of the frames, validate on the rest; (seconds, training frames)."""
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    cut = int(len(x) * 0.9)
    start = time.perf_counter()
    training.fit(model, x[:cut], y[:cut], validation_data=(x[cut:], y[cut:]), epochs=epochs, batch_size=64,
                 checkpoint=False, prefix=prefix)
    return time.perf_counter() - start, cut


def _frame_models(s: dict, rng, x_train: np.ndarray, train_labels: np.ndarray):
    """Train the frame autoencoder and the digit classifier on real training frames."""
    n_tr = len(x_train)

    def random_frames(per_sequence: int) -> np.ndarray:
        pick = rng.integers(0, FRAMES, size=(n_tr, per_sequence))
        return _frames(x_train[np.arange(n_tr)[:, None], pick].reshape(-1, SIZE, SIZE))

    print("== frame autoencoder ==", flush=True)
    ae_x = random_frames(s["ae_frames_per_sequence"])
    autoencoder, encoder, decoder = models.build_autoencoder(SIZE, LATENT)
    ae_seconds, cut = _fit_on_frames(autoencoder, ae_x, ae_x, s["ae_epochs"], "ae_")

    print("== digit classifier ==", flush=True)
    clf_x = random_frames(s["classifier_frames_per_sequence"])
    clf_y = np.repeat(mdata.multi_hot(train_labels), s["classifier_frames_per_sequence"], axis=0)
    classifier = models.build_classifier(SIZE)
    clf_seconds, cut_c = _fit_on_frames(classifier, clf_x, clf_y, s["classifier_epochs"], "classifier_")
    info = {"autoencoder_parameters": int(autoencoder.count_params()), "autoencoder_train_seconds": ae_seconds,
            "autoencoder_train_frames": cut, "classifier_parameters": int(classifier.count_params()),
            "classifier_train_seconds": clf_seconds, "classifier_train_frames": cut_c}
    return autoencoder, encoder, decoder, classifier, info


def _train_predictor(variant: str, spec: dict, seed: int, regime: str, s: dict, x_in, y_out, n_val: int):
    """Build and train one predictor in one regime; returns (predictor, history, seconds)."""
    keras.utils.set_random_seed(seed)
    predictor = models.build_predictor(spec["kind"], LATENT, FRAMES - 1, **spec["kwargs"])
    passes = s["rollout_steps"] if regime == "rollout" else 1
    trainer = models.build_rollout_trainer(predictor, passes, GIVEN)
    trainer.compile(optimizer=keras.optimizers.Adam(s["learning_rate"], clipnorm=1.0), loss="mse")
    targets = np.tile(y_out, (1, passes, 1))  # one copy of the targets per pass
    start = time.perf_counter()
    log = training.fit(trainer, x_in[:-n_val], targets[:-n_val], validation_data=(x_in[-n_val:], targets[-n_val:]),
                       epochs=s["predictor_epochs"], batch_size=s["batch_size"], checkpoint=False)
    return predictor, log, time.perf_counter() - start


def _experiment(parent_id: str, s: dict, data, train, test, standard) -> dict:
    x_train, x_test = train.frames, test.frames
    rng = np.random.default_rng(s["base_seed"])
    sg, sp = s["standard_given"], s["standard_predicted"]

    # --- frame models: autoencoder and digit classifier, once per run -------------------------
    with tracking.run(EXPERIMENT, dltp_id="tp5.research", run_name="frame-models", parent_run_id=parent_id,
                      params={"latent_dim": LATENT, "ae_epochs": s["ae_epochs"],
                              "classifier_epochs": s["classifier_epochs"]}, data=data, seed=s["base_seed"]):
        autoencoder, encoder, decoder, classifier, frame_models = _frame_models(s, rng, x_train, train.labels)

        # Latents of every frame, standardised with the training statistics.
        z_train, z_test = _encode(encoder, x_train), _encode(encoder, x_test)
        z_standard = _encode(encoder, standard.frames)
        mu, sigma = z_train.mean(axis=(0, 1)), z_train.std(axis=(0, 1)) + 1e-6
        zn_train, zn_test, zn_standard = ((z - mu) / sigma for z in (z_train, z_test, z_standard))

        true_future = _frames(x_test[:, GIVEN:])
        recon = _decode(decoder, z_test[:, GIVEN:])
        recon_curve = frame_mse(recon, true_future)
        standard_future = _frames(standard.frames[:, sg:])
        standard_floor = protocol.standard_metrics(_decode(decoder, z_standard[:, sg:]), standard_future)
        frame_models.update({
            "reconstruction_mse": float(recon_curve.mean()),
            "reconstruction_mse_last20": float(recon_curve[-LAST:].mean()),
            "classifier_accuracy_true_last": mdata.consistency(_batched(classifier, _frames(x_test[:, -1])),
                                                               test.labels),
            "classifier_accuracy_reconstructed_last": mdata.consistency(_batched(classifier, recon[:, -1]),
                                                                        test.labels),
        })
        tracking.log_metrics({**frame_models, **{f"standard_{k}": v for k, v in standard_floor.items()}})
        tracking.log_keras_model(autoencoder, "autoencoder")
        tracking.log_keras_model(classifier, "classifier")

    # --- copy-last-frame baseline -------------------------------------------------------------
    copy = np.repeat(_frames(x_test[:, GIVEN - 1:GIVEN]), PREDICTED, axis=1)
    copy_curve = frame_mse(copy, true_future)
    copy_last = {"mse_per_frame": copy_curve.tolist(), "mse_last20": float(copy_curve[-LAST:].mean()),
                 "mse_all": float(copy_curve.mean()),
                 "consistency": mdata.consistency(_batched(classifier, copy[:, -1]), test.labels)}
    standard_copy = protocol.standard_metrics(np.repeat(_frames(standard.frames[:, sg - 1:sg]), sp, axis=1),
                                              standard_future)
    with tracking.run(EXPERIMENT, dltp_id="tp5.research", run_name="copy-last-frame", parent_run_id=parent_id,
                      params={"variant": "copy-last"}, tags={"dltp.variant": "copy-last"}) as child:
        tracking.log_metrics({**{k: v for k, v in copy_last.items() if k != "mse_per_frame"},
                              **{f"standard_{k}": v for k, v in standard_copy.items()}})
        _log_curve(child.info.run_id, copy_curve)

    # --- predictors: every regime, every variant, every seed ----------------------------------
    n_val = max(1, len(zn_train) // 10)
    x_in, y_out = zn_train[:, :-1], zn_train[:, 1:]
    seeds = [s["base_seed"] + k for k in range(s["seeds"])]
    regimes: dict[str, dict] = {}
    examples = {"true": x_test[:2], "copy-last": _to_uint8(copy[:2])}
    plan = {regime: [v for v in s["variants"] if regime == "teacher_forcing" or v in MAIN] for regime in REGIMES}
    total, done = sum(len(v) for v in plan.values()) * len(seeds), 0
    for regime in REGIMES:
        regimes[regime] = {}
        for variant in plan[regime]:
            spec = VARIANTS[variant]
            runs = []
            for seed in seeds:
                done += 1
                print(f"== [{done}/{total}] {variant} {regime} seed {seed} ==", flush=True)
                knobs = {k: spec[k] for k in ("layers", "window", "memory") if k in spec}
                with tracking.run(EXPERIMENT, dltp_id="tp5.research", run_name=f"{variant}-{regime}-seed{seed}",
                                  parent_run_id=parent_id, seed=seed,
                                  params={"variant": variant, "kind": spec["kind"], "regime": regime, **knobs,
                                          "rollout_steps": s["rollout_steps"] if regime == "rollout" else 1,
                                          "epochs": s["predictor_epochs"], "batch_size": s["batch_size"]},
                                  tags={"dltp.variant": variant, "dltp.regime": regime}) as child:
                    predictor, log, train_seconds = _train_predictor(variant, spec, seed, regime, s, x_in, y_out,
                                                                     n_val)
                    start = time.perf_counter()
                    pred = _decode(decoder, rollout(predictor, zn_test[:, :GIVEN], PREDICTED) * sigma + mu)
                    rollout_seconds = time.perf_counter() - start
                    curve = frame_mse(pred, true_future)
                    std_pred = _decode(decoder, rollout(predictor, zn_standard[:, :sg], sp) * sigma + mu)
                    std_metrics = protocol.standard_metrics(std_pred, standard_future)
                    metrics = {
                        "mse_last20": float(curve[-LAST:].mean()),
                        "mse_all": float(curve.mean()),
                        "consistency": mdata.consistency(_batched(classifier, pred[:, -1]), test.labels),
                        **{f"standard_{k}": v for k, v in std_metrics.items()},
                        "parameters": int(predictor.count_params()),
                        "train_seconds": train_seconds,
                        "rollout_seconds": rollout_seconds,
                        "rollout_ms_per_sequence": 1000.0 * rollout_seconds / len(x_test),
                        "final_train_loss": log.history["loss"][-1],
                        "final_val_loss": log.history["val_loss"][-1],
                    }
                    tracking.log_metrics(metrics)
                    _log_curve(child.info.run_id, curve)
                    runs.append({"seed": seed, "run_id": child.info.run_id, **metrics,
                                 "mse_per_frame": curve.tolist()})
                if seed == seeds[0]:
                    examples[variant if regime == "teacher_forcing" else f"{variant}+{regime}"] = _to_uint8(pred[:2])
                print(f"   {variant} {regime} seed {seed}: MSE last {LAST} {metrics['mse_last20']:.5f}, "
                      f"consistency {metrics['consistency']:.3f}, standard MSE {metrics['standard_mse']:.1f}, "
                      f"{train_seconds:.1f} s", flush=True)
            regimes[regime][variant] = _aggregate(spec, runs)

    out = {
        "experiment": "tp5.research",
        "dataset": data.name,
        "dataset_fallback": data.fallback,
        "backend": tracking.backend(),
        "device": _device(),
        "settings": s,
        "seeds": seeds,
        "data": {"train_sequences": len(train), "test_sequences": len(test),
                 "standard_test_sequences": len(standard),
                 "train_digit_images": int(len(data.x_train)), "test_digit_images": int(len(data.x_test)),
                 "two_digit_fraction_test": float((test.n_digits == 2).mean())},
        "frame_models": frame_models,
        "copy_last": copy_last,
        "reconstruction_mse_per_frame": recon_curve.tolist(),
        "standard": {"copy_last": standard_copy, "autoencoder": standard_floor,
                     "published": protocol.PUBLISHED,
                     "published_test_sequences": protocol.PUBLISHED_TEST_SEQUENCES},
        "regimes": regimes,
        "main": MAIN,
    }
    return out, examples


def _aggregate(spec: dict, runs: list[dict]) -> dict:
    """Mean and sample standard deviation over seeds (std 0 with one seed, which the paper says)."""
    keys = ("mse_last20", "mse_all", "consistency", "standard_mse", "standard_mae", "standard_ssim",
            "train_seconds", "rollout_seconds", "rollout_ms_per_sequence")
    stats = {k: _summary([r[k] for r in runs]) for k in keys}
    curves = np.array([r["mse_per_frame"] for r in runs])
    return {
        **{k: spec[k] for k in ("label", "kind", "layers", "window", "memory") if k in spec},
        "main": bool(spec.get("main")),
        "parameters": runs[0]["parameters"],
        "mean": {k: v[0] for k, v in stats.items()},
        "std": {k: v[1] for k, v in stats.items()},
        "mse_per_frame_mean": curves.mean(axis=0).tolist(),
        "mse_per_frame_std": (curves.std(axis=0, ddof=1) if len(runs) > 1 else curves.std(axis=0)).tolist(),
        "runs": runs,
    }


def _device() -> dict:
    """Where the run ran: the backend's device kind and the CPU count, for the paper's wording."""
    import os

    kind = "cpu"
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            kind = jax.devices()[0].platform
        elif backend == "torch":
            import torch

            kind = "gpu" if torch.cuda.is_available() else "cpu"
        elif backend == "tensorflow":
            import tensorflow as tf

            kind = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    except Exception:  # noqa: BLE001 - the device is informative only
        kind = "cpu"
    return {"kind": "gpu" if kind in ("gpu", "cuda") else kind, "cpu_count": os.cpu_count()}
