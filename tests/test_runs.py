"""Training runs in the background (core.training: runs, presets, monitor, promotion): real short
runs of the custom CNN on tiny images."""

import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import worse_copy, write_dataset
from core import artifacts, paths
from core.data.cache import CACHE_ENV_VAR
from core.data.dataset import DatasetError
from core.models.config import MAX_EPOCHS_ENV_VAR
from core.training import monitor, presets, promotion, runs

TIMEOUT_S = 120


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("runs-data") / "data")


@pytest.fixture
def runs_root(tmp_path, monkeypatch) -> Path:
    """A runs folder of its own, decoded images cached in tmp; any run left going is cancelled."""
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "decode-cache"))
    monkeypatch.setenv(paths.RUNS_ENV_VAR, str(tmp_path / "runs"))
    yield tmp_path / "runs"
    if (going := runs.active_run(tmp_path / "runs")) is not None:
        runs.cancel(going)


def wait_until_ended(run: runs.Run, every_s: float = 0.2) -> tuple[runs.Run, list[int]]:
    """Poll the run until it ends; returns it and the epochs done seen at each poll."""
    seen, deadline = [], time.monotonic() + TIMEOUT_S
    while (run := runs.load_run(run.folder)).status == runs.RUNNING:
        assert time.monotonic() < deadline, monitor.log_tail(run)
        seen.append(monitor.progress(run).epochs_done)
        time.sleep(every_s)
    return run, seen


def shipped_state() -> dict[str, float]:
    folder = paths.ARTIFACTS_DIR
    return (
        {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")} if folder.is_dir() else {}
    )


@pytest.fixture(scope="module")
def finished(data_dir, tmp_path_factory) -> tuple[runs.Run, list[int]]:
    """One demo run (custom CNN, 2 epochs) watched to its end: (the run, epochs done at each poll).
    Shared by the tests that read a finished run."""
    tmp = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV_VAR, str(tmp / "decode-cache"))
        before = shipped_state()
        run = runs.start("demo", runs_root=tmp / "runs", data_dir=data_dir)
        with pytest.raises(
            RuntimeError, match=f"a training run is already going: {run.id}; cancel it or wait"
        ):
            runs.start("demo", runs_root=tmp / "runs", data_dir=data_dir)
        ended, seen = wait_until_ended(run)
        assert shipped_state() == before  # the shipped artifacts are never written by a run
    return ended, seen


def test_a_run_records_what_it_runs_and_finishes(finished, data_dir):
    run, _ = finished
    assert run.status == runs.FINISHED and run.exit_code == 0, monitor.log_tail(run)
    assert run.models == ("custom_cnn",) and run.preset == "demo"
    assert run.id.endswith("-custom_cnn") and run.folder.name == run.id
    assert run.commands == (
        f"python -m core train --model custom_cnn --epochs 2 --artifacts {run.artifacts} --data {data_dir}",
    )
    record = json.loads((run.folder / runs.RUN_FILE).read_text())
    assert record["status"] == runs.FINISHED and record["pid"] == run.pid and record["ended"]
    assert artifacts.available_models(run.artifacts) == ["custom_cnn"]
    assert "test accuracy" in monitor.log_tail(run)


def test_progress_is_written_every_epoch_and_grows(finished):
    run, seen = finished
    assert seen == sorted(seen) and seen[0] < 2  # it was watched before its last epoch
    written = json.loads((run.folder / runs.PROGRESS_DIR / "custom_cnn-seed-42.json").read_text())
    assert written["max_epochs"] == {"train": 2} and [r["epoch"] for r in written["epochs"]] == [1, 2]
    progress = monitor.progress(run)
    assert (progress.epochs_done, progress.epochs_planned, progress.fraction) == (2, 2, 1.0)
    assert (progress.model, progress.seed, progress.phase, progress.phase_max_epochs) == (
        "custom_cnn",
        42,
        "train",
        2,
    )
    # the history the run wrote at the end has the same epochs as the progress records
    history = artifacts.load_history("custom_cnn", run.artifacts)
    assert [r["val_loss"] for r in progress.records] == [r["val_loss"] for r in history["epochs"]]
    assert progress.history()["phases"][0]["best_epoch"] == history["phases"][0]["best_epoch"]


