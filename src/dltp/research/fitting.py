"""Training the study's models, each on the training sequences only: the frame autoencoder on their
frames, the identity instrument on 28×28 crops of their frames at each digit's true position, the
pixel-space baseline on 10 → 10 windows of them, and each latent predictor (teacher forcing, then
a fine-tuning epoch at each rollout depth). Each returns its wall-clock training time."""

from __future__ import annotations

import keras
import numpy as np

from dltp import tracking, training
from dltp.research import data as mdata
from dltp.research import models
from dltp.research.latents import as_float
from dltp.research.study import FRAMES, GIVEN, LATENT, SIZE, STANDARD, VARIANTS


def _frames(sequences: mdata.Sequences, per_sequence: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``per_sequence`` random frames of every sequence: (uint8 frames (M, S, S), positions (M, 2, 2))."""
    n = len(sequences)
    pick = rng.integers(0, FRAMES, size=(n, per_sequence))
    rows = np.arange(n)[:, None]
    return (sequences.frames[rows, pick].reshape(-1, SIZE, SIZE),
            sequences.positions[rows, pick].reshape(-1, mdata.DIGITS, 2))


def fit_autoencoder(train: mdata.Sequences, rng, *, per_sequence: int, epochs: int):
    """(autoencoder, encoder, decoder, info) trained with binary cross-entropy on random frames, the
    last tenth of them (the last sequences') for validation. Adam at 3e-3 in batches of 32 leaves
    the all-black plateau of sparse frames within the first epoch."""
    frames, _ = _frames(train, per_sequence, rng)
    x = as_float(frames)
    cut = int(len(x) * 0.9)
    autoencoder, encoder, decoder = models.build_autoencoder(SIZE)
    autoencoder.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    with tracking.Timer() as timer:
        training.fit(autoencoder, x[:cut], x[:cut], validation_data=(x[cut:], x[cut:]), epochs=epochs, batch_size=32,
                     checkpoint=False, prefix="ae_")
    return autoencoder, encoder, decoder, {"autoencoder_parameters": int(autoencoder.count_params()),
                                           "autoencoder_train_seconds": timer.seconds, "autoencoder_train_frames": cut}


def fit_reader(train: mdata.Sequences, rng, *, per_sequence: int, epochs: int):
    """(the identity instrument, info): a digit classifier trained on the crops of random training
    frames at each digit's true position (the other digit may overlap, as in test frames)."""
    frames, positions = _frames(train, per_sequence, rng)
    x = as_float(mdata.crops(frames, positions).reshape(-1, mdata.DIGIT, mdata.DIGIT))
    y = np.repeat(train.labels, per_sequence, axis=0).reshape(-1)
    reader = models.build_digit_reader()
    reader.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    with tracking.Timer() as timer:
        training.fit(reader, x, y, validation_data=None, epochs=epochs, batch_size=128, checkpoint=False,
                     prefix="reader_")
    counts = np.bincount(y, minlength=10)
    return reader, {"reader_parameters": int(reader.count_params()), "reader_train_seconds": timer.seconds,
                    "reader_train_crops": int(len(x)), "constant_guess_class": int(counts.argmax())}


class _Windows(keras.utils.PyDataset):
    """10 → 10 windows of uint8 sequences as float batches, made batch by batch (as floats, a
    training set of windows would take gigabytes)."""

    def __init__(self, frames: np.ndarray, starts: np.ndarray, batch_size: int):
        super().__init__()
        self.frames, self.starts, self.batch_size = frames, starts, batch_size

    def __len__(self) -> int:
        return -(-len(self.starts) // self.batch_size)

    def __getitem__(self, index: int):
        part = self.starts[index * self.batch_size:(index + 1) * self.batch_size]
        windows = np.stack([self.frames[n, t:t + GIVEN + STANDARD] for n, t in part])
        return as_float(windows[:, :GIVEN]), as_float(windows[:, GIVEN:])


def fit_baseline(train: mdata.Sequences, rng, *, windows_per_sequence: int, epochs: int, batch_size: int):
    """(the pixel-space baseline, info): build_frame_translator trained on random 10 → 10 windows of
    the training sequences, the last tenth of the sequences for validation. Binary cross-entropy,
    as for the autoencoder: with MSE on sigmoid pixels it settled on black frames within an epoch."""
    n = len(train)
    n_val = max(1, n // 10)
    starts = np.stack([np.repeat(np.arange(n), windows_per_sequence),
                       rng.integers(0, FRAMES - GIVEN - STANDARD + 1, size=n * windows_per_sequence)], axis=1)
    fit_part, val_part = starts[starts[:, 0] < n - n_val], starts[starts[:, 0] >= n - n_val]
    model = models.build_frame_translator(GIVEN, SIZE)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    with tracking.Timer() as timer:
        training.fit(model, _Windows(train.frames, rng.permutation(fit_part), batch_size), None,
                     validation_data=_Windows(train.frames, val_part, batch_size), epochs=epochs,
                     batch_size=None, checkpoint=False, prefix="baseline_")
    return model, {"baseline_parameters": int(model.count_params()), "baseline_train_seconds": timer.seconds,
                   "baseline_train_windows": int(len(fit_part))}


def fit_predictor(variant: str, seed: int, latents: np.ndarray, *, depth: int, epochs: int, batch_size: int,
                  learning_rate: float, start: keras.Model | None = None) -> tuple[keras.Model, dict]:
    """One predictor trained on standardised training latents (N, T, D), from latents 0..T-2 to
    latents 1..T-1, with the rollout objective at ``depth`` passes (1: teacher forcing), the last
    tenth of the sequences for validation; from ``start``'s weights when given (fine-tuning).
    Returns (predictor, {final losses, seconds})."""
    spec = VARIANTS[variant]
    n_val = max(1, len(latents) // 10)
    inputs, next_latents = latents[:, :-1], latents[:, 1:]
    keras.utils.set_random_seed(seed)
    predictor = models.build_predictor(spec["kind"], LATENT, FRAMES - 1, **spec["kwargs"])
    if start is not None:
        predictor.set_weights(start.get_weights())
    trainer = models.build_rollout_trainer(predictor, depth, GIVEN)
    targets = np.tile(next_latents, (1, depth, 1))  # one copy of the targets per pass
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0), loss="mse")
    with tracking.Timer() as timer:
        log = training.fit(trainer, inputs[:-n_val], targets[:-n_val],
                           validation_data=(inputs[-n_val:], targets[-n_val:]), epochs=epochs,
                           batch_size=batch_size, checkpoint=False)
    return predictor, {"train_seconds": timer.seconds, "final_train_loss": log.history["loss"][-1],
                       "final_val_loss": log.history["val_loss"][-1]}
