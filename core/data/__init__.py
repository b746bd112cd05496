"""The dataset: finding, decoding and caching images, duplicates, releases and sources. No TensorFlow."""
