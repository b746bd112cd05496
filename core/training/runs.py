"""Training runs started from the app: each one a background `python -m core train` process.

A run lives in its own folder, <runs>/<run id>/ (paths.runs_dir: --runs, $BRAIN_MRI_RUNS or
runs/), and all its state is on disk, so it outlives page reloads and app restarts:

    run.json       what was started (preset, commands, pid, planned epochs) and how it ended
    train.log      the commands' stdout and stderr
    progress/      core.training.train's epoch records so far, one file per model and seed
    artifacts/     the run's --artifacts folder: the shipped artifacts/ are never written

`start` launches `python -m core runs --exec RUN_DIR` in a new session; that process runs the
preset's core.training.train commands one after another and records their exit code in run.json.
One run goes at a time. `cancel` kills the run's process group. The presets are in
core.training.presets, a run's progress and log in core.training.monitor, and promoting a finished
run (and the runs table) in core.training.promotion.

CLI (used by `start`, not by hand): python -m core runs --exec RUN_DIR
"""

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from core import artifacts, paths
from core.data.dataset import TRAIN_SPLIT, DatasetError
from core.files import write_json
from core.training.presets import PRESETS, Preset, command_line

RUN_FILE, LOG_FILE, PROGRESS_DIR, ARTIFACTS_DIR = "run.json", "train.log", "progress", "artifacts"
LOCK_FILE = ".lock"  # in the runs folder: starting a run and recording its end take turns
RUNNING, FINISHED, FAILED, CANCELLED = "running", "finished", "failed", "cancelled"
STARTING_GRACE_S = 30.0  # a run whose process is not yet recorded counts as running this long
_CHILDREN: dict[int, subprocess.Popen] = {}  # runs this process started: polled, so never zombies


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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_record(folder: Path) -> dict:
    """The run's run.json, as written (its status not derived)."""
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
    record = read_record(folder)
    alive = "exit_code" not in record and _alive(record.get("pid"), folder)
    if "exit_code" not in record and not alive:
        record = read_record(folder)  # it may have recorded its end since the first read
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


def _scan(runs_root: str | os.PathLike | None) -> tuple[list[Run], list[tuple[Path, Exception]]]:
    """The runs folder's runs, and its folders that hold none that can be read, newest first."""
    found, broken = [], []
    for folder in sorted(paths.runs_dir(runs_root).glob("[!.]*/"), reverse=True):
        try:
            found.append(load_run(folder))
        except (ValueError, OSError) as error:
            broken.append((folder, error))
        except KeyError as error:
            broken.append(
                (folder, ValueError(f"training run record damaged: {folder / RUN_FILE} (no {error})"))
            )
    return found, broken


def list_runs(runs_root: str | os.PathLike | None = None) -> list[Run]:
    """Every run in the runs folder, newest first; folders without a readable run.json are left out
    (`broken_runs` lists them)."""
    return _scan(runs_root)[0]


def broken_runs(runs_root: str | os.PathLike | None = None) -> list[tuple[Path, Exception]]:
    """The runs folder's folders without a readable run.json, each with the error naming the file."""
    return _scan(runs_root)[1]


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
    seeds: int | None = None,
) -> Run:
    """Start a preset's training in the background, in a new run folder.

    Args:
        preset: a key of PRESETS.
        seeds: seeds of every model (None: the preset's own).
        runs_root: the runs folder (default: paths.runs_dir()).
        data_dir: the dataset (default: paths.data_dir()); a relative folder is taken from the
            project folder, as the sidebar's dataset field takes it.

    Raises:
        ValueError: an unknown preset, or fewer than one seed.
        DatasetError: the dataset folder has no Training/ split.
        RuntimeError: a run is going already.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    chosen = PRESETS[preset].with_seeds(seeds)
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
    for args in read_record(folder)["steps"]:
        print(f"$ {command_line(args)}", flush=True)
        code = subprocess.call([sys.executable, "-m", "core", "train", *args], cwd=paths.ROOT)
        if code != 0:
            break
    with _lock(folder.parent):
        record = {**read_record(folder), "exit_code": code, "ended": _now()}
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
        write_json(folder / RUN_FILE, {**read_record(folder), "cancelled": _now()})
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
        record = read_record(folder)
        if "exit_code" not in record:  # killed before it could record its end
            write_json(folder / RUN_FILE, {**record, "ended": _now(), "status": CANCELLED})
    return load_run(folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Run a training run's commands (core.training.runs.start launches it)."
    )
    parser.add_argument("--exec", dest="folder", required=True, help="the run's folder, with its run.json")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    sys.exit(execute(args.folder))


if __name__ == "__main__":
    main()
