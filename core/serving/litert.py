"""LiteRT (TensorFlow Lite) copies of the saved models, and a fast CPU interpreter for them.

CLI: python -m core litert --model {<registered name>,all} [--data DIR]
converts artifacts/<model>/model.keras to model.tflite (float32) and model_int8.tflite in the
same folder; core.training.train writes them too.

model.tflite returns the penultimate features beside the probabilities, so the
out-of-distribution guard (core.serving.ood.Checker) reads an upload's features from one fast
call instead of running Keras.

model_int8.tflite is fully integer (static quantisation): weights and activations in int8,
their ranges calibrated on CALIBRATION_IMAGES training images; it takes the raw uint8 pixels
as they are and returns float32 probabilities.
"""

import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core import artifacts, cli, paths
from core.artifacts import TFLITE_FILE, TFLITE_INT8_FILE
from core.files import atomic_path

if TYPE_CHECKING:
    import keras
    from ai_edge_litert.interpreter import Interpreter


CALIBRATION_IMAGES = 200  # training images whose activations set the int8 ranges
INT8_MAX_LABELS_CHANGED = 0.005  # the int8 copy serves only if it changes at most this share of labels


def int8_serves(fp32_ms: float, int8_ms: float, labels_changed: int, n_images: int) -> bool:
    """Whether the app should predict with the int8 copy: faster, and the same answers.

    A rule on agreement with float32, which reads no label, so no choice is tuned on test labels.
    """
    return int8_ms < fp32_ms and labels_changed <= INT8_MAX_LABELS_CHANGED * n_images


def calibration_images(images: np.ndarray, count: int = CALIBRATION_IMAGES) -> np.ndarray:
    """`count` images spread evenly over `images` (N, S, S, 3) uint8 (all of them if fewer)."""
    return images[np.linspace(0, len(images) - 1, min(count, len(images))).astype(int)]


def export(model: "keras.Model", out_dir: Path, calibration: np.ndarray | None = None) -> dict[str, int]:
    """Write model.tflite (float32) and, given calibration images, model_int8.tflite (full int8).

    Each file is written atomically (core.files.atomic_path).

    Args:
        calibration: (N, S, S, 3) uint8 training images (calibration_images); None writes no int8 copy.

    Returns:
        Each file's name and size in bytes.
    """
    from core.models.registry import features_and_probabilities

    sizes = {}
    # float32: (features, probabilities) for the guard and the answer; int8: probabilities alone.
    copies = [(TFLITE_FILE, features_and_probabilities(model), None)]
    if calibration is not None:
        copies.append((TFLITE_INT8_FILE, model, calibration))
    for file, exported, images in copies:
        path = Path(out_dir) / file
        with atomic_path(path) as temporary:
            temporary.write_bytes(converted(exported, images))
        sizes[file] = path.stat().st_size
    return sizes


def converted(model: "keras.Model", calibration: np.ndarray | None = None) -> bytes:
    """The model as a .tflite flatbuffer: float32, or full int8 with ranges from `calibration`.

    Args:
        calibration: (N, S, S, 3) uint8 images (calibration_images): weights and activations in
            int8, the input the raw uint8 pixels. None keeps float32 throughout.
    """
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved_model:
        # Keras 3 goes through a SavedModel: the route TF's converter supports best.
        model.export(saved_model, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        if calibration is not None:  # static: int8 weights and activations, ranges from the images
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: (
                [image[None].astype(np.float32)] for image in calibration
            )
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.uint8  # the decoded pixels, unconverted
        return converter.convert()


def resized(interpreter: "Interpreter", input_details: dict, batch: int, current: int) -> int:
    """Give the interpreter's input `batch` images (its other dimensions kept) unless it has that
    many already: allocation is not free. Returns the batch size it now takes."""
    if batch != current:
        interpreter.resize_tensor_input(input_details["index"], [batch, *input_details["shape"][1:]])
        interpreter.allocate_tensors()
    return batch


class BatchCall:
    """A one-output float32 model's outputs for many inputs, computed by a LiteRT copy of it.

    Training runs MobileNetV2's frozen layers over every training image nine times (the plain
    images and eight augmented copies), and the nearest-training-image check runs them on
    uploads (core.serving.neighbours); on a CPU, XNNPACK does that about four times faster than
    Keras, a few images a call. The copy computes the same function as the Keras model, to
    float32 rounding.

    Args:
        content: the .tflite flatbuffer (`converted`, or a file's bytes).

    Raises:
        ValueError: not a readable .tflite file of one input and one output.
    """

    def __init__(self, content: bytes, batch_size: int = 8) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_content=content, num_threads=os.cpu_count())
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"expected one input and one output, got {len(inputs)} and {len(outputs)}")
        (self._input,), (self._output,) = inputs, outputs
        self._batch, self.batch_size = 0, batch_size
        self._lock = threading.Lock()  # one interpreter, so one call at a time (Streamlit threads)

    @classmethod
    def of(cls, model: "keras.Model", batch_size: int = 8) -> "BatchCall":
        """A LiteRT copy of a Keras model, converted now (seconds to a minute)."""
        return cls(converted(model), batch_size)

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """(N, ...) inputs (any real dtype; float32 a batch at a time) -> (N, ...) float32 outputs."""
        size = self.batch_size
        with self._lock:
            parts = [self._invoke(inputs[i : i + size]) for i in range(0, len(inputs), size)]
        return np.concatenate(parts) if parts else np.zeros((0, *self.output_shape), np.float32)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """One input's output shape, e.g. (1280,) for pooled features."""
        return tuple(int(n) for n in self._output["shape"][1:])

    def _invoke(self, batch: np.ndarray) -> np.ndarray:
        self._batch = resized(self._interpreter, self._input, len(batch), self._batch)
        self._interpreter.set_tensor(self._input["index"], np.asarray(batch, np.float32))
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"]).copy()


