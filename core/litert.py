"""LiteRT (TensorFlow Lite) copies of the saved models, and a fast CPU interpreter for them.

CLI: python -m core.litert --model {mobilenetv2,custom_cnn,all}
converts artifacts/<model>/model.keras to model.tflite (float32) and model_int8.tflite
(dynamic-range quantized weights) in the same folder; core.train writes them too.
"""

import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core import artifacts, cli
from core.artifacts import TFLITE_FILE, TFLITE_INT8_FILE
from core.files import atomic_path

if TYPE_CHECKING:
    import keras


def export(model: "keras.Model", out_dir: Path) -> dict[str, int]:
    """Write model.tflite (float32) and model_int8.tflite (int8 weights) into `out_dir`.

    Each file is written atomically (core.files.atomic_path).

    Returns:
        Each file's name and size in bytes.
    """
    import tensorflow as tf

    sizes = {}
    with tempfile.TemporaryDirectory() as saved_model:
        # Keras 3 goes through a SavedModel: the route TF's converter supports best.
        model.export(saved_model, format="tf_saved_model", verbose=False)
        for file, quantize in ((TFLITE_FILE, False), (TFLITE_INT8_FILE, True)):
            converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
            if quantize:  # dynamic range: int8 weights, float activations
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            path = Path(out_dir) / file
            with atomic_path(path) as temporary:
                temporary.write_bytes(converter.convert())
            sizes[file] = path.stat().st_size
    return sizes


class LiteRTModel:
    """A .tflite classifier on the LiteRT interpreter (XNNPACK, every CPU core).

    Args:
        path: a .tflite file taking (N, S, S, 3) float32 raw 0-255 RGB, returning (N, 4).

    Raises:
        artifacts.DamagedArtifactError: not a readable .tflite file (also a ValueError).
        ValueError: not one image in and four scores out.
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
        (self._output,) = self._interpreter.get_output_details()
        shape, outputs = self._input["shape_signature"], self._output["shape_signature"]
        image_in = len(shape) == 4 and shape[1] == shape[2] and shape[3] == 3
        if not image_in or list(outputs[1:]) != [4] or self._input["dtype"] != np.float32:
            raise ValueError(
                f"expected (N, S, S, 3) float32 -> (N, 4), got {shape} -> {outputs}: {self.path}"
            )
        self.image_size = int(shape[1])
        self._batch = 0
        self._lock = threading.Lock()  # one interpreter, so one call at a time (Streamlit threads)

    def _resize(self, batch: int) -> None:
        """Resize the input tensor only when the batch size changes: allocation is not free."""
        if batch != self._batch:
            self._interpreter.resize_tensor_input(self._input["index"], [batch, *self._input["shape"][1:]])
            self._interpreter.allocate_tensors()
            self._batch = batch

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 at this model's size -> (N, 4) probabilities."""
        batch = np.asarray(images, dtype=np.float32)  # (N, S, S, 3)
        if batch.ndim != 4 or batch.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"expected (N, {self.image_size}, {self.image_size}, 3), got {batch.shape}")
        with self._lock:
            self._resize(len(batch))
            self._interpreter.set_tensor(self._input["index"], batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output["index"]).copy()  # (N, 4)


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    root = Path(args.artifacts)
    for name in cli.selected_models(args.model):
        sizes = export(artifacts.load_model(name, root), artifacts.model_dir(name, root))
        keras_mb = (artifacts.model_dir(name, root) / artifacts.MODEL_FILE).stat().st_size / 1e6
        listed = ", ".join(f"{file} {size / 1e6:.1f} MB" for file, size in sizes.items())
        print(f"[{name}] {artifacts.MODEL_FILE} {keras_mb:.1f} MB -> {listed}", flush=True)


if __name__ == "__main__":
    cli.run(main)
