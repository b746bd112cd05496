"""How a training run is set up: its tf.distribute strategy, the dtype policy it computes in, and
which runs already trained it keeps."""

import functools
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keras
import tensorflow as tf

from core import artifacts
from core.models.config import ModelConfig

MIRRORED, MULTIWORKER = "mirrored", "multiworker"
STRATEGIES = (MIRRORED, MULTIWORKER)
TF_CONFIG = "TF_CONFIG"  # the cluster's workers and this process's place among them (TensorFlow's)


@contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Keras' global dtype policy set to `name` (e.g. "mixed_bfloat16") while the block runs."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy with a `reduce` that Keras 3's `fit` can call.

    Keras 3 reduces a whole (inputs, labels) batch at once, and its metrics with axis=0 meaning
    "across the replicas"; the multi-worker strategy takes one value at a time and reads axis=0 as
    a reduction along each value's first axis too, which a scalar metric does not have, so `fit`
    fails (keras-team/keras#20585, tensorflow/tensorflow#72388). This reduces each value of the
    structure on its own, across the replicas alone, as Keras means on one machine.
    """

    def reduce(
        self, reduce_op: tf.distribute.ReduceOp | str, value: object, axis: int | None = None
    ) -> object:
        def across_replicas(each: object) -> tf.Tensor:
            return super(MultiWorkerStrategy, self).reduce(reduce_op, each, axis=None)

        return tf.nest.map_structure(across_replicas, value)


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
        return _multi_worker_strategy()
    raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")


@functools.cache  # one per process: a multi-worker strategy sets up its collectives once
def _multi_worker_strategy() -> MultiWorkerStrategy:
    check_cluster_config()
    return MultiWorkerStrategy()


def check_cluster_config() -> None:
    """Check $TF_CONFIG: {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}.

    Raises:
        ValueError: it is unset, not JSON, names no workers, or no task among them.
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
        if not workers or not 0 <= task["index"] < len(config["cluster"][task["type"]]):
            raise KeyError("task")
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(
            f"${TF_CONFIG} is not a cluster and this worker's task: {text!r}; e.g. {example}"
        ) from None


def writes_results(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes a run's files: always, but in a multi-worker cluster only on
    its chief (the task "chief", or worker 0 where the cluster names none); the other workers
    train alongside it and write no artifacts."""
    resolver = strategy.cluster_resolver
    if resolver is None or resolver.task_type is None:
        return True
    chief = "chief" if "chief" in resolver.cluster_spec().jobs else "worker"
    return resolver.task_type == chief and resolver.task_id == 0


def same_on_every_worker(strategy: tf.distribute.Strategy, what: str, facts: str) -> None:
    """Check that every worker of the cluster has the same `facts` (its data and config, as text).

    Workers that differ would train on batches of different numbers and wait for each other's
    gradients forever; this lets every one of them stop with the same clear error instead.

    Raises:
        ValueError: some worker has other facts.
    """
    digest = float(int(hashlib.sha256(facts.encode()).hexdigest()[:13], 16))  # 52 bits: exact in float64

    @tf.function  # traced: a multi-worker strategy warns when it runs eagerly
    def own() -> tf.distribute.DistributedValues:
        return strategy.run(lambda: tf.constant([digest], tf.float64))

    every = strategy.gather(own(), axis=0).numpy()  # (replicas,): each worker's digest
    if (every != digest).any():
        raise ValueError(
            f"the workers differ in {what}: give every worker the same dataset, files and settings"
        )


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