class LiteRTModel:
    """A .tflite classifier on the LiteRT interpreter (XNNPACK, every CPU core).

    Args:
        path: a .tflite file taking (N, S, S, 3) raw 0-255 RGB, as float32 or quantized uint8,
            returning (N, 4) float32 probabilities and, in files written since it was added,
            (N, D) float32 penultimate features (`has_features`).

    Raises:
        artifacts.DamagedArtifactError: not a readable .tflite file (also a ValueError).
        ValueError: not one image in and four scores (and features) out.
    """

    def __init__(self, path: Path, num_threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        # A damaged file raises artifacts.DamagedArtifactError, a ValueError naming the file.
        with artifacts.reading(self.path, artifacts.writer(self.path.name, self.path.parent.name)):
            # XNNPACK is the default delegate: no options needed for the fast CPU kernels.
            self._interpreter = Interpreter(
                model_path=str(self.path), num_threads=num_threads or os.cpu_count()
            )
        (self._input,) = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        is_scores = [list(o["shape_signature"][1:]) == [4] for o in outputs]
        shape = self._input["shape_signature"]
        image_in = len(shape) == 4 and shape[1] == shape[2] and shape[3] == 3
        dtype_in = self._input["dtype"] in (np.float32, np.uint8)
        if not image_in or not dtype_in or sum(is_scores) != 1 or len(outputs) > 2:
            shapes = [list(o["shape_signature"]) for o in outputs]
            raise ValueError(
                f"expected (N, S, S, 3) float32 or uint8 -> (N, 4) and maybe (N, D) features, "
                f"got {shape} -> {shapes}: {self.path}"
            )
        self._output = outputs[is_scores.index(True)]
        self._features = next((o for o, scores in zip(outputs, is_scores) if not scores), None)
        self.has_features = self._features is not None
        self.image_size = int(shape[1])
        self.quantized = self._input["dtype"] == np.uint8  # the full-integer copy
        self._batch = 0
        self._lock = threading.Lock()  # one interpreter, so one call at a time (Streamlit threads)

    def _quantized(self, images: np.ndarray) -> np.ndarray:
        """Pixels as the int8 copy's uint8 input holds them: unchanged when its scale is 1."""
        scale, zero_point = self._input["quantization"]
        if (scale, zero_point) == (1.0, 0):
            return np.asarray(images, np.uint8)
        return np.clip(np.rint(np.asarray(images, np.float32) / scale + zero_point), 0, 255).astype(np.uint8)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 at this model's size -> (N, 4) probabilities."""
        return self._run(images, self._output)

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 at this model's size -> (N, D) penultimate features (has_features)."""
        if self._features is None:
            raise ValueError(f"{self.path} has no features output: rewrite it with `python -m core litert`")
        return self._run(images, self._features)

    def _run(self, images: np.ndarray, output: dict) -> np.ndarray:
        batch = (
            self._quantized(images) if self._input["dtype"] == np.uint8 else np.asarray(images, np.float32)
        )
        if batch.ndim != 4 or batch.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"expected (N, {self.image_size}, {self.image_size}, 3), got {batch.shape}")
        with self._lock:
            self._batch = resized(self._interpreter, self._input, len(batch), self._batch)
            self._interpreter.set_tensor(self._input["index"], batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(output["index"]).copy()


def training_calibration(name: str, root: Path, data_dir: Path) -> np.ndarray:
    """Calibration images for a saved model: from the part of Training it was fitted on."""
    from core.data.cache import FIT_SPLIT, cached_images
    from core.data.dataset import TRAIN_SPLIT, find_samples
    from core.data.duplicates import validation_split

    config = artifacts.load_config(name, root)
    fit, _ = validation_split(
        find_samples(data_dir, TRAIN_SPLIT), config.validation_fraction, config.split_seed
    )
    return calibration_images(cached_images(fit, config.image_size, FIT_SPLIT).images)


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    root, data_dir = Path(args.artifacts), paths.data_dir(args.data)
    for name in cli.selected_models(args.model):
        calibration = training_calibration(name, root, data_dir)
        sizes = export(artifacts.load_model(name, root), artifacts.model_dir(name, root), calibration)
        keras_mb = (artifacts.model_dir(name, root) / artifacts.MODEL_FILE).stat().st_size / 1e6
        listed = ", ".join(f"{file} {size / 1e6:.1f} MB" for file, size in sizes.items())
        print(f"[{name}] {artifacts.MODEL_FILE} {keras_mb:.1f} MB -> {listed}", flush=True)


if __name__ == "__main__":
    cli.run(main)
