"""Model builders, one module per architecture family; Keras layers and keras.ops only."""
