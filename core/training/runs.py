"""Training runs started from the app: each one a background `python -m core train` process.

A run lives in its own folder, <runs>/<run id>/ (paths.runs_dir: --runs, $BRAIN_MRI_RUNS or
runs/), and all its state is on disk, so it outlives page reloads and app restarts:

    run.json       what was started (preset, commands, pid, planned epochs) and how it ended
    train.log      the commands' stdout and stderr
    progress/      core.training.train's epoch records so far, one file per model and seed
    artifacts/     the run's --artifacts folder: the shipped artifacts/ are never written

`start` launches `python -m core runs --exec RUN_DIR` in a new session; that process runs the
preset's core.training.train commands one after another and records their exit code in run.json.
One run goes at a time. `cancel` kills the run's process group. `promote` replaces a shipped
model folder with a finished run's, only when asked, and atomically.

CLI (used by `start`, not by hand): python -m core runs --exec RUN_DIR
"""

import argparse
import dataclasses
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from core import artifacts, paths
from core.data import subsets
from core.data.dataset import TRAIN_SPLIT, DatasetError
from core.evaluation import efficiency
from core.files import write_json
from core.models import registry

RUN_FILE, LOG_FILE, PROGRESS_DIR, ARTIFACTS_DIR = "run.json", "train.log", "progress", "artifacts"
LOCK_FILE = ".lock"  # in the runs folder: starting a run and recording its end take turns
RUNNING, FINISHED, FAILED, CANCELLED = "running", "finished", "failed", "cancelled"
SHIPPED = "shipped"  # runs_table's run column for the models in artifacts/
TABLE_COLUMNS = (
    "model",
    "run",
    "accuracy",
    "macro F1",
    "clean accuracy",
    "epochs",
    "training (min)",
    "created",
)
STARTING_GRACE_S = 30.0  # a run whose process is not yet recorded counts as running this long
TRAIN_COMMAND = "python -m core train"
# Artifacts computed from the shipped models (or next to them) that a promotion does not rewrite.
DERIVED = {
    artifacts.BENCHMARK_FILE: artifacts.writer(artifacts.BENCHMARK_FILE),
    artifacts.GUARD_REPORT_FILE: artifacts.writer(artifacts.GUARD_REPORT_FILE),
    artifacts.LOCALISATION_FILE: artifacts.writer(artifacts.LOCALISATION_FILE),
    artifacts.CROSSSOURCE_DIR: artifacts.writer(artifacts.CROSSSOURCE_SUMMARY),
    artifacts.NEIGHBOURS_FILE: artifacts.writer(artifacts.NEIGHBOURS_FILE),
}
_CHILDREN: dict[int, subprocess.Popen] = {}  # runs this process started: polled, so never zombies


@dataclass(frozen=True)
class Step:
    """One `python -m core train` command of a preset."""

    model: str
    epochs: int | None = None  # None: the registry's config
    fine_tune_epochs: int | None = None
    seeds: int = 1

    def args(self) -> tuple[str, ...]:
        """core.training.train's arguments, without --artifacts and --data (the run adds them)."""
        args = ["--model", self.model]
        if self.epochs is not None:
            args += ["--epochs", str(self.epochs)]
        if self.fine_tune_epochs is not None:
            args += ["--fine-tune-epochs", str(self.fine_tune_epochs)]
        if self.seeds != 1:
            args += ["--seeds", str(self.seeds)]
        return tuple(args)

    def units(self) -> list[dict]:
        """{model, seed, max_epochs} of each seed, as core.training.train will configure it (capped by
        $BRAIN_MRI_MAX_EPOCHS, which the run inherits)."""
        overrides = {"epochs": self.epochs, "fine_tune_epochs": self.fine_tune_epochs}
        config = registry.get(self.model).config
        config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None}).capped()
        two_phase = registry.get(config.architecture).two_phase
        max_epochs = config.epochs + (config.fine_tune_epochs if two_phase else 0)
        return [
            {"model": self.model, "seed": config.seed + k, "max_epochs": max_epochs}
            for k in range(self.seeds)
        ]


