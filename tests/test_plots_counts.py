"""The confusion matrix counts every (true, predicted) pair, as scikit-learn's does."""

import numpy as np
from sklearn.metrics import confusion_matrix as sklearn_counts

from dltp import plots


def test_the_confusion_matrix_counts_as_scikit_learn_and_keeps_unseen_classes():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 9, 500), rng.integers(0, 9, 500)  # class 9 never appears
    counts = plots.confusion_matrix(y_true, y_pred, 10)
    assert counts.shape == (10, 10) and counts[9].sum() == counts[:, 9].sum() == 0
    assert (counts == sklearn_counts(y_true, y_pred, labels=np.arange(10))).all()
