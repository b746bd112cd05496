"""The embedding map: every training and test image placed by each model's own penultimate
features (the guard's), reduced to two dimensions.

CLI: python -m core embedding [--model ...] [--data DIR] [--boxes CSV] [--artifacts DIR] [--no-cache]

Per model, principal component analysis fitted on the training images' features (what it learned
from) gives two axes; the test images are placed on them, and so can an upload be, since the
mean and components are kept. Writes artifacts/embedding.npz: `path`, `split`, `label` and
`source` (its collection, core.data.provenance) of every image, and per model `<name>__coords`
(N, 2), `<name>__predicted` (N,) class names, `<name>__mean` (D,) and `<name>__components` (2, D).
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from core import artifacts, cli, paths
from core.data import provenance
from core.data.cache import cached_images
from core.data.dataset import CLASS_NAMES, TEST_SPLIT, TRAIN_SPLIT, find_samples
from core.files import atomic_path
from core.models.registry import features_and_probabilities, predict_batches

SEP = "__"  # between a model's name and its array's


def project(features: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """(N, D) features -> (N, 2) places on the map of the model whose mean and components these are."""
    return ((features - mean) @ components.T).astype(np.float32)


def model_map(name: str, images: np.ndarray, training: np.ndarray, root: Path) -> dict[str, np.ndarray]:
    """One model's arrays of embedding.npz for `images`, its axes fitted on those where `training`."""
    model = artifacts.load_model(name, root)
    features, probabilities = predict_batches(features_and_probabilities(model), images)
    pca = PCA(n_components=2, random_state=0).fit(features[training])
    mean, components = pca.mean_.astype(np.float32), pca.components_.astype(np.float32)
    return {
        f"{name}{SEP}coords": project(features, mean, components),
        f"{name}{SEP}predicted": np.asarray(CLASS_NAMES)[probabilities.argmax(axis=1)],
        f"{name}{SEP}mean": mean,
        f"{name}{SEP}components": components,
    }


def main(argv: list[str] | None = None) -> None:
    description = __doc__.splitlines()[0]
    args = cli.parser(description, cache=True, boxes=True).parse_args(sys.argv[1:] if argv is None else argv)
    root, data = Path(args.artifacts), paths.data_dir(args.data)
    names = [name for name in cli.selected_models(args.model) if name in artifacts.available_models(root)]
    if not names:
        raise artifacts.ArtifactError(f"no trained model in {root}: train one first")
    samples = {split: find_samples(data, split) for split in (TRAIN_SPLIT, TEST_SPLIT)}
    boxes = provenance.read_boxes(provenance.boxes_path(data, args.boxes))
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        size = artifacts.load_config(name, root).image_size
        decoded = {
            split: cached_images(found, size, split, not args.no_cache) for split, found in samples.items()
        }
        kept = [sample for split in decoded.values() for sample in split.kept]
        if arrays and list(arrays["path"]) != [sample.relpath for sample in kept]:
            raise ValueError(f"{name} decoded other images than the models before it")
        arrays |= {
            "path": np.asarray([sample.relpath for sample in kept]),
            "split": np.asarray([split for split, d in decoded.items() for _ in d.kept]),
            "label": np.asarray(CLASS_NAMES)[[sample.label for sample in kept]],
            "source": np.asarray(provenance.sources(kept, boxes)),
        }
        images = np.concatenate([d.images for d in decoded.values()])
        arrays |= model_map(name, images, arrays["split"] == TRAIN_SPLIT, root)
        print(f"[{name}] {len(images):,} images placed on the map", flush=True)
    with atomic_path(root / artifacts.EMBEDDING_FILE) as out, out.open("wb") as handle:
        np.savez_compressed(handle, **arrays)


if __name__ == "__main__":
    cli.run(main)
