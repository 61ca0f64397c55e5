"""Hyper-parameter sweeps of TP2's network as Optuna studies, every trial an MLflow run."""
