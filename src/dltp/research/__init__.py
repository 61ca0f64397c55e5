"""TP5 research challenge: latent video prediction on moving digits.

A frame autoencoder maps each 64×64 frame to a latent vector; three latent predictors (a
recurrent baseline, TAP-T: a causal Transformer over the last N latents, TAP-M: attention over an
external memory of past latents) roll 40 frames out from 10 given ones. ``experiment`` runs and
tracks the comparison (``dltp run tp5.research``); ``paper`` writes the paper from its results
(``dltp paper``). Nothing heavy is imported here.
"""
