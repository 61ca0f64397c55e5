"""The optimizers TP2 compares (ex. 3), by name.

No Keras import here: the sweep checks a grid's optimizer names before it binds Keras to a
backend. ``dltp.labs.tp2.make_optimizer`` builds them.
"""

OPTIMIZERS = ("sgd", "rmsprop", "adam")