def test_runs_table_sets_the_run_beside_the_shipped_models(finished, tmp_path):
    run, _ = finished
    table = promotion.runs_table(run.folder.parent, artifacts_root=run.artifacts)  # the run's as "shipped"
    assert list(table.columns) == list(promotion.TABLE_COLUMNS)
    assert list(table["run"]) == [promotion.SHIPPED, run.id]
    metrics = artifacts.load_metrics("custom_cnn", run.artifacts)
    assert table["accuracy"].tolist() == [metrics.accuracy] * 2
    assert table["epochs"].tolist() == [2, 2]
    assert table["model"].tolist() == [artifacts.load_config("custom_cnn", run.artifacts).display_name] * 2
    minutes = artifacts.load_manifest("custom_cnn", run.artifacts)["wall_time_s"]["total"] / 60
    assert table["training (min)"].tolist() == [minutes] * 2  # one training time, as every page shows
    assert table["clean accuracy"].isna().all()  # no leakage audit of this test set
    assert promotion.runs_table(tmp_path / "no-runs", artifacts_root=tmp_path / "none").empty


def test_runs_table_scores_the_clean_subset_of_an_audit_of_the_same_test_set(finished, tmp_path):
    run, _ = finished
    root = Path(shutil.copytree(run.artifacts, tmp_path / "shipped"))
    table = artifacts.load_predictions("custom_cnn", root)
    leaked = set(table["path"][::2])  # every other test image
    audit = {
        "dataset": {"test_fingerprint": artifacts.load_metrics("custom_cnn", root).test_fingerprint},
        "test_images": [{"path": path, "near": path in leaked} for path in table["path"]],
    }
    (root / artifacts.AUDIT_FILE).write_text(json.dumps(audit))
    clean = table[~table["path"].isin(leaked)]
    expected = (clean["true_label"] == clean["predicted_label"]).mean()
    scored = promotion.runs_table(run.folder.parent, artifacts_root=root)
    assert scored["clean accuracy"].tolist() == [
        expected,
        expected,
    ]  # shipped, and the run on the same images


def test_promote_replaces_a_model_folder_atomically_and_names_what_is_stale(finished, tmp_path):
    run, _ = finished
    root = tmp_path / "shipped"
    (root / "custom_cnn").mkdir(parents=True)
    (root / "custom_cnn" / "old.txt").write_text("the previous model")
    (root / artifacts.BENCHMARK_FILE).write_text("{}")
    promoted = promotion.promote(run, "custom_cnn", artifacts_root=root)
    assert promoted.folder == root / "custom_cnn" and promoted.origin == f"run {run.id}"
    assert artifacts.available_models(root) == ["custom_cnn"]
    assert not (root / "custom_cnn" / "old.txt").exists()
    names = sorted(p.name for p in root.iterdir())
    assert names == [artifacts.REPLACED_DIR, artifacts.BENCHMARK_FILE, "custom_cnn"]  # no leftovers
    assert promoted.stale == (f"{artifacts.BENCHMARK_FILE} (`python -m benchmarks.inference`)",)
    assert "still come from the previous models" in promoted.message()
    assert artifacts.available_models(run.artifacts) == ["custom_cnn"]  # the run keeps its copy
    # the folder it replaced is kept, and said to be unreadable (it holds no model), naming a file
    (version,) = promotion.replaced(root)
    assert promoted.kept == version.root and "Restore puts it back" in promoted.message()
    assert (version.root / "custom_cnn" / "old.txt").read_text() == "the previous model"
    assert version.scores is None and "artifact missing" in version.problem


def test_a_worse_model_is_promoted_only_when_overridden_and_the_replaced_one_restores(finished, tmp_path):
    run, _ = finished
    root = tmp_path / "shipped"
    promotion.promote(run, "custom_cnn", artifacts_root=root)  # nothing shipped before: nothing kept
    assert promotion.replaced(root) == []
    good = promotion.Scores.read("custom_cnn", root)
    worse = runs.load_run(worse_copy(run.folder, tmp_path / "copies" / run.id))
    change = promotion.change("custom_cnn", worse.artifacts, root)
    assert change.worse and change.before == good and change.after.validation_accuracy == 0.0
    assert change.table()["change (points)"].tolist() == [-100 * good.validation_accuracy, 0.0, 0.0]
    assert "needs your override" in change.sentence()
    with pytest.raises(promotion.WorseModel, match="Worse on validation"):
        promotion.promote(worse, "custom_cnn", artifacts_root=root)
    assert promotion.Scores.read("custom_cnn", root) == good and promotion.replaced(root) == []
    promotion.promote(worse, "custom_cnn", artifacts_root=root, allow_worse=True)
    assert promotion.Scores.read("custom_cnn", root).validation_accuracy == 0.0
    (kept,) = promotion.replaced(root)
    assert kept.scores == good and kept.problem is None
    restored = promotion.restore(kept, artifacts_root=root)
    assert promotion.Scores.read("custom_cnn", root) == good and "the version replaced" in restored.message()
    (now_kept,) = promotion.replaced(root)  # the worse one, kept in turn
    assert now_kept.scores.validation_accuracy == 0.0 and not kept.root.exists()


