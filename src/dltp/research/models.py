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

    def heads(self, x):  # (B, T, H*K) -> (B, H, T, K)
        b, t = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (b, t, self.num_heads, self.key_dim)), (0, 2, 1, 3))

    def call(self, x):
        q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
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
        return x + ops.cast(sinusoid_table(ops.shape(x)[1], x.shape[-1])[None], x.dtype)


def sinusoid_table(length, dim: int):
    """(length, dim) sinusoidal position encodings: sin on even features, cos on odd ones."""
    pos = ops.cast(ops.expand_dims(ops.arange(length), 1), "float32")
    i = ops.cast(ops.arange(dim), "float32")
    rates = ops.power(10000.0, -2.0 * ops.floor(i / 2.0) / float(dim))
    angles = pos * ops.expand_dims(rates, 0)
    even = ops.cast(ops.equal(ops.mod(ops.arange(dim), 2), 0), "float32")
    return even * ops.sin(angles) + (1.0 - even) * ops.cos(angles)


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


def _delta(h, latent_dim: int):
    """The update Δ, zero at initialisation (its kernel starts at zero; the layers below get
    gradients from the first step on)."""
    return layers.Dense(latent_dim, kernel_initializer="zeros", name="delta")(h)


def _residual_head(z, delta, name):
    """Every predictor outputs z_t + Δ: it starts as the identity, copying the last latent."""
    return keras.Model(z, layers.Add(name="next_latent")([z, delta]), name=name)


def build_recurrent(latent_dim: int, length: int, units: int = 112, name: str = "tap_gru") -> keras.Model:
    """TAP baseline: a GRU reads z_1..z_t; a Dense layer predicts z_{t+1} - z_t."""
    z = keras.Input((length, latent_dim), name="latents")
    h = layers.GRU(units, return_sequences=True, name="gru")(z)
    return _residual_head(z, _delta(h, latent_dim), name)


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
    return _residual_head(z, _delta(x, latent_dim), name)


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
    return _residual_head(z, _delta(h, latent_dim), name)


PREDICTORS = {"recurrent": build_recurrent, "tap_t": build_tap_t, "tap_m": build_tap_m}


def build_predictor(kind: str, latent_dim: int, length: int, **kwargs) -> keras.Model:
    return PREDICTORS[kind](latent_dim, length, **kwargs)


