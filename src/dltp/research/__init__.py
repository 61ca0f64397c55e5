"""TP5 research challenge: latent video prediction on moving digits.

A frame autoencoder maps each 64×64 frame to a latent vector; three latent predictors (a
recurrent baseline, TAP-T: a causal Transformer over the last N latents, TAP-M: attention over an
external memory of past latents) roll 40 frames out from 10 given ones. ``experiment`` runs and
tracks the comparison (``dltp run tp5.research``); ``paper`` writes the paper from its results
(``dltp paper``). Nothing heavy is imported here.

The modules, in the order the study runs: ``study`` (what is compared), ``data`` (the moving
digits), ``models`` (the builders), ``latents`` (frames to latents and back, the rollout),
``fitting`` (training), ``scoring`` and ``protocol`` (the metrics), ``results`` (results.json and
the figures), ``experiment`` (the run, stage by stage). The paper: ``wording`` (formats, verdicts,
names), ``results_view``, ``tables``, ``findings``, ``facts`` (all of it for the template),
``figures`` and ``paper``.
"""
