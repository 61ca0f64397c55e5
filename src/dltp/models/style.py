"""Neural style transfer's pieces (Gatys et al.): a frozen VGG16 feature extractor, Gram
matrices, content / style / total-variation losses, all in keras.ops (every backend).

Content: block5_conv2. Style: block1_conv1 … block5_conv1. The generated image lives in VGG16's
input space (``keras.applications.vgg16.preprocess_input``: BGR, ImageNet mean removed).
"""

from __future__ import annotations

import keras
from keras import ops

CONTENT_LAYER = "block5_conv2"
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
               "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
WEIGHTS_FILE = WEIGHTS_URL.rsplit("/", 1)[1]


def feature_extractor(size: int, weights: str | None) -> keras.Model:
    """VGG16 without its classifier, frozen, returning {layer name: activations}.

    ``weights``: a path to the ImageNet weights file, or None for random weights."""
    vgg = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(size, size, 3))
    vgg.trainable = False
    names = (CONTENT_LAYER, *STYLE_LAYERS)
    return keras.Model(vgg.inputs, {n: vgg.get_layer(n).output for n in names}, name="vgg16_features")


def gram_matrix(features):
    """(H, W, C) activations → (C, C) correlations between channels, normalised by H·W."""
    h, w, c = features.shape[-3], features.shape[-2], features.shape[-1]
    flat = ops.reshape(features, (h * w, c))
    return ops.matmul(ops.transpose(flat), flat) / (h * w)


def content_loss(generated, content):
    """Squared error of the content-layer activations, relative to the target's energy
    (scale-free, so the same weights work with ImageNet and with random VGG16 weights)."""
    return ops.mean(ops.square(generated - content)) / (ops.mean(ops.square(content)) + 1e-8)


def style_loss(generated_gram, style_gram):
    """Squared error between Gram matrices, relative to the style Gram's energy."""
    return ops.mean(ops.square(generated_gram - style_gram)) / (ops.mean(ops.square(style_gram)) + 1e-8)


def total_variation_loss(image):
    """Mean absolute difference between neighbouring pixels (0-255 scale): penalises noise."""
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    return ops.mean(ops.abs(dy)) + ops.mean(ops.abs(dx))


def make_loss(extractor: keras.Model, content_image, style_image, *, content_weight: float,
              style_weight: float, tv_weight: float):
    """``loss(generated) -> (total, {"content":…, "style":…, "tv":…})`` with the targets precomputed."""
    content_target = extractor(content_image)[CONTENT_LAYER]
    style_targets = {n: gram_matrix(extractor(style_image)[n][0]) for n in STYLE_LAYERS}

    def loss(generated):
        feats = extractor(generated)
        c = content_loss(feats[CONTENT_LAYER], content_target)
        s = sum(style_loss(gram_matrix(feats[n][0]), style_targets[n]) for n in STYLE_LAYERS) / len(STYLE_LAYERS)
        tv = total_variation_loss(generated)
        total = content_weight * c + style_weight * s + tv_weight * tv
        return total, {"content": c, "style": s, "tv": tv}

    return loss