def test_damaged_run_folders_are_named_not_skipped(finished, tmp_path):
    run, _ = finished
    runs_root = tmp_path / "runs"
    Path(shutil.copytree(run.folder, runs_root / run.id))
    (runs_root / "20260101-000000-demo").mkdir()  # no run.json
    cut = _record(runs_root / "20260101-000001-demo")
    (cut / runs.RUN_FILE).write_text('{"id": ')
    (runs_root / run.id / runs.ARTIFACTS_DIR / "custom_cnn" / "history.json").write_text("[")
    problems = promotion.damaged(runs_root)
    assert len(problems) == 3, problems
    assert any(f"{runs_root / '20260101-000000-demo'}: run.json is missing" in p for p in problems)
    assert any(f"damaged: {cut / runs.RUN_FILE}" in p for p in problems)
    assert any(p.startswith(f"run {run.id}: ") and "history.json" in p for p in problems)
    assert [r.id for r in runs.list_runs(runs_root)] == [run.id]
    assert promotion.runs_table(runs_root, artifacts_root=tmp_path / "none").empty  # its model is left out


def test_seeds_chosen_for_a_run_apply_to_every_model():
    full = presets.PRESETS["full"]
    assert full.seeds_text().startswith("3 of MobileNetV2")
    two = full.with_seeds(2)
    assert [step.seeds for step in two.steps] == [2, 2, 2] and full.with_seeds(None) == full
    assert all("--seeds 2" in line for line in two.command_lines())
    with pytest.raises(ValueError, match="at least one seed"):
        full.with_seeds(0)


@pytest.mark.parametrize("failing", ["copy", "swap"])
def test_a_failed_promotion_leaves_the_shipped_folder_as_it_was(finished, tmp_path, monkeypatch, failing):
    run, _ = finished
    root = tmp_path / "shipped"
    (root / "custom_cnn").mkdir(parents=True)
    (root / "custom_cnn" / "old.txt").write_text("the previous model")
    if failing == "copy":

        def broken_copy(source, destination, **options):
            Path(destination).mkdir(exist_ok=True)
            raise OSError("disk full")

        monkeypatch.setattr(promotion.shutil, "copytree", broken_copy)
    else:  # the shipped folder was moved aside, and moving the new one in fails
        rename = Path.rename

        def broken_rename(self, target):
            if self.name.startswith(".custom_cnn.staging"):
                raise OSError("disk full")
            return rename(self, target)

        monkeypatch.setattr(Path, "rename", broken_rename)
    with pytest.raises(OSError, match="disk full"):
        promotion.promote(run, "custom_cnn", artifacts_root=root)
    assert [p.name for p in root.iterdir()] == ["custom_cnn"]
    assert (root / "custom_cnn" / "old.txt").read_text() == "the previous model"


def test_promote_refuses_another_test_set(finished, tmp_path):
    run, _ = finished
    root = tmp_path / "shipped"
    promotion.promote(run, "custom_cnn", artifacts_root=root)
    (root / "custom_cnn").rename(root / "mobilenetv2")
    metrics = json.loads((root / "mobilenetv2" / "metrics.json").read_text())
    (root / "mobilenetv2" / "metrics.json").write_text(json.dumps({**metrics, "test_fingerprint": "other"}))
    with pytest.raises(ValueError, match="another test set"):
        promotion.promote(run, "custom_cnn", artifacts_root=root)


