"""Training benchmark of every model: decoding, cached activations, and seconds per epoch.

CLI: python -m benchmarks.training [--data DIR] [--epochs N] [--artifacts DIR]
runs the real training command (core.training.train.train) for N epochs of every phase into a temporary
folder, prints a table and writes artifacts/benchmark_training.json. From the seconds per
epoch it projects both models' end-to-end time for the shipped schedules (the epochs the
shipped runs actually took, from their history.json) against the 20-minute target for the two
compared models (controls are timed, not counted). The projection is an estimate on this machine
as it is (its load is recorded too); the shipped manifests hold the measured end-to-end times.
"""

import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.inference import save
from core import artifacts, cli, machine, paths
from core.data.cache import CACHE_ENV_VAR, cached_images
from core.data.dataset import TRAIN_SPLIT, find_samples
from core.data.duplicates import validation_split
from core.evaluation.efficiency import TRAINING_TARGET_S
from core.models import registry
from core.models.config import ModelConfig
from core.training import train

BENCHMARK_FILE = "benchmark_training.json"
FIXED_PARTS = ("activations", "augmented activations", "export")  # manifest entries outside the epochs
TARGET_S = TRAINING_TARGET_S


def time_decode(config: ModelConfig, data_dir: Path, cache_root: Path) -> dict[str, float]:
    """Seconds to decode the training and validation images into an empty cache, then to read them."""
    samples = find_samples(data_dir, TRAIN_SPLIT)
    parts = validation_split(samples, config.validation_fraction, config.split_seed)
    seconds = {}
    for state in ("cold", "cached"):
        start = time.perf_counter()
        for part, name in zip(parts, ("Training-fit", "Training-val")):
            cached_images(part, config.image_size, name, root=cache_root)
        seconds[state] = round(time.perf_counter() - start, 2)
    return seconds


def epoch_times(history: dict, phase: str) -> dict[str, float | int]:
    """A phase's first epoch (it includes tracing), the mean of the later ones and the fastest, in s.

    On a shared machine the fastest epoch is the best estimate of what it does unloaded.
    """
    seconds = [record["wall_time_s"] for record in history["epochs"] if record["phase"] == phase]
    later = seconds[1:] or seconds
    return {
        "epochs_run": len(seconds),
        "first_epoch_s": seconds[0],
        "later_epoch_s": round(statistics.mean(later), 2),
        "fastest_epoch_s": min(seconds),
    }


def shipped_epochs(name: str, root: Path) -> dict[str, int]:
    """Epochs per phase that the shipped run took (early stopping included)."""
    phases = artifacts.load_history(name, root)["phases"]
    return {phase["name"]: phase["last_epoch"] - phase["first_epoch"] + 1 for phase in phases}


def project(run: dict, epochs: dict[str, int]) -> dict[str, float]:
    """End-to-end seconds for `epochs` per phase: the measured fixed costs plus epochs x time.

    Fixed costs are what the benchmark run spent outside the epochs: activations, evaluation,
    building and saving. "cold" and "cached" add decoding into an empty or a filled cache,
    with the first epoch as measured and the later ones at their mean; "fastest" (cached)
    takes every epoch at the fastest one measured.
    """
    wall = run["wall_time_s"]
    in_epochs = sum(
        phase["first_epoch_s"] + (phase["epochs_run"] - 1) * phase["later_epoch_s"]
        for phase in run["phases"].values()
    )
    fixed = wall["total"] - wall["decode"] - in_epochs
    typical = sum(
        phase["first_epoch_s"] + (epochs[name] - 1) * phase["later_epoch_s"]
        for name, phase in run["phases"].items()
    )
    fastest = sum(epochs[name] * phase["fastest_epoch_s"] for name, phase in run["phases"].items())
    decode = run["decode_s"]
    return {
        "cold": round(fixed + decode["cold"] + typical, 1),
        "cached": round(fixed + decode["cached"] + typical, 1),
        "fastest": round(fixed + decode["cached"] + fastest, 1),
    }


