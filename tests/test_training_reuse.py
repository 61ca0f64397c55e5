"""training.train_sharing_first_epochs on stand-in recipes: which recipe trains, which is taken
from a longer one's first epochs, and in what order (no Keras training)."""

from dataclasses import dataclass

from dltp import training


@dataclass(frozen=True)
class Recipe:
    name: str
    epochs: int
    optimizer: str = "adam"


def test_the_shorter_identical_recipe_is_taken_from_the_longest_which_trains_first():
    recipes = [Recipe("short", 2), Recipe("other", 3, optimizer="sgd"), Recipe("long", 5), Recipe("twin", 5)]
    calls = []

    def train(recipe, callbacks=(), first_epochs_of=None):
        if first_epochs_of is None:
            for snapshot in callbacks:  # what fit would do: the weights after each epoch kept
                snapshot.weights = {epoch: f"{recipe.name} after {epoch}" for epoch in snapshot.epochs}
            calls.append(("train", recipe.name, sorted(callbacks[0].epochs)))
            return {"name": recipe.name}
        longer, weights = first_epochs_of
        calls.append(("reuse", recipe.name, longer["name"], weights))
        return {"name": recipe.name, "from": longer["name"]}

    results = training.train_sharing_first_epochs(recipes, train, epochs=lambda r: r.epochs,
                                                  same=training.same_training)
    assert [r["name"] for r in results] == ["short", "other", "long", "twin"]
    assert calls == [("train", "other", []), ("train", "long", [2, 5]),
                     ("reuse", "short", "long", "long after 2"), ("reuse", "twin", "long", "long after 5")]
    assert training.same_training(Recipe("a", 1), Recipe("b", 9))
    assert not training.same_training(Recipe("a", 1), Recipe("a", 1, optimizer="sgd"))
    assert not training.same_training(Recipe("a", 1), Recipe("b", 1), labels=())
