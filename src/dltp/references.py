"""The original author's reported figures (MISSION.md), next to which the report puts ours.

experiment id -> [(metric key in our runs, the author's figure, what it is)]. A figure the author
never measured is simply absent.
"""

REFERENCES: dict[str, list[tuple[str, float, str]]] = {
    "tp1": [("test_accuracy", 0.9781, "test accuracy (MNIST, 5 epochs)")],
}