def bench_model(name: str, data_dir: Path, shipped_root: Path, workdir: Path, epochs: int) -> dict:
    """Decode timings and one capped training run of `name`, with its projection.

    The run goes to `workdir`; the shipped artifacts in `shipped_root` are only read.
    """
    default = registry.get(name).config
    config = dataclasses.replace(
        default, epochs=epochs, fine_tune_epochs=min(epochs, default.fine_tune_epochs)
    )
    cache_root = workdir / "cache"
    decode = time_decode(config, data_dir, cache_root)
    weights = train.starting_weights(config)
    os.environ[CACHE_ENV_VAR] = str(cache_root)  # the run reads the cache filled above
    root = workdir / "artifacts"
    cpu_start = time.process_time()
    train.train(config, data_dir, root, weights, command=f"python -m benchmarks.training --epochs {epochs}")
    cpu_s = time.process_time() - cpu_start
    history, manifest = artifacts.load_history(name, root), artifacts.load_manifest(name, root)
    run = {
        "image_size": config.image_size,
        "decode_s": decode,
        "wall_time_s": manifest["wall_time_s"],
        # Cores this process kept busy on average: under 2 here means it waited or was crowded out.
        "cpu_cores_busy": round(cpu_s / manifest["wall_time_s"]["total"], 2),
        "phases": {phase["name"]: epoch_times(history, phase["name"]) for phase in history["phases"]},
        "test_accuracy_after_benchmark_epochs": artifacts.load_metrics(name, root).accuracy,
    }
    run["shipped_epochs"] = shipped_epochs(name, shipped_root)
    run["shipped_wall_time_s"] = artifacts.load_manifest(name, shipped_root)["wall_time_s"]
    run["projected_s"] = project(run, run["shipped_epochs"])
    return run


def table(result: dict) -> str:
    """Seconds per epoch per phase, fixed costs, and the projection against the target."""
    info, runs = result["machine"], result["models"]
    lines = [
        f"Training on {info['cpu']}, {info['cores']} cores, 1-min load {info['load_average_1m']} before "
        f"and {info['load_average_1m_after']} after; {result['epochs']} epochs per phase",
        f"{'model / phase':34}{'first epoch s':>15}{'later epochs s':>16}{'fastest s':>11}"
        f"{'shipped s/epoch':>17}{'shipped epochs':>16}",
    ]
    for name, run in runs.items():
        decode = run["decode_s"]
        wall = run["wall_time_s"]
        lines.append(
            f"{name} ({run['image_size']} px): decode {decode['cold']:.1f} s cold, "
            f"{decode['cached']:.1f} s cached"
            + "".join(
                f"; {key} {wall[key]:.1f} s"
                for key in ("activations", "augmented activations", "export")
                if key in wall
            )
            + f"; evaluation {wall['evaluation']:.1f} s; {run['cpu_cores_busy']:.2f} cores busy"
        )
        for phase, times in run["phases"].items():
            shipped_s = run["shipped_wall_time_s"].get(phase)
            per_epoch = shipped_s / run["shipped_epochs"][phase] if shipped_s else float("nan")
            lines.append(
                f"  {phase:32}{times['first_epoch_s']:>15.1f}{times['later_epoch_s']:>16.1f}"
                f"{times['fastest_epoch_s']:>11.1f}{per_epoch:>16.1f} {run['shipped_epochs'][phase]:>16}"
            )
        projected, shipped = run["projected_s"], run["shipped_wall_time_s"]["total"]
        lines.append(
            f"  projected end to end: {projected['cold']:.0f} s (cold cache), "
            f"{projected['cached']:.0f} s (cached), {projected['fastest']:.0f} s (fastest epochs); "
            f"shipped run took {shipped:.0f} s"
        )
    total = result["projected_total_s"]
    lines.append(
        f"PROJECTED {' + '.join(result['compared'])}: {total['cold']:.0f} s cold cache, "
        f"{total['cached']:.0f} s cached, "
        f"{total['fastest']:.0f} s at the fastest epochs; target <= {TARGET_S} s (cold cache): "
        f"{'met' if result['target_met'] else 'MISSED'} (projected, not a full run)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], models=False)
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each phase to time")
    args = parser.parse_args(argv)
    data_dir, root = paths.data_dir(args.data), Path(args.artifacts)
    info = machine.facts()  # the load before the run: other processes slow every timing down
    previous_cache = os.environ.get(CACHE_ENV_VAR)
    with tempfile.TemporaryDirectory(prefix="brain-mri-benchmark-") as workdir:
        try:
            runs = {
                name: bench_model(name, data_dir, root, Path(workdir), args.epochs)
                for name in artifacts.available_models(root)
            }
        finally:
            os.environ.pop(CACHE_ENV_VAR, None)
            if previous_cache is not None:
                os.environ[CACHE_ENV_VAR] = previous_cache
    info["load_average_1m_after"] = machine.load_average()
    compared = [name for name in runs if not registry.get(name).control]
    total = {
        state: round(sum(runs[name]["projected_s"][state] for name in compared), 1)
        for state in ("cold", "cached", "fastest")
    }
    result = {
        "machine": info,
        "epochs": args.epochs,
        "models": runs,
        "compared": compared,
        "projected_total_s": total,
        "target_s": TARGET_S,
        "target_met": total["cold"] <= TARGET_S,
        "note": "PROJECTED, not measured end to end: projected_s = this run's fixed costs (features, "
        "evaluation, saving) + decoding + the shipped runs' epochs per phase x this run's seconds per epoch",
    }
    print(table(result), flush=True)
    save(root / BENCHMARK_FILE, result)


if __name__ == "__main__":
    cli.run(main)
