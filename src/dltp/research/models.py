"""The models of the research challenge, in keras.ops / keras.layers only (every backend).

- ``build_autoencoder``: frame (S×S×1) → latent z (``latent_dim`` numbers) → frame.
- ``build_classifier``: which digits a frame shows (multi-label, 10 sigmoid outputs); it measures
  object consistency.
- Three latent predictors with the same interface — a causal sequence model (B, T, D) → (B, T, D)
  whose output at position t is the prediction of z_{t+1} from z_1..z_t (as a residual on z_t):
  ``build_recurrent`` (the TAP baseline, a GRU), ``build_tap_t`` (TAP-T: pre-norm Transformer
  encoder blocks with sinusoidal positions whose attention sees only the last ``window`` latents)
  and ``build_tap_m`` (TAP-M: one read of an external memory of past latents by scaled dot-product
  attention with the query from z_t, then a feed-forward update).
Causality is what lets the rollout feed a fixed-length, zero-padded buffer: the output at
position t never depends on later positions.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops


def causal_window_mask(length, window: int | None):
    """Boolean (T, T): query i may read key j when j <= i and i - j < window (window None: all)."""
    i = ops.expand_dims(ops.arange(length), 1)
    j = ops.expand_dims(ops.arange(length), 0)
    allowed = j <= i
    if window:
        allowed = ops.logical_and(allowed, (i - j) < window)
    return allowed


@keras.saving.register_keras_serializable(package="dltp")
class WindowedSelfAttention(layers.Layer):
    """Multi-head scaled dot-product self-attention, causal and limited to the last ``window``
    positions (``window`` None or 0: the whole past)."""

    def __init__(self, num_heads: int, key_dim: int, window: int | None = None, output_dim: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = num_heads, key_dim
        self.window = window or None
        self.output_dim = output_dim
        width = num_heads * key_dim
        self.query = layers.Dense(width, name="query")
        self.key = layers.Dense(width, name="key")
        self.value = layers.Dense(width, name="value")
        self.out = None

    def build(self, input_shape):
        dim = input_shape[-1]
        self.out = layers.Dense(self.output_dim or dim, name="output")
        for sub in (self.query, self.key, self.value):
            sub.build(input_shape)
        self.out.build((*input_shape[:-1], self.num_heads * self.key_dim))
        self.built = True

    def _heads(self, x):  # (B, T, H*K) -> (B, H, T, K)
        b, t = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (b, t, self.num_heads, self.key_dim)), (0, 2, 1, 3))

    def call(self, x):
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(self.key_dim)
        mask = causal_window_mask(ops.shape(x)[1], self.window)
        scores = ops.where(mask[None, None], scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        context = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))
        b, t = ops.shape(x)[0], ops.shape(x)[1]
        return self.out(ops.reshape(context, (b, t, self.num_heads * self.key_dim)))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim or input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "window": self.window, "output_dim": self.output_dim}


@keras.saving.register_keras_serializable(package="dltp")
class SinusoidalPosition(layers.Layer):
    """Adds the sinusoidal position encodings of Vaswani et al. (2017) to a (B, T, D) sequence."""

    def call(self, x):
        t, d = ops.shape(x)[1], x.shape[-1]
        pos = ops.cast(ops.expand_dims(ops.arange(t), 1), "float32")
        i = ops.cast(ops.arange(d), "float32")
        rates = ops.power(10000.0, -2.0 * ops.floor(i / 2.0) / float(d))
        angles = pos * ops.expand_dims(rates, 0)
        even = ops.cast(ops.equal(ops.mod(ops.arange(d), 2), 0), "float32")
        table = even * ops.sin(angles) + (1.0 - even) * ops.cos(angles)
        return x + ops.cast(table[None], x.dtype)


@keras.saving.register_keras_serializable(package="dltp")
class LearnedPosition(layers.Layer):
    """Adds a learned vector per time step (the memory's time stamps) to a (B, T, D) sequence."""

    def __init__(self, max_length: int, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def build(self, input_shape):
        self.table = self.add_weight(shape=(self.max_length, input_shape[-1]), initializer="zeros",
                                     name="table")
        self.built = True

    def call(self, x):
        return x + ops.expand_dims(self.table[: ops.shape(x)[1]], 0)

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}


def _residual_head(z, delta, name):
    """Every predictor outputs z_t + Δ: the identity (copy the last latent) is its starting point."""
    return keras.Model(z, layers.Add(name="next_latent")([z, delta]), name=name)


def build_recurrent(latent_dim: int, length: int, units: int = 112, name: str = "tap_gru") -> keras.Model:
    """TAP baseline: a GRU reads z_1..z_t; a Dense layer predicts z_{t+1} - z_t."""
    z = keras.Input((length, latent_dim), name="latents")
    h = layers.GRU(units, return_sequences=True, name="gru")(z)
    return _residual_head(z, layers.Dense(latent_dim, name="delta")(h), name)


def build_tap_t(latent_dim: int, length: int, layers_: int = 2, window: int = 10, d_model: int = 64,
                heads: int = 4, ff: int = 128, name: str = "tap_t") -> keras.Model:
    """TAP-T: causal Transformer encoder over the last ``window`` latents, sinusoidal positions."""
    z = keras.Input((length, latent_dim), name="latents")
    x = SinusoidalPosition(name="positions")(layers.Dense(d_model, name="embed")(z))
    for n in range(layers_):
        a = WindowedSelfAttention(heads, d_model // heads, window, name=f"block{n}_attention")(
            layers.LayerNormalization(name=f"block{n}_norm1")(x))
        x = layers.Add(name=f"block{n}_add1")([x, a])
        f = layers.LayerNormalization(name=f"block{n}_norm2")(x)
        f = layers.Dense(ff, activation="gelu", name=f"block{n}_ff1")(f)
        x = layers.Add(name=f"block{n}_add2")([x, layers.Dense(d_model, name=f"block{n}_ff2")(f)])
    x = layers.LayerNormalization(name="final_norm")(x)
    return _residual_head(z, layers.Dense(latent_dim, name="delta")(x), name)


def build_tap_m(latent_dim: int, length: int, memory: int | None = None, key_dim: int = 64, ff: int = 256,
                name: str = "tap_m") -> keras.Model:
    """TAP-M: the memory holds the past latents (the last ``memory`` of them; None: all), each with a
    learned time stamp; one scaled dot-product read with the query from z_t, then a feed-forward
    update of [z_t, read]."""
    z = keras.Input((length, latent_dim), name="latents")
    stamped = LearnedPosition(length, name="time_stamps")(z)
    read = WindowedSelfAttention(1, key_dim, memory, name="memory_read")(stamped)
    h = layers.Concatenate(name="state_and_read")([z, read])
    h = layers.Dense(ff, activation="gelu", name="update1")(h)
    return _residual_head(z, layers.Dense(latent_dim, name="delta")(h), name)


PREDICTORS = {"recurrent": build_recurrent, "tap_t": build_tap_t, "tap_m": build_tap_m}


def build_predictor(kind: str, latent_dim: int, length: int, **kwargs) -> keras.Model:
    return PREDICTORS[kind](latent_dim, length, **kwargs)


def build_autoencoder(size: int = 64, latent_dim: int = 64) -> tuple[keras.Model, keras.Model, keras.Model]:
    """(autoencoder, encoder, decoder): three stride-2 convolutions down to size/8, a Dense
    bottleneck of ``latent_dim``, and the mirror image up; sigmoid pixels in [0, 1]."""
    if size % 8:
        raise ValueError(f"frame size must be a multiple of 8, got {size}")
    s = size // 8
    frame = keras.Input((size, size, 1), name="frame")
    x = frame
    for n, filters in enumerate((16, 32, 64)):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", name=f"enc_conv{n}")(x)
    encoder = keras.Model(frame, layers.Dense(latent_dim, name="latent")(layers.Flatten()(x)), name="encoder")

    z = keras.Input((latent_dim,), name="latent")
    y = layers.Reshape((s, s, 64))(layers.Dense(s * s * 64, activation="relu", name="dec_dense")(z))
    for n, filters in enumerate((32, 16)):
        y = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu", name=f"dec_conv{n}")(y)
    y = layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid", name="pixels")(y)
    decoder = keras.Model(z, y, name="decoder")

    autoencoder = keras.Model(frame, decoder(encoder(frame)), name="frame_autoencoder")
    return autoencoder, encoder, decoder


def build_classifier(size: int = 64, num_classes: int = 10) -> keras.Model:
    """Which digits are in a frame: convolutions, global max pooling (position-invariant), sigmoid."""
    frame = keras.Input((size, size, 1), name="frame")
    x = frame
    for n, filters in enumerate((16, 32, 64)):
        x = layers.Conv2D(filters, 3, strides=2 if n else 1, padding="same", activation="relu", name=f"conv{n}")(x)
        if n == 0:
            x = layers.MaxPooling2D(name="pool0")(x)
    x = layers.GlobalMaxPooling2D(name="global_max")(x)
    x = layers.Dense(64, activation="relu", name="hidden")(x)
    digits = layers.Dense(num_classes, activation="sigmoid", name="digits")(x)
    return keras.Model(frame, digits, name="digit_classifier")


def build_rollout_trainer(predictor: keras.Model, passes: int, given: int) -> keras.Model:
    """The rollout objective (parallel scheduled sampling, Duckworth et al. 2019, with every input
    sampled): ``passes`` forward passes of ``predictor`` over the whole sequence; after each pass,
    the latents after the first ``given`` are replaced by the predictions of that pass (shifted by
    one), so the next pass reads the model's own outputs. Gradients flow through every pass.

    The output concatenates the passes along time (B, passes·T, D): an MSE against the targets
    tiled ``passes`` times is the mean of the per-pass losses; pass 1 is plain teacher forcing.
    After k passes, positions given-1 .. given+k-2 hold exactly the k-step autoregressive rollout
    from the ``given`` true latents (the test's own setting); later positions read histories of
    predictions started at different points. ``passes`` = 1 is teacher forcing."""
    if passes < 1:
        raise ValueError(f"passes must be at least 1, got {passes}")
    length, dim = predictor.input_shape[1], predictor.input_shape[2]
    if not 1 <= given < length:
        raise ValueError(f"given must be in 1..{length - 1}, got {given}")
    z = keras.Input((length, dim), name="true_latents")
    x, outputs = z, []
    for n in range(passes):
        pred = predictor(x)
        outputs.append(pred)
        if n + 1 < passes:
            x = layers.Concatenate(axis=1, name=f"feed_back{n}")([z[:, :given], pred[:, given - 1:length - 1]])
    out = outputs[0] if passes == 1 else layers.Concatenate(axis=1, name="passes")(outputs)
    return keras.Model(z, out, name=f"{predictor.name}_rollout{passes}")