@pytest.mark.parametrize(
    "model, damage, error",
    [
        ("mobilenetv2", None, "trained custom_cnn, not mobilenetv2"),
        ("custom_cnn", "metrics.json", "artifact damaged"),
    ],
)
def test_promote_refuses_what_it_cannot_serve(finished, tmp_path, model, damage, error):
    run, _ = finished
    if damage:  # a copy of the run with one file cut short, so the shared run stays whole
        copy = Path(shutil.copytree(run.folder, tmp_path / run.id))
        (copy / runs.ARTIFACTS_DIR / model / damage).write_text('{"accuracy": ')
        run = runs.load_run(copy)
    with pytest.raises((ValueError, artifacts.ArtifactError), match=error):
        promotion.promote(run, model, artifacts_root=tmp_path / "shipped")
    assert not (tmp_path / "shipped" / model).exists()


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # state, ppid, pgrp, ...
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_cancel_kills_the_run_and_its_trainer(runs_root, data_dir):
    run = runs.start("demo", data_dir=data_dir)
    assert runs.active_run() == run
    deadline = time.monotonic() + TIMEOUT_S
    while "[custom_cnn] seed 42" not in monitor.log_tail(run):  # core.training.train is going
        assert time.monotonic() < deadline and runs.load_run(run.folder).status == runs.RUNNING
        time.sleep(0.2)
    assert len(group_members(run.pid)) >= 2  # the run's process and core.training.train
    cancelled = runs.cancel(run)
    assert cancelled.status == runs.CANCELLED and cancelled.ended
    gone = time.monotonic() + 5  # a killed process leaves the process table as the kernel reaps it
    while group_members(run.pid) and time.monotonic() < gone:
        time.sleep(0.1)
    assert group_members(run.pid) == []
    assert runs.active_run() is None
    assert artifacts.available_models(run.artifacts) == []  # nothing half-written passes as a model
    with pytest.raises(RuntimeError, match="is cancelled, not running"):
        runs.cancel(cancelled)
    with pytest.raises(ValueError, match="only a finished run can be promoted"):
        promotion.promote(cancelled, "custom_cnn", artifacts_root=runs_root / "shipped")


def test_a_run_that_fails_is_reported_failed(runs_root, tmp_path):
    (tmp_path / "empty" / "Training").mkdir(parents=True)  # no class folders: core.training.train stops
    run, _ = wait_until_ended(runs.start("demo", data_dir=tmp_path / "empty"))
    assert run.status == runs.FAILED and run.exit_code == 1
    assert "error:" in monitor.log_tail(run)
    assert monitor.progress(run).fraction == 0.0
    with pytest.raises(ValueError, match="is failed; only a finished run"):
        promotion.promote(run, "custom_cnn", artifacts_root=tmp_path / "shipped")


def test_a_launch_that_fails_is_recorded_failed_at_once(runs_root, data_dir, monkeypatch):
    def no_process(*args, **kwargs):
        raise OSError("cannot fork")

    monkeypatch.setattr(runs.subprocess, "Popen", no_process)
    with pytest.raises(OSError, match="cannot fork"):
        runs.start("demo", data_dir=data_dir)
    (run,) = runs.list_runs()
    assert run.status == runs.FAILED and runs.active_run() is None