@dataclass(frozen=True)
class Preset:
    """A training run the Train page offers: its core.training.train commands, run one after another."""

    name: str
    title: str
    description: str
    steps: tuple[Step, ...]

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.model for step in self.steps))

    def arguments(self, artifacts_dir: str, data_dir: str | None = None) -> list[list[str]]:
        """core.training.train's arguments of each step, writing into `artifacts_dir`."""
        where = ["--artifacts", artifacts_dir] + (["--data", data_dir] if data_dir else [])
        return [[*step.args(), *where] for step in self.steps]

    def command_lines(
        self, artifacts_dir: str = "runs/<run id>/artifacts", data_dir: str | None = None
    ) -> list[str]:
        """The exact commands the run executes, one per step."""
        return [command_line(args) for args in self.arguments(artifacts_dir, data_dir)]


def command_line(args: list[str]) -> str:
    """The core.training.train command with these arguments, as a shell would take it."""
    return f"{TRAIN_COMMAND} {shlex.join(args)}"


PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            "demo",
            "Quick demo: custom CNN, 2 epochs",
            "The whole path (decode, train, evaluate, save) in a few minutes on two CPU cores; "
            "the model will be far weaker than the shipped one.",
            (Step("custom_cnn", epochs=2),),
        ),
        Preset(
            "full",
            "Full: the compared models as `make train` trains them",
            "MobileNetV2 with two seeds, the custom CNN and the MobileNetV2-from-scratch control, "
            "with the registry's recipes: as long as the shipped runs took (their manifests record "
            "it), and MobileNetV2 needs its ImageNet weights.",
            (Step("mobilenetv2", seeds=2), Step("custom_cnn"), Step("mobilenetv2_scratch")),
        ),
    )
}


@dataclass(frozen=True)
class Run:
    """A training run as its folder records it; `status` is derived afresh on every load."""

    id: str
    folder: Path
    preset: str
    models: tuple[str, ...]
    commands: tuple[str, ...]  # as executed, one per core.training.train step
    data_dir: Path
    pid: int | None
    started: str  # ISO time, UTC
    status: str  # RUNNING, FINISHED, FAILED or CANCELLED
    exit_code: int | None  # of the first step that failed, else 0; None while running or if killed
    ended: str | None

    @property
    def artifacts(self) -> Path:
        return self.folder / ARTIFACTS_DIR

    @property
    def log(self) -> Path:
        return self.folder / LOG_FILE


@dataclass(frozen=True)
class Progress:
    """How far a run is, from the epoch records core.training.train writes after every epoch."""

    epochs_done: int  # epochs trained so far, every model and seed together
    epochs_planned: int  # the most the run trains: early stopping may end a phase sooner
    fraction: float  # of the planned epochs behind it, a phase that stopped early counted in full
    model: str | None  # the model and seed training now (or last); None before its first epoch ends
    seed: int | None
    phase: str | None
    phase_epochs: int  # epochs of the current phase so far
    phase_max_epochs: int | None  # at most, in the current phase
    records: tuple[dict, ...]  # the current model and seed's epochs, as history.json records them

    def history(self) -> dict:
        """The current model's records in history.json's shape, for figures.training_curves."""
        phases: list[dict] = []
        for record in self.records:
            if not phases or phases[-1]["name"] != record["phase"]:
                phases.append({"name": record["phase"], "first_epoch": record["epoch"], "records": []})
            phases[-1]["records"].append(record)
        return {
            "epochs": list(self.records),
            "phases": [
                {
                    "name": phase["name"],
                    "first_epoch": phase["first_epoch"],
                    "last_epoch": phase["records"][-1]["epoch"],
                    "best_epoch": min(phase["records"], key=lambda r: r["val_loss"])["epoch"],
                    "wall_time_s": round(sum(r["wall_time_s"] for r in phase["records"]), 1),
                }
                for phase in phases
            ],
        }

    def text(self) -> str:
        """One line: what trains now and how many epochs are behind."""
        overall = f"{self.epochs_done} of at most {self.epochs_planned} epochs"
        if self.model is None:
            return f"{overall}: preparing (decoding images, building the model)"
        return (
            f"{self.model} (seed {self.seed}), {self.phase} phase: epoch {self.phase_epochs} of at most "
            f"{self.phase_max_epochs}; {overall}"
        )


