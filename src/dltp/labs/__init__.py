"""One module per lab; each experiment is a function ``run(cfg: RunConfig) -> dict``."""