def build_autoencoder(size: int = 64, channels: int = 1, width: int = 16
                      ) -> tuple[keras.Model, keras.Model, keras.Model]:
    """(autoencoder, encoder, decoder) with a spatial latent: two stride-2 convolutions down to a
    (size/4)×(size/4)×``channels`` map, and the mirror image up; sigmoid pixels in [0, 1]."""
    if size % 4:
        raise ValueError(f"frame size must be a multiple of 4, got {size}")
    frame = keras.Input((size, size, 1), name="frame")
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name="enc_conv0")(frame)
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu", name="enc_conv1")(x)
    encoder = keras.Model(frame, layers.Conv2D(channels, 3, padding="same", name="latent")(x), name="encoder")

    z = keras.Input((size // 4, size // 4, channels), name="latent")
    y = layers.Conv2D(2 * width, 3, padding="same", activation="relu", name="dec_conv0")(z)
    y = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu", name="dec_conv1")(y)
    y = layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid", name="pixels")(y)
    decoder = keras.Model(z, y, name="decoder")

    autoencoder = keras.Model(frame, decoder(encoder(frame)), name="frame_autoencoder")
    return autoencoder, encoder, decoder


def build_digit_reader(num_classes: int = 10) -> keras.Model:
    """The identity instrument: which digit a 28×28 crop shows (two convolution + pooling stages,
    dropout, a hidden layer, softmax), as the classic MNIST network."""
    crop = keras.Input((28, 28, 1), name="crop")
    x = layers.Conv2D(32, 3, activation="relu", name="conv0")(crop)
    x = layers.MaxPooling2D(name="pool0")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Dropout(0.3, name="dropout")(layers.Flatten(name="flatten")(x))
    x = layers.Dense(128, activation="relu", name="hidden")(x)
    return keras.Model(crop, layers.Dense(num_classes, activation="softmax", name="digit")(x), name="digit_reader")


def build_frame_translator(given: int = 10, size: int = 64, width: int = 16, blocks: int = 2) -> keras.Model:
    """The pixel-space baseline, after SimVP (Gao et al. 2022): a convolutional encoder, a
    translator of residual convolutions and a convolutional decoder with a skip connection from
    the encoder, no recurrence. The ``given`` frames enter as channels and the ``given`` next
    frames leave as channels (sigmoid pixels)."""
    frames = keras.Input((given, size, size, 1), name="frames")
    x = layers.Reshape((size, size, given), name="stack")(layers.Permute((2, 3, 1, 4), name="time_last")(frames))
    skip = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name="enc_conv0")(x)
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu", name="enc_conv1")(skip)
    for n in range(blocks):
        x = layers.Add(name=f"translate{n}_add")(
            [x, layers.Conv2D(2 * width, 3, padding="same", activation="relu", name=f"translate{n}")(x)])
    x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu", name="dec_conv0")(x)
    x = layers.Concatenate(name="skip")([x, skip])
    x = layers.Conv2DTranspose(given, 3, strides=2, padding="same", activation="sigmoid", name="pixels")(x)
    x = layers.Permute((3, 1, 2, 4), name="time_first")(layers.Reshape((size, size, given, 1), name="unstack")(x))
    return keras.Model(frames, x, name="frame_translator")


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


# --- One position at a time --------------------------------------------------------------------
# The test rollout steps each predictor one new position at a time, keeping the recurrent state or
# the attention keys and values of the earlier positions, instead of a pass over the whole buffer
# per predicted latent: the same outputs (tests/models/test_research_models.py) for about 1/40 of
# the computation of a 40-step rollout.

class Stepper:
    """``step(z_t)``: the predictor's output at the next position, given latent t (B, D) there."""

    def __init__(self, model: keras.Model):
        self.model, self.t = model, 0

    def step(self, z):
        z = ops.convert_to_tensor(z, "float32")
        out = z + self._delta(z)
        self.t += 1
        return out

    def _attend(self, layer: WindowedSelfAttention, x, cache: dict):
        """``layer``'s output at the new position from its input ``x`` (B, d) there, with the keys and
        values of the earlier positions kept in ``cache``."""
        x = ops.expand_dims(x, 1)
        q = layer.heads(layer.query(x))  # (B, H, 1, K)
        for name, sub in (("k", layer.key), ("v", layer.value)):
            new = layer.heads(sub(x))
            cache[name] = new if name not in cache else ops.concatenate([cache[name], new], axis=2)
            if layer.window:
                cache[name] = cache[name][:, :, -layer.window:]
        scores = ops.matmul(q, ops.transpose(cache["k"], (0, 1, 3, 2))) / math.sqrt(layer.key_dim)
        context = ops.matmul(ops.softmax(scores, axis=-1), cache["v"])  # (B, H, 1, K)
        return layer.out(ops.reshape(context, (ops.shape(context)[0], layer.num_heads * layer.key_dim)))


class _RecurrentStepper(Stepper):
    def __init__(self, model):
        super().__init__(model)
        self.cell, self.head, self.state = model.get_layer("gru").cell, model.get_layer("delta"), None

    def _delta(self, z):
        if self.state is None:
            self.state = ops.zeros((ops.shape(z)[0], self.cell.units))
        out, states = self.cell(z, [self.state])
        self.state = states[0]
        return self.head(out)


class _TransformerStepper(Stepper):
    def __init__(self, model):
        super().__init__(model)
        self.depth = sum(1 for layer in model.layers if layer.name.endswith("_attention"))
        self.caches = [{} for _ in range(self.depth)]
        self.table = sinusoid_table(model.input_shape[1], model.get_layer("embed").units)

    def _delta(self, z):
        get = self.model.get_layer
        x = get("embed")(z) + self.table[self.t]
        for n in range(self.depth):
            x = x + self._attend(get(f"block{n}_attention"), get(f"block{n}_norm1")(x), self.caches[n])
            x = x + get(f"block{n}_ff2")(get(f"block{n}_ff1")(get(f"block{n}_norm2")(x)))
        return get("delta")(get("final_norm")(x))


class _MemoryStepper(Stepper):
    def __init__(self, model):
        super().__init__(model)
        self.cache = {}

    def _delta(self, z):
        get = self.model.get_layer
        read = self._attend(get("memory_read"), z + get("time_stamps").table[self.t], self.cache)
        return get("delta")(get("update1")(ops.concatenate([z, read], axis=-1)))


def stepper(predictor: keras.Model) -> Stepper:
    """The stepper of a predictor built by ``build_predictor``."""
    names = {layer.name for layer in predictor.layers}
    if "gru" in names:
        return _RecurrentStepper(predictor)
    if "memory_read" in names:
        return _MemoryStepper(predictor)
    if "block0_attention" in names:
        return _TransformerStepper(predictor)
    raise ValueError(f"{predictor.name} is not a predictor of build_predictor")
