"""The original author's reported figures (MISSION.md), next to which the report puts ours.

experiment id -> [(metric key in our runs, the author's figure, what it is)]. A figure the author
never measured is simply absent. The author's figures are on MNIST / CIFAR-10 with the original
recipes; the report shows which dataset our run used.
"""

REFERENCES: dict[str, list[tuple[str, float, str]]] = {
    "tp1": [("test_accuracy", 0.9781, "test accuracy (MNIST, 5 epochs)")],
    "tp2.diagnose": [("accuracy", 0.9961, "train accuracy, last epoch (15 epochs)"),
                     ("val_accuracy", 0.9822, "validation accuracy, last epoch"),
                     ("best_val_loss", 0.0592, "lowest validation loss")],
    "tp2.regularize": [("accuracy", 0.9640, "train accuracy, L2 + Dropout 0.5"),
                       ("val_accuracy", 0.9802, "validation accuracy, L2 + Dropout 0.5")],
    "tp2.batchnorm": [("test_accuracy", 0.9786, "test accuracy with BatchNorm (10 epochs)")],
    "tp3.cnn": [("test_accuracy", 0.7116, "test accuracy (CIFAR-10, 10 epochs)"),
                ("accuracy", 0.9651, "train accuracy, last epoch"),
                ("val_accuracy", 0.7334, "validation accuracy, last epoch")],
    "tp3.resnet": [("test_accuracy", 0.5171, "test accuracy of the author's first (buggy) block")],
    "tp4.unet": [("val_dice_coefficient", 0.9937, "validation Dice"),
                 ("val_iou", 0.9875, "validation IoU")],
}
