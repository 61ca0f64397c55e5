"""Training the study's models: the frame models once per run (the autoencoder on real training
frames, the digit classifier on the same frames with their digits as multi-hot labels), and each
latent predictor per seed in one of the two regimes. Each returns its wall-clock training time."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from dltp import tracking, training
from dltp.research import data as mdata
from dltp.research import models
from dltp.research.latents import as_float
from dltp.research.study import FRAMES, GIVEN, LATENT, SIZE


@dataclass
class FrameModels:
    autoencoder: keras.Model
    encoder: keras.Model
    decoder: keras.Model
    classifier: keras.Model
    info: dict  # sizes, training seconds and frames: the start of results.json's "frame_models"


def _fit_on_frames(model, x: np.ndarray, y: np.ndarray, epochs: int, prefix: str) -> tuple[float, int]:
    """Train on the first 90 % of the frames, validate on the rest; (seconds, training frames)."""
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    cut = int(len(x) * 0.9)
    with tracking.Timer() as timer:
        training.fit(model, x[:cut], y[:cut], validation_data=(x[cut:], y[cut:]), epochs=epochs, batch_size=64,
                     checkpoint=False, prefix=prefix)
    return timer.seconds, cut


def fit_frame_models(run_settings: dict, rng, train_frames: np.ndarray, train_labels: np.ndarray) -> FrameModels:
    """Train the frame autoencoder and the digit classifier on frames drawn from the training sequences."""
    n_sequences = len(train_frames)

    def random_frames(per_sequence: int) -> np.ndarray:
        pick = rng.integers(0, FRAMES, size=(n_sequences, per_sequence))
        return as_float(train_frames[np.arange(n_sequences)[:, None], pick].reshape(-1, SIZE, SIZE))

    print("== frame autoencoder ==", flush=True)
    ae_frames = random_frames(run_settings["ae_frames_per_sequence"])
    autoencoder, encoder, decoder = models.build_autoencoder(SIZE, LATENT)
    ae_seconds, ae_cut = _fit_on_frames(autoencoder, ae_frames, ae_frames, run_settings["ae_epochs"], "ae_")

    print("== digit classifier ==", flush=True)
    per_sequence = run_settings["classifier_frames_per_sequence"]
    classifier_frames = random_frames(per_sequence)
    classifier_targets = np.repeat(mdata.multi_hot(train_labels), per_sequence, axis=0)
    classifier = models.build_classifier(SIZE)
    classifier_seconds, classifier_cut = _fit_on_frames(classifier, classifier_frames, classifier_targets,
                                                        run_settings["classifier_epochs"], "classifier_")
    info = {"autoencoder_parameters": int(autoencoder.count_params()), "autoencoder_train_seconds": ae_seconds,
            "autoencoder_train_frames": ae_cut, "classifier_parameters": int(classifier.count_params()),
            "classifier_train_seconds": classifier_seconds, "classifier_train_frames": classifier_cut}
    return FrameModels(autoencoder, encoder, decoder, classifier, info)


def fit_predictor(spec: dict, seed: int, regime: str, run_settings: dict, latents: np.ndarray):
    """Build and train one predictor in one regime on standardised training latents (N, T, D), from
    latents 0..T-2 to latents 1..T-1, the last tenth of the sequences for validation; returns
    (predictor, history, seconds)."""
    n_val = max(1, len(latents) // 10)
    inputs, next_latents = latents[:, :-1], latents[:, 1:]
    keras.utils.set_random_seed(seed)
    predictor = models.build_predictor(spec["kind"], LATENT, FRAMES - 1, **spec["kwargs"])
    passes = run_settings["rollout_steps"] if regime == "rollout" else 1
    trainer = models.build_rollout_trainer(predictor, passes, GIVEN)
    trainer.compile(optimizer=keras.optimizers.Adam(run_settings["learning_rate"], clipnorm=1.0), loss="mse")
    targets = np.tile(next_latents, (1, passes, 1))  # one copy of the targets per pass
    with tracking.Timer() as timer:
        log = training.fit(trainer, inputs[:-n_val], targets[:-n_val],
                           validation_data=(inputs[-n_val:], targets[-n_val:]),
                           epochs=run_settings["predictor_epochs"], batch_size=run_settings["batch_size"],
                           checkpoint=False)
    return predictor, log, timer.seconds
