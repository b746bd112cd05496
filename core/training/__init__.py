"""Training: the input pipeline, pasted lesions, the training command and background runs."""
