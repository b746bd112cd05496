"""Class activation maps with tf-keras-vis, and the overlay of a map on its image."""

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from core.models.registry import compiled, split_at

if TYPE_CHECKING:
    import keras

# Grad-CAM++ comes first, as the pages' default: it weights positive gradients only, so it always
# shows a region, while plain Grad-CAM's map is empty whenever its weighted sum is negative
# everywhere (about one in five test images for the custom CNN).
METHODS = ("Grad-CAM++", "Grad-CAM", "ScoreCAM")
SCORECAM_MAX_N = 16  # ScoreCAM on the 16 strongest channels: close to full ScoreCAM, far faster
# What the pages show instead of maps for an upload the guards refuse (core.serving.predict.refusal).
NO_MAPS = "No maps for an image the models do not recognise: each would explain a meaningless class."


class Explainer:
    """Builds each CAM method for one model once, then explains images on demand.

    Grad-CAM and Grad-CAM++ need gradients only from the explained layer onwards, so the model is
    split there: the layers up to it (the trunk) run as one compiled call, and tf-keras-vis
    explains the short head after it, fed with the trunk's activations. The maps are those of
    tf-keras-vis on the whole model (tests check it) without running MobileNetV2 eagerly, about
    eight times faster. ScoreCAM reruns the model on masked images, so it gets the whole model.

    Args:
        model: a flat Keras model taking raw 0-255 RGB (see core.models.registry).
        layer: name of the conv layer whose activations are weighted (its registry entry's
            `explain_layer`).
    """

    def __init__(self, model: "keras.Model", layer: str) -> None:
        self.model, self.layer = model, layer
        self._methods: dict = {}
        self._trunk = self._head = None  # split_at, built with the first Grad-CAM

    def _method(self, name: str) -> Callable:
        if name not in METHODS:
            raise ValueError(f"unknown CAM method {name!r}; choose from {', '.join(METHODS)}")
        if name not in self._methods:
            from tf_keras_vis.gradcam import Gradcam
            from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
            from tf_keras_vis.scorecam import Scorecam
            from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

            if name == "ScoreCAM":
                self._methods[name] = Scorecam(self.model)
            else:
                if self._trunk is None:
                    trunk, self._head = split_at(self.model, self.layer)
                    self._trunk = compiled(trunk)
                cls = Gradcam if name == "Grad-CAM" else GradcamPlusPlus
                # Gradients of the pre-softmax score; the head is cloned, so the model keeps its softmax.
                self._methods[name] = cls(self._head, model_modifier=ReplaceToLinear(), clone=True)
        return self._methods[name]

    def heatmap(self, image: np.ndarray, class_index: int, method: str = "Grad-CAM") -> np.ndarray:
        """Where the model looks for `class_index`.

        Args:
            image: (S, S, 3) uint8 at the model's input size.

        Returns:
            (S, S) float32 in [0, 1].
        """
        from scipy.ndimage import zoom
        from tf_keras_vis.utils import normalize, zoom_factor
        from tf_keras_vis.utils.scores import CategoricalScore

        explain, score = self._method(method), CategoricalScore([class_index])
        batch = image[None].astype(np.float32)  # (1, S, S, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # input-structure notices from Keras 3
            if method == "ScoreCAM":
                cam = explain(score, batch, penultimate_layer=self.layer, max_N=SCORECAM_MAX_N)
            else:
                # The head's input layer holds the explained activations. As tf-keras-vis does
                # for a whole model: the map at the layer's resolution, resized, then normalised.
                activations = self._trunk(batch).numpy()
                cam = explain(
                    score,
                    activations,
                    penultimate_layer=0,
                    seek_penultimate_conv_layer=False,
                    expand_cam=False,
                    normalize_cam=False,
                )
                cam = normalize(zoom(np.asarray(cam), zoom_factor(cam.shape, batch.shape[:-1]), order=1))
        return np.nan_to_num(np.asarray(cam[0], dtype=np.float32))


def _jet(values: np.ndarray) -> np.ndarray:
    """The 'jet' colormap: (H, W) in [0, 1] -> (H, W, 3) in [0, 1]."""
    four = 4 * values[..., None]
    offsets = np.array([3.0, 2.0, 1.0])  # red, green, blue
    return np.clip(np.minimum(four - offsets + 1.5, -four + offsets + 1.5), 0, 1)


def overlay(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.4) -> np.ndarray:
    """Blend a [0, 1] heat map over an RGB uint8 image of any size; returns RGB uint8.

    Raises:
        ValueError: opacity outside [0, 1] or image not (H, W, 3).
    """
    if not 0 <= opacity <= 1:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got {image.shape}")
    height, width = image.shape[:2]
    resized = Image.fromarray(np.clip(heatmap * 255, 0, 255).astype(np.uint8)).resize((width, height))
    colors = _jet(np.asarray(resized, np.float32) / 255) * 255
    return np.clip((1 - opacity) * image + opacity * colors, 0, 255).astype(np.uint8)
