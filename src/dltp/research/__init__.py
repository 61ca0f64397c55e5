"""TP5 research challenge: latent video prediction on Moving MNIST.

A frame autoencoder maps each 64×64 frame to a spatial latent; three latent predictors (TAP, a
recurrent baseline; TAP-T, a causal Transformer over the last latents; TAP-M, attention over an
external memory of past latents) roll 40 frames out from 10, after teacher forcing and after
fine-tuning on their own rollouts at several depths. An identity instrument, a floor, a pixel-space
baseline and bootstrap intervals make the comparison measurable. ``experiment`` runs and tracks it
(``dltp run tp5.research``); ``paper`` writes the paper from its results (``dltp paper``).

The modules, in the order the study runs: ``study`` (what is compared), ``data`` (Moving MNIST),
``models``, ``latents`` (frames to latents and back, the rollout), ``fitting`` (training),
``protocol`` and ``scoring`` (metrics and intervals), ``results``, ``experiment``. The paper:
``wording`` (numbers and verdicts), ``facts`` (everything the template prints), ``figures``, ``paper``.
Nothing heavy is imported here.
"""
