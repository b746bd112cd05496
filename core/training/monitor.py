"""How far a training run is and what it printed, from the files it writes as it goes."""

import json
import os
from dataclasses import dataclass

from core.training.runs import FINISHED, PROGRESS_DIR, Run, read_record


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
    units = read_record(run.folder).get("units", [])
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
