"""How a training run is set up: its tf.distribute strategy, and which runs already trained it keeps."""

import functools
import json
import os
from pathlib import Path

import tensorflow as tf

from core import artifacts
from core.models.config import ModelConfig

MIRRORED, MULTIWORKER = "mirrored", "multiworker"
STRATEGIES = (MIRRORED, MULTIWORKER)
TF_CONFIG = "TF_CONFIG"  # the cluster's workers and this process's place among them (TensorFlow's)


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy with a `reduce` that Keras 3's `fit` can call.

    Keras 3 reduces a whole (inputs, labels) batch at once, and each replica's scalar metrics
    over axis 0; the multi-worker strategy takes one value at a time and no axis on a scalar, so
    `fit` fails (keras-team/keras#20585, tensorflow/tensorflow#72388). This reduces each value of
    the structure on its own, scalars across the replicas alone, as Keras means.
    """

    def reduce(self, reduce_op: tf.distribute.ReduceOp | str, value: object, axis: int | None) -> object:
        def one(each: object) -> tf.Tensor:
            scalar = self.experimental_local_results(each)[0].shape.rank == 0
            return super(MultiWorkerStrategy, self).reduce(reduce_op, each, None if scalar else axis)

        return tf.nest.map_structure(one, value)


@functools.cache  # one per process: a multi-worker strategy sets up its collectives once
def distribution_strategy(name: str | None) -> tf.distribute.Strategy:
    """The tf.distribute strategy to build, compile and fit under.

    Args:
        name: None for TensorFlow's default (one device, no distribution); "mirrored" for
            MirroredStrategy over all local GPUs, or the CPU where there is none; "multiworker"
            for MultiWorkerMirroredStrategy over the workers that $TF_CONFIG lists (one process
            on each, started with its own index; create it before any other TensorFlow work).

    Raises:
        ValueError: an unknown strategy name, or "multiworker" without a usable $TF_CONFIG.
    """
    if name is None:
        return tf.distribute.get_strategy()  # the default strategy: its scope changes nothing
    if name == MIRRORED:
        return tf.distribute.MirroredStrategy()
    if name == MULTIWORKER:
        cluster_config()
        return MultiWorkerStrategy()
    raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")


def cluster_config() -> dict:
    """$TF_CONFIG read and checked: {"cluster": {"worker": ["host:port", ...]}, "task": {...}}.

    Raises:
        ValueError: it is unset, not JSON, or names no workers or no task.
    """
    example = (
        '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
    )
    text = os.environ.get(TF_CONFIG)
    if not text:
        raise ValueError(f"--strategy {MULTIWORKER} needs ${TF_CONFIG} on every worker, e.g. {example}")
    try:
        config = json.loads(text)
        workers, task = config["cluster"]["worker"], config["task"]
        if not workers or task["type"] not in config["cluster"] or "index" not in task:
            raise KeyError("task")
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(
            f"${TF_CONFIG} is not a cluster and this worker's task: {text!r}; e.g. {example}"
        ) from None
    return config


def writes_results(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes a run's files: always, but in a multi-worker cluster only on
    its chief (the task "chief", or worker 0 where the cluster names none); the other workers
    train alongside it and write nothing."""
    resolver = strategy.cluster_resolver
    if resolver is None or resolver.task_type is None:
        return True
    chief = "chief" if "chief" in resolver.cluster_spec().jobs else "worker"
    return resolver.task_type == chief and resolver.task_id == 0


def wait_for_every_worker(strategy: tf.distribute.Strategy) -> None:
    """Return once every worker of the cluster has called this: a worker that left early would
    leave the others a cluster with a member missing."""

    @tf.function  # traced: a multi-worker strategy warns when it runs eagerly
    def one_each() -> tf.distribute.DistributedValues:
        return strategy.run(tf.ones, args=((),))

    strategy.reduce(tf.distribute.ReduceOp.SUM, one_each(), axis=None)


def refuse_kept_runs_across_workers(strategy: str | None, keep_runs: bool) -> None:
    """Raises ValueError for kept runs with several workers: each would keep what its own folder
    holds, and every worker must train the same runs."""
    if keep_runs and strategy == MULTIWORKER:
        raise ValueError(
            f"--keep-runs cannot go with --strategy {MULTIWORKER}: every worker must train the same runs"
        )


def kept_run(folder: Path, config: ModelConfig, serve: bool) -> bool:
    """Whether `folder` holds a complete run of `config` (its results, and with `serve` the
    served model's files too) that train(keep_runs=True) may keep."""
    needed = artifacts.ARTIFACT_FILES if serve else artifacts.RUN_FILES
    if not all((folder / name).is_file() for name in needed):
        return False
    try:
        return ModelConfig.load(folder / "config.json") == config
    except (ValueError, TypeError):  # a damaged or older config.json: train the run again
        return False
