"""`dltp run tp5.research`: the latent video prediction experiment, run and tracked.

1. Moving digits (50 frames of 64×64, one or two digits): train sequences from the dataset's
   training digits, test sequences from its test digits.
2. A frame autoencoder (64 latent numbers per frame) and a digit classifier, trained once per run
   on real training frames; the classifier's accuracy on the true last test frames is the ceiling
   of object consistency.
3. Seven latent predictors — the recurrent TAP baseline, TAP-T with 1/2/4 layers, TAP-M with
   memories of 10/25/all latents — each trained with teacher forcing for every seed, then rolled
   out for 40 frames from 10 given ones and decoded.
4. Per-frame MSE, MSE over the last 20 frames, object consistency at frame 50, and costs; the
   copy-last-frame baseline as a floor. One MLflow parent run, one child run per model and seed;
   everything lands in ``results.json`` (local file and artifact), which `dltp paper` reads.
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
from dltp.research import models

EXPERIMENT = "tp5-research"
FRAMES, GIVEN, SIZE, LATENT = 50, 10, 64, 64
PREDICTED = FRAMES - GIVEN
LAST = 20  # the "MSE over the last 20 frames" of the original proposal
TAP_T_WINDOW = 10
DEFAULT_RESULTS_DIR = "dltp-results/research"

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
    """The budget: the default configuration (≤ 45 min on 2 CPU cores) or --quick (≤ 5 min)."""
    s = {
        "train_sequences": int(cfg.pick("sequences", 1000, 200)),
        "test_sequences": int(cfg.pick("test_sequences", 200, 50)),
        "seeds": int(cfg.pick("seeds", 3, 3)),
        "predictor_epochs": int(cfg.pick("epochs", 20, 6)),
        "batch_size": int(cfg.pick("batch_size", 32, 32)),
        "ae_epochs": int(cfg.pick("ae_epochs", 8, 3)),
        "ae_frames_per_sequence": 16 if not cfg.quick else 8,
        "classifier_epochs": 4 if not cfg.quick else 2,
        "classifier_frames_per_sequence": 8 if not cfg.quick else 6,
        "digit_size": mdata.DIGIT, "architecture": architecture(),
        "frames": FRAMES, "given": GIVEN, "predicted": PREDICTED, "last": LAST, "size": SIZE,
        "latent_dim": LATENT, "tap_t_window": TAP_T_WINDOW, "learning_rate": 1e-3, "quick": cfg.quick,
        "base_seed": cfg.seed,
    }
    for key in ("train_sequences", "test_sequences", "seeds", "predictor_epochs", "batch_size", "ae_epochs"):
        if s[key] < 1:
            raise DltpError(f"--{key.replace('_', '-')} must be at least 1")
    if s["train_sequences"] < 4:
        raise DltpError("--sequences must be at least 4 (one tenth is kept for validation)")
    return s


def _frames(x: np.ndarray) -> np.ndarray:
    return (x.astype("float32") / 255.0)[..., None]


def _batched(fn, x, batch: int = 256) -> np.ndarray:
    return np.concatenate([keras.ops.convert_to_numpy(fn(x[i:i + batch])) for i in range(0, len(x), batch)])


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
        pred = keras.ops.convert_to_numpy(predictor(buffer, training=False))[:, t - 1]
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
    results_dir = Path(cfg.option("results_dir", DEFAULT_RESULTS_DIR))
    data = load_images(cfg.dataset, default="mnist")
    if data.image_shape != (28, 28, 1):
        raise DltpError(f"moving digits need 28×28 grey digits; {data.name} has {data.image_shape}")
    keras.utils.set_random_seed(cfg.seed)
    train = mdata.moving_digits(data.x_train, data.y_train, s["train_sequences"], frames=FRAMES, size=SIZE,
                                seed=cfg.seed)
    test = mdata.moving_digits(data.x_test, data.y_test, s["test_sequences"], frames=FRAMES, size=SIZE,
                               seed=cfg.seed + 10_000)
    params = {k: v for k, v in s.items()}
    params["variants"] = list(VARIANTS)
    with tracking.run(EXPERIMENT, dltp_id="tp5.research", run_name="tp5-research", params=params, data=data,
                      seed=cfg.seed) as parent:
        parent_id = parent.info.run_id
        out, examples = _experiment(parent_id, s, data, train, test)
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
        headline = {f"{v.replace('-', '_')}_mse_last20": out["models"][v]["mean"]["mse_last20"] for v in MAIN}
        headline.update({f"{v.replace('-', '_')}_consistency": out["models"][v]["mean"]["consistency"] for v in MAIN})
        tracking.log_metrics({**headline, "copy_last_mse_last20": out["copy_last"]["mse_last20"],
                              "copy_last_consistency": out["copy_last"]["consistency"]})
    print(f"results: {path}; write the paper with `dltp paper --results {path}`")
    return result("tp5.research", parent_id, data, results_json=str(path), seeds=s["seeds"],
                  copy_last_mse_last20=out["copy_last"]["mse_last20"], **headline)


def _experiment(parent_id: str, s: dict, data, train, test) -> dict:
    x_train, x_test = train.frames, test.frames
    rng = np.random.default_rng(s["base_seed"])

    # --- frame models: autoencoder and digit classifier, once per run -------------------------
    with tracking.run(EXPERIMENT, dltp_id="tp5.research", run_name="frame-models", parent_run_id=parent_id,
                      params={"latent_dim": LATENT, "ae_epochs": s["ae_epochs"],
                              "classifier_epochs": s["classifier_epochs"]}, data=data, seed=s["base_seed"]):
        print("== frame autoencoder ==", flush=True)
        n_tr = len(x_train)
        pick = rng.integers(0, FRAMES, size=(n_tr, s["ae_frames_per_sequence"]))
        ae_x = _frames(x_train[np.arange(n_tr)[:, None], pick].reshape(-1, SIZE, SIZE))
        autoencoder, encoder, decoder = models.build_autoencoder(SIZE, LATENT)
        autoencoder.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        cut = int(len(ae_x) * 0.9)
        start = time.perf_counter()
        training.fit(autoencoder, ae_x[:cut], ae_x[:cut], validation_data=(ae_x[cut:], ae_x[cut:]),
                     epochs=s["ae_epochs"], batch_size=64, checkpoint=False, prefix="ae_")
        ae_seconds = time.perf_counter() - start

        print("== digit classifier ==", flush=True)
        pick = rng.integers(0, FRAMES, size=(n_tr, s["classifier_frames_per_sequence"]))
        clf_x = _frames(x_train[np.arange(n_tr)[:, None], pick].reshape(-1, SIZE, SIZE))
        clf_y = np.repeat(mdata.multi_hot(train.labels), s["classifier_frames_per_sequence"], axis=0)
        classifier = models.build_classifier(SIZE)
        classifier.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        cut = int(len(clf_x) * 0.9)
        start = time.perf_counter()
        training.fit(classifier, clf_x[:cut], clf_y[:cut], validation_data=(clf_x[cut:], clf_y[cut:]),
                     epochs=s["classifier_epochs"], batch_size=64, checkpoint=False, prefix="classifier_")
        clf_seconds = time.perf_counter() - start

        # Latents of every frame, standardised with the training statistics.
        z_train = _batched(encoder, _frames(x_train.reshape(-1, SIZE, SIZE))).reshape(len(x_train), FRAMES, LATENT)
        z_test = _batched(encoder, _frames(x_test.reshape(-1, SIZE, SIZE))).reshape(len(x_test), FRAMES, LATENT)
        mu, sigma = z_train.mean(axis=(0, 1)), z_train.std(axis=(0, 1)) + 1e-6
        zn_train, zn_test = (z_train - mu) / sigma, (z_test - mu) / sigma

        true_future = _frames(x_test[:, GIVEN:])
        recon = _batched(decoder, z_test[:, GIVEN:].reshape(-1, LATENT)).reshape(true_future.shape)
        recon_curve = frame_mse(recon, true_future)
        last_true = _frames(x_test[:, -1])
        clf_true = mdata.consistency(_batched(classifier, last_true), test.labels)
        clf_recon = mdata.consistency(_batched(classifier, recon[:, -1]), test.labels)
        frame_models = {
            "autoencoder_parameters": int(autoencoder.count_params()),
            "autoencoder_train_seconds": ae_seconds,
            "autoencoder_train_frames": int(len(ae_x) * 0.9),
            "reconstruction_mse": float(recon_curve.mean()),
            "reconstruction_mse_last20": float(recon_curve[-LAST:].mean()),
            "classifier_parameters": int(classifier.count_params()),
            "classifier_train_seconds": clf_seconds,
            "classifier_train_frames": int(len(clf_x) * 0.9),
            "classifier_accuracy_true_last": clf_true,
            "classifier_accuracy_reconstructed_last": clf_recon,
        }
        tracking.log_metrics({k: v for k, v in frame_models.items()})
        tracking.log_keras_model(autoencoder, "autoencoder")
        tracking.log_keras_model(classifier, "classifier")

    # --- copy-last-frame floor ----------------------------------------------------------------
    copy = np.repeat(_frames(x_test[:, GIVEN - 1:GIVEN]), PREDICTED, axis=1)
    copy_curve = frame_mse(copy, true_future)
    copy_last = {"mse_per_frame": copy_curve.tolist(), "mse_last20": float(copy_curve[-LAST:].mean()),
                 "mse_all": float(copy_curve.mean()),
                 "consistency": mdata.consistency(_batched(classifier, copy[:, -1]), test.labels)}
    with tracking.run(EXPERIMENT, dltp_id="tp5.research", run_name="copy-last-frame", parent_run_id=parent_id,
                      params={"variant": "copy-last"}, tags={"dltp.variant": "copy-last"}) as child:
        tracking.log_metrics({k: v for k, v in copy_last.items() if k != "mse_per_frame"})
        _log_curve(child.info.run_id, copy_curve)

    # --- predictors: every variant, every seed ------------------------------------------------
    n_val = max(1, len(zn_train) // 10)
    x_in, y_out = zn_train[:, :-1], zn_train[:, 1:]
    val = (x_in[-n_val:], y_out[-n_val:])
    seeds = [s["base_seed"] + k for k in range(s["seeds"])]
    out_models: dict[str, dict] = {}
    examples = {"true": x_test[:2], "copy-last": _to_uint8(copy[:2])}
    total, done = len(VARIANTS) * len(seeds), 0
    for variant, spec in VARIANTS.items():
        runs = []
        for seed in seeds:
            done += 1
            print(f"== [{done}/{total}] {variant} seed {seed} ==", flush=True)
            keras.utils.set_random_seed(seed)
            predictor = models.build_predictor(spec["kind"], LATENT, FRAMES - 1, **spec["kwargs"])
            predictor.compile(optimizer=keras.optimizers.Adam(s["learning_rate"], clipnorm=1.0), loss="mse")
            knobs = {k: spec[k] for k in ("layers", "window", "memory") if k in spec}
            with tracking.run(EXPERIMENT, dltp_id="tp5.research", run_name=f"{variant}-seed{seed}",
                              parent_run_id=parent_id, seed=seed,
                              params={"variant": variant, "kind": spec["kind"], **knobs,
                                      "epochs": s["predictor_epochs"], "batch_size": s["batch_size"]},
                              tags={"dltp.variant": variant}) as child:
                start = time.perf_counter()
                log = training.fit(predictor, x_in[:-n_val], y_out[:-n_val], validation_data=val,
                                   epochs=s["predictor_epochs"], batch_size=s["batch_size"], checkpoint=False)
                train_seconds = time.perf_counter() - start
                start = time.perf_counter()
                pred_z = rollout(predictor, zn_test[:, :GIVEN], PREDICTED) * sigma + mu
                pred = _batched(decoder, pred_z.reshape(-1, LATENT)).reshape(true_future.shape)
                rollout_seconds = time.perf_counter() - start
                curve = frame_mse(pred, true_future)
                metrics = {
                    "mse_last20": float(curve[-LAST:].mean()),
                    "mse_all": float(curve.mean()),
                    "consistency": mdata.consistency(_batched(classifier, pred[:, -1]), test.labels),
                    "parameters": int(predictor.count_params()),
                    "train_seconds": train_seconds,
                    "rollout_seconds": rollout_seconds,
                    "rollout_ms_per_sequence": 1000.0 * rollout_seconds / len(x_test),
                    "final_train_loss": log.history["loss"][-1],
                    "final_val_loss": log.history["val_loss"][-1],
                }
                tracking.log_metrics(metrics)
                _log_curve(child.info.run_id, curve)
                runs.append({"seed": seed, "run_id": child.info.run_id, **metrics, "mse_per_frame": curve.tolist()})
            if seed == seeds[0]:
                examples[variant] = _to_uint8(pred[:2])
            print(f"   {variant} seed {seed}: MSE last {LAST} {metrics['mse_last20']:.5f}, "
                  f"consistency {metrics['consistency']:.3f}, {train_seconds:.1f} s", flush=True)
        keys = ("mse_last20", "mse_all", "consistency", "train_seconds", "rollout_seconds",
                "rollout_ms_per_sequence")
        stats = {k: _summary([r[k] for r in runs]) for k in keys}
        curves = np.array([r["mse_per_frame"] for r in runs])
        out_models[variant] = {
            **{k: spec[k] for k in ("label", "kind", "layers", "window", "memory") if k in spec},
            "main": bool(spec.get("main")),
            "parameters": runs[0]["parameters"],
            "mean": {k: v[0] for k, v in stats.items()},
            "std": {k: v[1] for k, v in stats.items()},
            "mse_per_frame_mean": curves.mean(axis=0).tolist(),
            "mse_per_frame_std": (curves.std(axis=0, ddof=1) if len(runs) > 1 else curves.std(axis=0)).tolist(),
            "runs": runs,
        }

    out = {
        "experiment": "tp5.research",
        "dataset": data.name,
        "dataset_fallback": data.fallback,
        "backend": tracking.backend(),
        "settings": s,
        "seeds": seeds,
        "data": {"train_sequences": len(train), "test_sequences": len(test),
                 "train_digit_images": int(len(data.x_train)), "test_digit_images": int(len(data.x_test)),
                 "two_digit_fraction_test": float((test.n_digits == 2).mean())},
        "frame_models": frame_models,
        "copy_last": copy_last,
        "reconstruction_mse_per_frame": recon_curve.tolist(),
        "models": out_models,
        "main": MAIN,
    }
    return out, examples