@dataclass(frozen=True)
class Promotion:
    """A shipped model folder replaced by a run's."""

    model: str
    run_id: str
    folder: Path  # the shipped folder that now holds the run's model
    stale: tuple[str, ...]  # derived artifacts written before it, each with the command that rewrites it

    def message(self) -> str:
        done = f"{self.folder} now holds {self.model} from run {self.run_id}."
        if not self.stale:
            return done
        return (
            f"{done} These were computed before and still come from the previous models until "
            f"regenerated (`make evaluate`, etc.): {'; '.join(self.stale)}."
        )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read(folder: Path) -> dict:
    path = folder / RUN_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no training run in {folder}: {RUN_FILE} is missing") from None
    except ValueError as error:
        raise ValueError(f"training run record damaged: {path} ({error})") from error


@contextmanager
def _lock(runs_root: Path) -> Iterator[None]:
    """Hold the runs folder's lock: one process at a time starts a run or records one's end."""
    runs_root.mkdir(parents=True, exist_ok=True)
    with (runs_root / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int | None, folder: Path) -> bool:
    """Whether the run's process (`pid`, its command naming `folder`) is still going."""
    if pid is None:
        return False
    if pid in _CHILDREN:  # started here: poll it, which also reaps it once it ends
        return _CHILDREN[pid].poll() is None
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").is_dir():  # Linux: the pid may since belong to another process
        try:
            command, stat = (proc / "cmdline").read_bytes(), (proc / "stat").read_text()
        except OSError:
            return False
        state = stat.rsplit(")", 1)[-1].split()[0]
        return state != "Z" and b"\0core\0runs\0--exec\0" in command and folder.name.encode() in command
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _complete(folder: Path, names: list[str]) -> bool:
    return set(names) <= set(artifacts.available_models(folder / ARTIFACTS_DIR))


def _status(record: dict, folder: Path, alive: bool) -> str:
    if "exit_code" in record:
        if record["exit_code"] == 0 and _complete(folder, record["models"]):
            return FINISHED
        return CANCELLED if record.get("cancelled") else FAILED
    if alive:
        return RUNNING
    if record.get("pid") is None:  # launched this instant, or its launch failed
        started = datetime.fromisoformat(record["started"])
        young = (datetime.now(timezone.utc) - started).total_seconds() < STARTING_GRACE_S
        return RUNNING if young else FAILED
    return CANCELLED if record.get("cancelled") else FAILED  # ended without recording how: killed


def load_run(folder: str | os.PathLike) -> Run:
    """The run in `folder`, its status derived from its process and files.

    Raises:
        FileNotFoundError: `folder` holds no run.json.
        ValueError: run.json is damaged.
    """
    folder = Path(folder)
    record = _read(folder)
    alive = "exit_code" not in record and _alive(record.get("pid"), folder)
    if "exit_code" not in record and not alive:
        record = _read(folder)  # it may have recorded its end since the first read
    return Run(
        id=record["id"],
        folder=folder,
        preset=record["preset"],
        models=tuple(record["models"]),
        commands=tuple(record["commands"]),
        data_dir=Path(record["data"]),
        pid=record.get("pid"),
        started=record["started"],
        status=_status(record, folder, alive),
        exit_code=record.get("exit_code"),
        ended=record.get("ended"),
    )


def list_runs(runs_root: str | os.PathLike | None = None) -> list[Run]:
    """Every run in the runs folder, newest first; folders without a readable run.json are left out."""
    root = paths.runs_dir(runs_root)
    found = []
    for folder in sorted(root.glob(f"*/{RUN_FILE}"), reverse=True):
        try:
            found.append(load_run(folder.parent))
        except (ValueError, KeyError, OSError):
            continue
    return found


def active_run(runs_root: str | os.PathLike | None = None) -> Run | None:
    """The run going now, if any."""
    return next((run for run in list_runs(runs_root) if run.status == RUNNING), None)


