"""TP5 attention layers, written with keras.ops only so that they run on every backend, and the
TP5 text classifier that uses the additive one.

Both layers return ``(output, weights)``: the weights are the real ones the model used, so that
what a heat-map shows can be checked against the task.

- ``AdditiveAttention`` (Bahdanau): score_t = v · tanh(W h_t [+ U q] + b), softmax over time,
  context = Σ_t a_t h_t. Without a query it pools a sequence (the TP5 classifier); with a query
  (e.g. a decoder state) it is Bahdanau's cross-attention.
- ``ScaledDotProductAttention``: softmax(Q Kᵀ / √d) V, with an optional causal mask and an optional
  key mask (padding). Self-attention is ``layer(x, x)``; cross-attention is ``layer(queries, memory)``.
"""

from __future__ import annotations

import math

import keras
from keras import ops

# Large negative instead of -inf: a row whose keys are all masked gets uniform weights, not NaN.
_MASKED = -1e9


@keras.saving.register_keras_serializable(package="dltp")
class AdditiveAttention(keras.layers.Layer):
    """Bahdanau attention over a sequence ``values`` (B, T, D) → (context (B, D), weights (B, T))."""

    def __init__(self, units: int = 32, entropy_penalty: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        # > 0: adds penalty × mean entropy of the weights to the training loss (sharper attention).
        self.entropy_penalty = float(entropy_penalty)
        self.supports_masking = True

    def build(self, values_shape, query_shape=None):
        dim = values_shape[-1]
        self.W = self.add_weight(name="W", shape=(dim, self.units), initializer="glorot_uniform")
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros")
        self.v = self.add_weight(name="v", shape=(self.units,), initializer="glorot_uniform")
        self.U = None
        if query_shape is not None:
            self.U = self.add_weight(name="U", shape=(query_shape[-1], self.units), initializer="glorot_uniform")

    def call(self, values, query=None, mask=None):
        hidden = ops.matmul(values, self.W) + self.b  # (B, T, units)
        if query is not None:
            hidden = hidden + ops.expand_dims(ops.matmul(query, self.U), 1)
        scores = ops.sum(ops.tanh(hidden) * self.v, axis=-1)  # (B, T)
        if mask is not None:
            scores = ops.where(ops.cast(mask, "bool"), scores, _MASKED)
        weights = ops.softmax(scores, axis=-1)
        if self.entropy_penalty:
            entropy = -ops.sum(weights * ops.log(weights + 1e-9), axis=-1)
            self.add_loss(self.entropy_penalty * ops.mean(entropy))
        context = ops.sum(values * ops.expand_dims(weights, -1), axis=1)  # (B, D)
        return context, weights

    def compute_mask(self, values, query=None, mask=None):
        return None, None

    def compute_output_shape(self, values_shape, query_shape=None):
        return (values_shape[0], values_shape[-1]), (values_shape[0], values_shape[1])

    def get_config(self):
        return {**super().get_config(), "units": self.units, "entropy_penalty": self.entropy_penalty}


@keras.saving.register_keras_serializable(package="dltp")
class ScaledDotProductAttention(keras.layers.Layer):
    """softmax(Q Kᵀ / √d + mask) V.

    ``call(query (B, Tq, d), value (B, Tk, dv), key=None (defaults to value), key_mask=None (B, Tk))``
    returns (output (B, Tq, dv), weights (B, Tq, Tk)). ``causal=True`` lets query i see keys
    j ≤ i + (Tk − Tq) only (for self-attention: itself and the past). ``scale=False`` gives the
    plain dot product of keras.layers.Attention's default.
    """

    def __init__(self, causal: bool = False, scale: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.causal = bool(causal)
        self.scale = bool(scale)

    def call(self, query, value, key=None, key_mask=None):
        key = value if key is None else key
        scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))  # (B, Tq, Tk)
        if self.scale:
            scores = scores / math.sqrt(query.shape[-1])
        allowed = None
        if key_mask is not None:
            allowed = ops.expand_dims(ops.cast(key_mask, "bool"), 1)  # (B, 1, Tk)
        if self.causal:
            tq, tk = ops.shape(query)[1], ops.shape(key)[1]
            rows = ops.expand_dims(ops.arange(tq), 1)
            cols = ops.expand_dims(ops.arange(tk), 0)
            causal = ops.expand_dims(cols <= rows + (tk - tq), 0)  # (1, Tq, Tk)
            allowed = causal if allowed is None else ops.logical_and(allowed, causal)
        if allowed is not None:
            scores = ops.where(allowed, scores, _MASKED)
        weights = ops.softmax(scores, axis=-1)
        return ops.matmul(weights, value), weights

    def compute_output_shape(self, query_shape, value_shape, key_shape=None, key_mask_shape=None):
        return (*query_shape[:2], value_shape[-1]), (*query_shape[:2], value_shape[1])

    def get_config(self):
        return {**super().get_config(), "causal": self.causal, "scale": self.scale}


def build_attention_classifier(vocab_size: int, seq_len: int, embed_dim: int = 16, gru_units: int = 32,
                               attention_units: int = 32, entropy_penalty: float = 0.0,
                               name: str = "attention_classifier"):
    """TP5: Embedding → GRU(32, return_sequences) → additive attention → Dense 1 sigmoid.

    ``entropy_penalty`` > 0 regularises the attention towards few positions: a unidirectional GRU
    carries what it read to every later state, so without it the weights may spread over all the
    states after the deciding token (each holds the answer) instead of pointing at it.
    Returns (model, inspector): ``model`` maps token ids to P(label = 1); ``inspector`` shares its
    layers and also returns the attention weights (B, T) that the prediction used.
    """
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocab_size, embed_dim, name="embedding")(tokens)
    states = keras.layers.GRU(gru_units, return_sequences=True, name="gru")(x)
    context, weights = AdditiveAttention(attention_units, entropy_penalty, name="attention")(states)
    prob = keras.layers.Dense(1, activation="sigmoid", name="probability")(context)
    return keras.Model(tokens, prob, name=name), keras.Model(tokens, [prob, weights], name=name + "_inspector")