def test_start_refuses_a_folder_without_training_images(runs_root, tmp_path):
    with pytest.raises(DatasetError, match="no Training/ folder in"):
        runs.start("demo", data_dir=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        runs.start("huge")
    assert not runs_root.exists() or runs.list_runs() == []


def _record(folder: Path, **fields) -> Path:
    folder.mkdir(parents=True)
    record = {
        "id": folder.name,
        "preset": "full",
        "models": ["mobilenetv2"],
        "steps": [],
        "commands": [],
        "data": "/data",
        "units": [{"model": "mobilenetv2", "seed": 42, "max_epochs": 12}],
        "pid": None,
        "started": "2026-01-01T00:00:00+00:00",
    }
    (folder / runs.RUN_FILE).write_text(json.dumps({**record, **fields}))
    return folder


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize(
    "fields, status",
    [
        ({"pid": "dead"}, runs.FAILED),  # killed before it could record its end
        ({"pid": "dead", "cancelled": "2026-01-01T00:01:00+00:00"}, runs.CANCELLED),
        ({"pid": "dead", "exit_code": 0}, runs.FAILED),  # exit code 0 but no model folder
        ({"pid": "dead", "exit_code": 2}, runs.FAILED),
        ({"pid": None}, runs.FAILED),  # never launched
        ({"pid": os.getpid()}, runs.FAILED),  # a live pid that is not the run's process
    ],
)
def test_status_is_derived_from_the_process_and_the_record(tmp_path, fields, status):
    if fields.get("pid") == "dead":
        fields = {**fields, "pid": _dead_pid()}
    assert runs.load_run(_record(tmp_path / "20260101-000000-full", **fields)).status == status


def _progress(folder: Path, seed: int, records: list[tuple[str, int]]) -> None:
    (folder / runs.PROGRESS_DIR).mkdir(exist_ok=True)
    epochs = [
        {"epoch": i + 1, "phase": phase, "val_loss": loss, "wall_time_s": 1.0}
        for i, (phase, loss) in enumerate(records)
    ]
    progress = {
        "model": "mobilenetv2",
        "seed": seed,
        "phase": epochs[-1]["phase"],
        "max_epochs": {"head": 8, "fine-tune": 4},
    }
    (folder / runs.PROGRESS_DIR / f"mobilenetv2-seed-{seed}.json").write_text(
        json.dumps({**progress, "epochs": epochs})
    )


@pytest.mark.parametrize(
    "seed42, seed43, expected",
    [
        ([], None, (0, 24, 0.0)),
        ([("head", 0.9), ("head", 0.8)], None, (2, 24, 2 / 24)),
        # the head stopped early after 3 of 8 epochs: once fine-tuning starts, it counts in full
        ([("head", 0.9), ("head", 0.8), ("head", 0.85), ("fine-tune", 0.7)], None, (4, 24, 9 / 24)),
        # the first seed ended early; the second has begun
        ([("head", 0.9), ("fine-tune", 0.7)], [("head", 0.9)], (3, 24, 13 / 24)),
    ],
)
def test_progress_counts_a_phase_stopped_early_in_full(tmp_path, seed42, seed43, expected):
    units = [{"model": "mobilenetv2", "seed": seed, "max_epochs": 12} for seed in (42, 43)]
    folder = _record(tmp_path / "20260101-000000-full", pid=os.getpid(), units=units)
    for seed, records in ((42, seed42), (43, seed43)):
        if records:
            _progress(folder, seed, records)
    progress = monitor.progress(runs.load_run(folder))
    assert (progress.epochs_done, progress.epochs_planned) == expected[:2]
    assert progress.fraction == pytest.approx(expected[2])
    current = seed43 or seed42
    assert [phase["name"] for phase in progress.history()["phases"]] == list(
        dict.fromkeys(p for p, _ in current)
    )


def test_the_full_preset_runs_what_make_train_runs(monkeypatch):
    makefile = (paths.ROOT / "Makefile").read_text().split("\ntrain:", 1)[1].split("\n\n", 1)[0]
    make = [
        shlex.split(line.split("-m core train", 1)[1])
        for line in makefile.splitlines()
        if "-m core train" in line
    ]
    assert [list(step.args()) for step in presets.PRESETS["full"].steps] == make
    assert presets.PRESETS["full"].models == ("mobilenetv2", "custom_cnn", "mobilenetv2_scratch")
    monkeypatch.setenv(MAX_EPOCHS_ENV_VAR, "3")  # the run plans what core.training.train will configure
    units = [
        (u["model"], u["seed"], u["max_epochs"])
        for step in presets.PRESETS["full"].steps
        for u in step.units()
    ]
    assert units == [
        ("mobilenetv2", 42, 6),  # two phases
        ("mobilenetv2", 43, 6),
        ("mobilenetv2", 44, 6),
        ("custom_cnn", 42, 3),
        ("custom_cnn", 43, 3),
        ("custom_cnn", 44, 3),
        ("mobilenetv2_scratch", 42, 3),
        ("mobilenetv2_scratch", 43, 3),
        ("mobilenetv2_scratch", 44, 3),
    ]
    lines = presets.PRESETS["demo"].command_lines()
    assert lines == [
        "python -m core train --model custom_cnn --epochs 2 --artifacts 'runs/<run id>/artifacts'"
    ]


def test_runs_dir_flag_beats_env_beats_default(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.RUNS_ENV_VAR, raising=False)
    assert paths.runs_dir() == paths.ROOT / "runs"
    monkeypatch.setenv(paths.RUNS_ENV_VAR, str(tmp_path / "env"))
    assert paths.runs_dir() == tmp_path / "env"
    assert paths.runs_dir(tmp_path / "flag") == tmp_path / "flag"