def _new_folder(root: Path, preset: Preset) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    label = preset.models[0] if len(preset.models) == 1 else preset.name
    for k in range(1, 100):
        folder = root / (f"{stamp}-{label}" if k == 1 else f"{stamp}-{label}-{k}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"could not make a run folder for {stamp}-{label} in {root}")


def start(
    preset: str,
    runs_root: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Run:
    """Start a preset's training in the background, in a new run folder.

    Args:
        preset: a key of PRESETS.
        runs_root: the runs folder (default: paths.runs_dir()).
        data_dir: the dataset (default: paths.data_dir()); a relative folder is taken from the
            project folder, as the sidebar's dataset field takes it.

    Raises:
        ValueError: an unknown preset.
        DatasetError: the dataset folder has no Training/ split.
        RuntimeError: a run is going already.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    chosen = PRESETS[preset]
    data = paths.data_dir(data_dir)
    data = data if data.is_absolute() else paths.ROOT / data
    if not (data / TRAIN_SPLIT).is_dir():
        raise DatasetError(
            f"no {TRAIN_SPLIT}/ folder in {data}: point the dataset folder at the Kaggle dataset"
        )
    root = paths.runs_dir(runs_root).absolute()
    with _lock(root):
        if (going := active_run(root)) is not None:
            raise RuntimeError(f"a training run is already going: {going.id}; cancel it or wait")
        folder = _new_folder(root, chosen)
        steps = chosen.arguments(str(folder / ARTIFACTS_DIR), str(data))
        record = {
            "id": folder.name,
            "preset": chosen.name,
            "models": list(chosen.models),
            "steps": steps,  # core.training.train's arguments
            "commands": [command_line(step) for step in steps],
            "data": str(data),
            "units": [unit for step in chosen.steps for unit in step.units()],
            "pid": None,
            "started": _now(),
        }
        write_json(folder / RUN_FILE, record)
        env = {**os.environ, paths.PROGRESS_ENV_VAR: str(folder / PROGRESS_DIR), "PYTHONUNBUFFERED": "1"}
        with (folder / LOG_FILE).open("ab") as log, _recorded_if_failing(folder, record):
            process = subprocess.Popen(
                [sys.executable, "-m", "core", "runs", "--exec", str(folder)],
                cwd=paths.ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: cancel kills it all, Ctrl-C of the app not
            )
        _CHILDREN[process.pid] = process
        write_json(folder / RUN_FILE, {**record, "pid": process.pid})
    return load_run(folder)


@contextmanager
def _recorded_if_failing(folder: Path, record: dict) -> Iterator[None]:
    """If the launch fails, record the run as ended (else it would count as starting for a while)."""
    try:
        yield
    except BaseException:
        write_json(folder / RUN_FILE, {**record, "exit_code": -1, "ended": _now(), "status": FAILED})
        raise


def execute(folder: str | os.PathLike) -> int:
    """Run a run's core.training.train commands one after another, then record how it ended (what the
    background process of `start` does). Returns the exit code: the first failed step's, else 0."""
    folder = Path(folder)
    code = 0
    for args in _read(folder)["steps"]:
        print(f"$ {command_line(args)}", flush=True)
        code = subprocess.call([sys.executable, "-m", "core", "train", *args], cwd=paths.ROOT)
        if code != 0:
            break
    with _lock(folder.parent):
        record = {**_read(folder), "exit_code": code, "ended": _now()}
        write_json(folder / RUN_FILE, {**record, "status": _status(record, folder, alive=False)})
    print(f"run {folder.name}: {FINISHED if code == 0 else FAILED} (exit code {code})", flush=True)
    return code


def cancel(run: Run, timeout_s: float = 10.0) -> Run:
    """Stop a running run: SIGTERM to its process group, SIGKILL after `timeout_s`.

    What it had written stays in its folder; the shipped artifacts were never touched.

    Raises:
        RuntimeError: the run is not running.
    """
    folder = run.folder
    with _lock(folder.parent):
        run = load_run(folder)
        if run.status != RUNNING or run.pid is None:
            raise RuntimeError(f"run {run.id} is {run.status}, not running: nothing to cancel")
        write_json(folder / RUN_FILE, {**_read(folder), "cancelled": _now()})
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(run.pid, sig)  # its group: start_new_session made the pid the group id
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout_s
        while _alive(run.pid, folder) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _alive(run.pid, folder):
            break
    with _lock(folder.parent):
        record = _read(folder)
        if "exit_code" not in record:  # killed before it could record its end
            write_json(folder / RUN_FILE, {**record, "ended": _now(), "status": CANCELLED})
    return load_run(folder)


def _progress_files(run: Run) -> dict[tuple[str, int], dict]:
    written = {}
    for path in (run.folder / PROGRESS_DIR).glob("*.json"):
        try:
            progress = json.loads(path.read_text())
            written[progress["model"], progress["seed"]] = progress
        except (ValueError, KeyError, OSError):  # written atomically, so only a damaged file: skip it
            continue
    return written


def _phase_counts(progress: dict) -> tuple[int, int]:
    """(epochs credited, epochs planned) of one model and seed: a phase a later one followed counts
    in full, since early stopping ended it."""
    counts = [sum(r["phase"] == phase for r in progress["epochs"]) for phase in progress["max_epochs"]]
    planned = list(progress["max_epochs"].values())
    credited = sum(planned[i] if any(counts[i + 1 :]) else counts[i] for i in range(len(counts)))
    return credited, sum(planned)


def progress(run: Run) -> Progress:
    """How far `run` is, from core.training.train's epoch records in its progress/ folder."""
    units = _read(run.folder).get("units", [])
    written = _progress_files(run)
    keys = [(unit["model"], unit["seed"]) for unit in units]
    done = credited = planned = 0
    current = None
    for i, (key, unit) in enumerate(zip(keys, units)):
        file = written.get(key)
        unit_credited, unit_planned = _phase_counts(file) if file else (0, unit["max_epochs"])
        followed = run.status == FINISHED or any(later in written for later in keys[i + 1 :])
        credited += unit_planned if followed else unit_credited
        planned += unit_planned
        if file:
            done += len(file["epochs"])
            current = file
    if current is None:
        return Progress(done, planned, 1.0 if run.status == FINISHED else 0.0, None, None, None, 0, None, ())
    phase = current["phase"]
    return Progress(
        epochs_done=done,
        epochs_planned=planned,
        fraction=min(1.0, credited / planned) if planned else 1.0,
        model=current["model"],
        seed=current["seed"],
        phase=phase,
        phase_epochs=sum(r["phase"] == phase for r in current["epochs"]),
        phase_max_epochs=current["max_epochs"].get(phase),
        records=tuple(current["epochs"]),
    )


def log_tail(run: Run, lines: int = 30, max_bytes: int = 64_000) -> str:
    """The last `lines` lines of the run's log ("" before it has any)."""
    try:
        with run.log.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - max_bytes))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _check_complete(name: str, root: Path) -> None:
    """Read every artifact of model `name` under `root` through the loaders, as the app will.

    Raises:
        ArtifactError: a file is missing or damaged.
    """
    for file in artifacts.ARTIFACT_FILES:
        if not (artifacts.model_dir(name, root) / file).is_file():
            raise artifacts.ArtifactError(f"artifact missing: {artifacts.model_dir(name, root) / file}")
    artifacts.check_model(name, root)
    artifacts.load_config(name, root)
    artifacts.load_history(name, root)
    artifacts.load_metrics(name, root)
    artifacts.load_manifest(name, root)
    artifacts.load_predictions(name, root)
    artifacts.load_predictions(name, root, split="validation")
    artifacts.load_arrays(name, artifacts.GUARD_FILE, root)


