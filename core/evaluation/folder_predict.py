"""Classify every image under a folder into a CSV, each model answering as the app answers.

CLI: python -m core predict --data DIR --out results.csv [--model {<registered name>,all}]
classifies every image under DIR (recursively), 32 files at a time, one CSV row per file: each
model's label and confidence on its probabilities calibrated with the temperature fitted on its
validation split, and `<model>_tumour`, its tumour / no-tumour answer at its validated operating
point (core.evaluation.hospital.OPERATING_POINT), as Live prediction gives them. A model saved
without validation predictions answers uncalibrated and without the operating point, and says so.
"""

import time
from collections import Counter
from pathlib import Path

from core import artifacts, cli, paths
from core.evaluation import calibration
from core.evaluation.hospital import operating_threshold
from core.serving.ood import Checker
from core.serving.predict import CHUNK_SIZE, Predictor, describe_skipped, image_files, predict_stream


def served(name: str, root: Path | None = None) -> tuple[Predictor, float | None]:
    """The saved model `name` as the app serves it: its predictor on calibrated probabilities and
    its operating point's P(tumour) threshold; without validation predictions, its own
    probabilities and no threshold. Raises artifacts.DamagedArtifactError."""
    validation = artifacts.unless_missing(lambda: artifacts.load_predictions(name, root, split="validation"))
    if validation is None:
        return Predictor.from_artifacts(name, root), None
    temperature = calibration.validation_temperature(validation)
    return Predictor.from_artifacts(name, root, temperature), operating_threshold(validation, temperature)


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="CSV to write, one row per file")
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="files in memory at a time")
    args = parser.parse_args(argv)
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")
    folder, out = paths.data_dir(args.data), Path(args.out)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder not found: {folder}")
    # Checked before the models load (seconds), so a mistyped --out fails at once.
    if out.is_dir():
        raise FileNotFoundError(f"--out is a folder, not a CSV file: {out}")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"folder for --out not found: {out.parent}")
    root = Path(args.artifacts)
    models = {name: served(name, root) for name in cli.selected_models(args.model)}
    predictors = {name: predictor for name, (predictor, _) in models.items()}
    thresholds = {name: threshold for name, (_, threshold) in models.items() if threshold is not None}
    checkers = {
        name: Checker.from_artifacts(name, predictor.model, root) for name, predictor in predictors.items()
    }
    backends = ", ".join(f"{name} on {p.backend}" for name, p in predictors.items())
    print(f"classifying the images under {folder} ({backends})", flush=True)
    for name in predictors.keys() - thresholds.keys():
        print(f"{name}: no validation predictions, so uncalibrated and no operating point", flush=True)
    start = time.perf_counter()
    skipped: Counter[str] = Counter()
    summary = predict_stream(
        predictors,
        image_files(folder, skipped),
        folder,
        out,
        args.chunk_size,
        on_chunk=lambda done: print(f"{done} files done", flush=True),
        checkers=checkers,
        thresholds=thresholds,
    )
    seconds = time.perf_counter() - start
    print(
        f"{summary.files} files in {seconds:.1f} s: {summary.failed} failed, "
        f"models disagree on {summary.disagree}, {summary.out_of_distribution} look unlike the "
        f"training data, {summary.too_small} too small to judge; {describe_skipped(skipped)}; "
        f"wrote {out}",
        flush=True,
    )


if __name__ == "__main__":
    cli.run(main)
