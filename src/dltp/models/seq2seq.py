"""TP5's encoder–decoder forecaster (the original architecture), and its honest prediction.

Encoder: Bidirectional LSTM(64, return_sequences, return_state); its forward and backward states,
concatenated, initialise a decoder LSTM(128). Dot-product cross-attention: every decoder output
attends over the encoder outputs; [decoder output, context] → Dense 1.

Training uses teacher forcing: the decoder input at step k is the *true* value at step k − 1 (the
last observed value for k = 0). At prediction time the true future is unknown, so
``predict_autoregressive`` feeds the decoder its own previous outputs. The decoder is causal (an
LSTM, and cross-attention only looks at the past), so output k depends on decoder inputs 0..k only:
running the same model H times, filling one more decoder input each time, *is* autoregressive
decoding (a test checks this property).
"""

from __future__ import annotations

import keras
import numpy as np

from dltp.models.attention import ScaledDotProductAttention


def build_seq2seq(input_len: int = 50, output_len: int = 10, encoder_units: int = 64,
                  decoder_units: int | None = None, name: str = "seq2seq"):
    """Returns (model, inspector): inputs [encoder (B, L, 1), decoder (B, H, 1)] → forecast (B, H, 1);
    ``inspector`` shares the layers and also returns the cross-attention weights (B, H, L)."""
    decoder_units = decoder_units or 2 * encoder_units
    if decoder_units != 2 * encoder_units:
        raise ValueError("the decoder state is the concatenated encoder states: decoder_units = 2 × encoder_units")
    enc_in = keras.Input((input_len, 1), name="history")
    dec_in = keras.Input((output_len, 1), name="decoder_inputs")
    enc_out, fh, fc, bh, bc = keras.layers.Bidirectional(
        keras.layers.LSTM(encoder_units, return_sequences=True, return_state=True), name="encoder")(enc_in)
    state_h = keras.layers.Concatenate(name="state_h")([fh, bh])
    state_c = keras.layers.Concatenate(name="state_c")([fc, bc])
    dec_out = keras.layers.LSTM(decoder_units, return_sequences=True, name="decoder")(
        dec_in, initial_state=[state_h, state_c])
    context, weights = ScaledDotProductAttention(name="cross_attention")(dec_out, enc_out)
    merged = keras.layers.Concatenate(name="decoder_and_context")([dec_out, context])
    forecast = keras.layers.Dense(1, name="forecast")(merged)
    model = keras.Model([enc_in, dec_in], forecast, name=name)
    inspector = keras.Model([enc_in, dec_in], [forecast, weights], name=name + "_inspector")
    return model, inspector


def teacher_forced_inputs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Decoder inputs of teacher forcing: [last observed value, y_0, …, y_{H-2}] (uses the true future)."""
    return np.concatenate([x[:, -1:], y[:, :-1]], axis=1).astype("float32")


def predict_autoregressive(inspector, x: np.ndarray, output_len: int, batch_size: int = 512):
    """Forecast (N, H, 1) and attention weights (N, H, L) without ever seeing the true future."""
    x = x.astype("float32")
    dec = np.zeros((len(x), output_len, 1), dtype="float32")
    dec[:, 0] = x[:, -1]
    for k in range(output_len):
        pred, weights = inspector.predict([x, dec], batch_size=batch_size, verbose=0)
        if k + 1 < output_len:
            dec[:, k + 1] = pred[:, k]
    return pred, weights