def _check_same_test_set(name: str, source: Path, root: Path) -> None:
    """The pages compare models image by image: the others shipped must share the test set."""
    fingerprint = artifacts.load_metrics(name, source)["test_fingerprint"]
    for other in artifacts.available_models(root):
        if other == name:
            continue
        theirs = artifacts.load_metrics(other, root).get("test_fingerprint")
        if theirs != fingerprint:
            raise ValueError(
                f"{name} of {source.parent.name} was evaluated on another test set ({fingerprint}) than "
                f"the shipped {other} ({theirs}); the pages compare models on the same test images"
            )


def promote(run: Run, model: str, artifacts_root: str | os.PathLike | None = None) -> Promotion:
    """Replace the shipped artifacts/<model>/ with the run's, atomically.

    The run's folder is copied beside the shipped one, then swapped in by renames; if anything
    fails the shipped folder stays as it was. The run keeps its own copy.

    Args:
        artifacts_root: the shipped artifacts folder (default: paths.artifacts_dir()).

    Raises:
        ValueError: the run is not finished, did not train `model`, or was evaluated on another
            test set than the other shipped models.
        ArtifactError: one of the run's files is missing or damaged.
    """
    run = load_run(run.folder)
    if run.status != FINISHED:
        raise ValueError(f"run {run.id} is {run.status}; only a finished run can be promoted")
    if model not in run.models:
        raise ValueError(f"run {run.id} trained {', '.join(run.models)}, not {model}")
    _check_complete(model, run.artifacts)
    root = paths.artifacts_dir(artifacts_root)
    _check_same_test_set(model, run.artifacts, root)
    with artifacts.staged_model_dir(model, root) as staging:  # swapped in whole, or not at all
        shutil.copytree(artifacts.model_dir(model, run.artifacts), staging, dirs_exist_ok=True)
    stale = tuple(f"{file} (`{command}`)" for file, command in DERIVED.items() if (root / file).exists())
    return Promotion(model, run.id, artifacts.model_dir(model, root), stale)


