"""Answering for one image: the predictor, the out-of-distribution guard, explanations, the nearest
training images and LiteRT copies."""