def _clean_accuracy(name: str, root: Path, metrics: dict, result: dict | None) -> float:
    """Accuracy on the audit's clean subset; NaN without an audit of this test set."""
    if result is None or result["dataset"].get("test_fingerprint") != metrics.get("test_fingerprint"):
        return float("nan")
    table = artifacts.load_predictions(name, root)
    clean = table[table["path"].isin(subsets.clean_test_paths(result))]
    return float((clean["true_label"] == clean["predicted_label"]).mean()) if len(clean) else float("nan")


def _row(name: str, run: str, root: Path, result: dict | None) -> dict:
    metrics, manifest = artifacts.load_metrics(name, root), artifacts.load_manifest(name, root)
    history, config = artifacts.load_history(name, root), artifacts.load_config(name, root)
    created = datetime.fromisoformat(manifest["created"]).astimezone()
    return {
        "model": config.display_name,
        "run": run,
        "accuracy": metrics["accuracy"],
        "macro F1": metrics["macro_f1"],
        "clean accuracy": _clean_accuracy(name, root, metrics, result),
        "epochs": len(history["epochs"]),
        "training (min)": efficiency.training_seconds(manifest) / 60,  # as every page shows it
        "created": f"{created:%Y-%m-%d %H:%M}",
    }


def runs_table(
    runs_root: str | os.PathLike | None = None, artifacts_root: str | os.PathLike | None = None
) -> pd.DataFrame:
    """The shipped models and every finished run's, side by side on the test set.

    Columns: model (its title), run (its id, or SHIPPED), accuracy, macro F1, clean accuracy (on
    the shipped leakage audit's clean subset; NaN without one, or on another test set), epochs,
    training (min: efficiency.training_seconds), created (local time). A model whose files cannot
    be read is left out.
    """
    shipped = paths.artifacts_dir(artifacts_root)
    try:
        result = artifacts.load_audit(shipped)
    except artifacts.ArtifactError:
        result = None
    sources = [(name, SHIPPED, shipped) for name in artifacts.available_models(shipped)]
    sources += [
        (name, run.id, run.artifacts)
        for run in list_runs(runs_root)
        if run.status == FINISHED
        for name in run.models
    ]
    rows = []
    for name, run, root in sources:
        try:
            rows.append(_row(name, run, root, result))
        except (artifacts.ArtifactError, KeyError, TypeError):
            continue
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Run a training run's commands (core.training.runs.start launches it)."
    )
    parser.add_argument("--exec", dest="folder", required=True, help="the run's folder, with its run.json")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    sys.exit(execute(args.folder))


if __name__ == "__main__":
    main()
